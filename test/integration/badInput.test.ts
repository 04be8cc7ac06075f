import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fixturePath } from "../helpers/estate.js";
import { BIN, runCli } from "../helpers/cli.js";

const SMALL = fixturePath("small-estate.json");

/** The CLI through bash, so a test can use a pipe, a FIFO or process substitution as a user would. */
function shell(script: string, cwd: string) {
  const result = spawnSync("bash", ["-c", script], { encoding: "utf8", cwd, timeout: 60_000, env: { ...process.env, UAMI_GUARD_POLICY: "", G: BIN, E: SMALL } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const cli = (args: string[], cwd: string) => runCli(args, { cwd, timeoutMs: 60_000 });

const scratch = (): string => mkdtempSync(join(tmpdir(), "uami-guard-bad-input-"));

/** Exit 2, one line on stderr naming what, nothing on stdout, nothing left behind in the working directory. */
function expectRefused(result: { code: number | null; stdout: string; stderr: string }, message: RegExp, cwd: string): void {
  expect(result.stderr).toMatch(message);
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr.trim().split("\n")).toHaveLength(1);
  expect(result.stdout).toBe("");
  expect(readdirSync(cwd)).toEqual([]);
}

describe("--state that is not usable: exit 2 and one line, before any work", () => {
  // Every kind of broken connection string is in test/unit/stateInput.test.ts; here, the whole CLI path.
  it("a malformed connection string names the key, never echoes the value, and creates nothing", () => {
    const cwd = scratch();
    const result = cli(["sweep", "--estate", SMALL, "--state", "AccountName=x;AccountKey=bm90YmFzZTY0;TableEndpoint=ftp:/bad"], cwd);
    expectRefused(result, /^uami-guard: --state: connection string is not usable: TableEndpoint is not an http\(s\) URL/, cwd);
    expect(result.stderr).not.toContain("bm90YmFzZTY0");
  });

  it("a value that is neither a directory nor a connection string ('typo;;') is refused, not made a directory", () => {
    const cwd = scratch();
    expectRefused(cli(["sweep", "--estate", SMALL, "--state", "typo;;"], cwd), /^uami-guard: --state: neither a directory nor a storage connection string/, cwd);
    expect(existsSync(join(cwd, "typo;;"))).toBe(false);
  });
});

describe("input from a pipe", () => {
  // --estate and --events are read by the same function (shared/config/validation.ts readJsonFile); a device
  // is still refused (test/unit/inputFiles.test.ts).
  it("--policy <(…) and a FIFO are read like a file", () => {
    const cwd = scratch();
    const substituted = shell(`node "$G" sweep --estate "$E" --policy <(echo '{"requiredTags":["owner"]}') -o json --query 'summary.findings'`, cwd);
    expect(substituted.stderr).not.toMatch(/not a regular file/);
    expect(substituted.code, substituted.stderr).toBe(0);
    expect(Number(substituted.stdout)).toBeGreaterThan(0);
    const fifo = shell(`mkfifo policy.fifo && (echo '{}' > policy.fifo &) && node "$G" sweep --estate "$E" --policy policy.fifo -o none`, cwd);
    expect(fifo.code, fifo.stderr).toBe(0);
  });

  it("a bad policy through a pipe is still exit 2 naming it", () => {
    const cwd = scratch();
    const result = shell(`node "$G" sweep --estate "$E" --policy <(echo '{"orphans":{"minAge":1}}')`, cwd);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^uami-guard: policy \/dev\/fd\/\d+: unknown key "orphans.minAge"/);
  });
});
