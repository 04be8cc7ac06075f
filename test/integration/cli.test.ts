import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { fixturePath } from "../helpers/estate.js";

const BIN = fileURLToPath(new URL("../../bin/uami-guard.js", import.meta.url));

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, UAMI_GUARD_POLICY: "" } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("uami-guard CLI (compiled, as npx runs it)", () => {
  it("inventory --output json prints only the result on stdout", () => {
    const { code, stdout } = cli("inventory", "--estate", fixturePath("small-estate.json"), "--output", "json");
    expect(code).toBe(0);
    const parsed = JSON.parse(stdout) as { identities: unknown[] };
    expect(parsed.identities).toHaveLength(2);
  });

  it("inventory --output table fits 120 columns; csv has one row per role assignment", () => {
    const table = cli("inventory", "--estate", fixturePath("small-estate.json"), "--output", "table");
    expect(table.code).toBe(0);
    for (const line of table.stdout.split("\n")) expect(line.length).toBeLessThanOrEqual(120);
    const csv = cli("inventory", "--estate", fixturePath("small-estate.json"), "--output", "csv");
    expect(csv.stdout.trim().split("\r\n")).toHaveLength(3);
  });

  it.each([
    [["inventory", "--estate", "/nonexistent.json"], /estate \/nonexistent\.json: cannot read file/],
    [["inventory", "--bogus"], /unknown option '--bogus'/],
    [["inventory", "--output", "xml"], /argument 'xml' is invalid/],
  ])("exits 2 with one clear line for bad input %#", (args, message) => {
    const { code, stderr, stdout } = cli(...args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stdout).toBe("");
  });

  it("exits 2 naming the path inside a malformed estate", () => {
    const dir = mkdtempSync(join(tmpdir(), "uami-guard-cli-"));
    const file = join(dir, "estate.json");
    writeFileSync(file, JSON.stringify({ tenantId: "t", resources: [{ id: "/x", name: "x" }] }));
    const { code, stderr } = cli("inventory", "--estate", file);
    expect(code).toBe(2);
    expect(stderr).toMatch(/resources\[0\]\.type missing/);
  });

  it("exits 1 with one line when Azure cannot be reached", () => {
    const dir = mkdtempSync(join(tmpdir(), "uami-guard-cli-"));
    const file = join(dir, "estate.json");
    writeFileSync(file, JSON.stringify({ tenantId: "t", emulator: { faults: [{ service: "resourceGraph", status: 500 }] } }));
    const { code, stderr } = cli("inventory", "--estate", file, "--output", "json");
    expect(code).toBe(1);
    expect(stderr).toMatch(/resourceGraph: HTTP 500/);
  });
});
