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

  it("sweep --output json follows the findings contract; --fail-on exits 3", () => {
    const { code, stdout } = cli("sweep", "--estate", fixturePath("small-estate.json"), "--output", "json");
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { mode: string; runId: string; summary: { findings: number }; findings: Array<{ ruleId: string; subjectId: string; fingerprint: string; remediation: { cli: string[] } }>; incomplete: unknown[]; actions: unknown[] };
    expect(report.mode).toBe("sweep");
    expect(report.actions).toEqual([]);
    expect(report.summary.findings).toBe(report.findings.length);
    const keys = report.findings.map((finding) => `${finding.ruleId} ${finding.subjectId.split("/").pop()}`).sort();
    expect(keys).toEqual([
      "cross-environment-attachment id-app-prod-uks-01",
      "dangling-identity-reference vm1",
      // No policy: federation.subjects.githubOwners is empty, so the GitHub credential's owner is not the organisation's.
      "federated-credential-untrusted-subject github-prod",
      "orphaned-role-assignment 00000000-0000-0000-0000-0000000000a2",
      "privileged-role-broad-scope 00000000-0000-0000-0000-0000000000a1",
      "unattached-identity id-orphan-holder",
      "untagged-identity id-orphan-holder",
    ]);
    // Fix first: the Owner grant clears its broad-scope finding; the credential clears its own; the orphan its own.
    const fixes = (JSON.parse(stdout) as { fixes: Array<{ kind: string; target: string; clears: Record<string, number>; az: string }> }).fixes;
    expect(fixes.map((fix) => [fix.kind, fix.target.split("/").pop(), fix.clears["critical"], fix.clears["high"]])).toEqual([
      ["role-assignment", "00000000-0000-0000-0000-0000000000a1", 1, 0],
      ["federated-credential", "github-prod", 1, 0],
      ["role-assignment", "00000000-0000-0000-0000-0000000000a2", 0, 1],
    ]);
    expect(cli("sweep", "--estate", fixturePath("small-estate.json"), "--output", "json", "--fail-on", "critical").code).toBe(3);
  });

  it("sweep --output markdown is a ticket-ready report", () => {
    const { code, stdout } = cli("sweep", "--estate", fixturePath("small-estate.json"), "--output", "markdown");
    expect(code).toBe(0);
    expect(stdout).toMatch(/^# uami-guard sweep/);
    expect(stdout).toMatch(/## orphaned-role-assignment \(1\)\n\nRule page: \[docs\/rules\/orphaned-role-assignment\.md\]\(docs\/rules\/orphaned-role-assignment\.md\)\n/);
    expect(stdout).toMatch(/```sh\n[^`]*az role assignment delete --ids/);
    expect(stdout).toMatch(/## Fix first\n/);
    expect(stdout.indexOf("## Fix first")).toBeLessThan(stdout.indexOf("## orphaned-role-assignment"));
  });

  it("sweep with a bad policy exits 2 naming the key", () => {
    const dir = mkdtempSync(join(tmpdir(), "uami-guard-cli-"));
    const file = join(dir, "policy.json");
    writeFileSync(file, JSON.stringify({ cleanup: { maxDeletePercent: 500 } }));
    const { code, stderr } = cli("sweep", "--estate", fixturePath("small-estate.json"), "--policy", file);
    expect(code).toBe(2);
    expect(stderr).toMatch(/cleanup\.maxDeletePercent = 500/);
  });

  it("replay prints findings in the contract with mode replay; a bad events file exits 2", () => {
    const dir = mkdtempSync(join(tmpdir(), "uami-guard-cli-"));
    const events = join(dir, "events.json");
    const vm = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm1";
    writeFileSync(events, JSON.stringify([{ id: "r-1", eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: "2026-11-20T10:00:00Z", data: { operationName: "Microsoft.Compute/virtualMachines/write", resourceUri: vm, status: "Succeeded", claims: { appid: "x" } } }]));
    const { code, stdout } = cli("replay", "--events", events, "--estate", fixturePath("small-estate.json"), "--output", "json");
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { mode: string; findings: Array<{ ruleId: string; relatedId: string }> };
    expect(report.mode).toBe("replay");
    expect(report.findings.map((finding) => finding.ruleId)).toEqual(["attachment-outside-pipeline", "attachment-outside-pipeline"]);
    // One event object is taken as a batch of one (a docs example, a structured-mode CloudEvent); a string is not.
    writeFileSync(events, JSON.stringify("not an event"));
    const bad = cli("replay", "--events", events, "--estate", fixturePath("small-estate.json"));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/must be a JSON array of events/);
  });
});
