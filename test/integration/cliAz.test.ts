import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { CredentialUnavailableError } from "@azure/identity";
import { fixturePath } from "../helpers/estate.js";
import { signInHint } from "../../cli/main.js";
import { toServiceCallFailed } from "../../shared/errors.js";

const BIN = fileURLToPath(new URL("../../bin/uami-guard.js", import.meta.url));
const SMALL = fixturePath("small-estate.json");
const PACKAGE = JSON.parse(readFileSync(fileURLToPath(new URL("../../package.json", import.meta.url)), "utf8")) as { version: string };

function cli(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 60_000, env: { ...process.env, UAMI_GUARD_POLICY: "", ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("az conventions", () => {
  it("--version prints the package version", () => {
    const { code, stdout } = cli(["--version"]);
    expect(code).toBe(0);
    expect(stdout).toContain(`uami-guard ${PACKAGE.version}`);
  });

  it("-o tsv prints one line per identity, tab-separated scalar fields", () => {
    const { code, stdout } = cli(["inventory", "--estate", SMALL, "-o", "tsv"]);
    expect(code).toBe(0);
    const lines = stdout.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]?.split("\t")).toContain("id-app-prod-uks-01");
  });

  it("--query applies JMESPath to the JSON result, with every output format", () => {
    const names = cli(["inventory", "--estate", SMALL, "--query", "identities[].name", "-o", "json"]);
    expect(names.code, names.stderr).toBe(0);
    expect(JSON.parse(names.stdout)).toEqual(["id-app-prod-uks-01", "id-orphan-holder"]);
    const tsv = cli(["sweep", "--estate", SMALL, "--query", "findings[?severity=='critical'].ruleId", "-o", "tsv"]);
    // The Owner grant, and the GitHub credential whose owner no policy lists (federation.subjects.githubOwners is empty by default).
    expect(tsv.stdout).toBe("federated-credential-untrusted-subject\nprivileged-role-broad-scope\n");
    const table = cli(["sweep", "--estate", SMALL, "--query", "findings[].{rule: ruleId, severity: severity}"]);
    expect(table.stdout.split("\n")[0]).toMatch(/^rule\s+severity$/);
    expect(table.stdout).toMatch(/orphaned-role-assignment\s+high/);
  });

  it("a bad --query exits 2 naming it", () => {
    const { code, stderr } = cli(["inventory", "--estate", SMALL, "--query", "identities[", "-o", "json"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--query identities\[: /);
  });

  it("-o yaml, -o jsonc and -o none; colour only when wanted; --fail-on says why it failed the gate", () => {
    const yaml = cli(["sweep", "--estate", SMALL, "-o", "yaml"]);
    expect((parseYaml(yaml.stdout) as { mode: string }).mode).toBe("sweep");
    const jsonc = cli(["sweep", "--estate", SMALL, "-o", "jsonc"], { NO_COLOR: "1", FORCE_COLOR: "1" });
    expect((JSON.parse(jsonc.stdout) as { mode: string }).mode).toBe("sweep");
    expect(jsonc.stdout).not.toContain("\x1b[");
    expect(cli(["sweep", "--estate", SMALL], { FORCE_COLOR: "1" }).stdout).toContain("\x1b[31mcritical");
    const none = cli(["sweep", "--estate", SMALL, "-o", "none", "--fail-on", "high"]);
    expect(none.stdout).toBe("");
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/4 findings at or above high/);
  });

  it("--only-show-errors keeps stderr quiet; --verbose says more", () => {
    const quiet = cli(["sweep", "--estate", SMALL, "--notify", "--only-show-errors", "-o", "none"]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe("");
    const verbose = cli(["sweep", "--estate", SMALL, "--verbose", "-o", "none"]);
    expect(verbose.stderr).toMatch(/read .* in \d+\.\d s/);
  });

  it("a step over a second is summarised on stderr when it is not a terminal", () => {
    const dir = mkdtempSync(join(tmpdir(), "uami-guard-az-"));
    const slow = join(dir, "slow.json");
    writeFileSync(slow, JSON.stringify({ ...JSON.parse(readFileSync(SMALL, "utf8")), emulator: { latencyMs: 400 } }));
    const { code, stderr } = cli(["sweep", "--estate", slow, "-o", "none"]);
    expect(code).toBe(0);
    expect(stderr).toMatch(/^read .*identities.* in \d+\.\d s$/m);
  });

  it("the table has a title column, cuts cells at the end and shows ids as rg/type/name", () => {
    const { stdout } = cli(["sweep", "--estate", SMALL]);
    // "Fix first" comes above the findings: the removals that clear the most, then the command of the first.
    expect(stdout.split("\n")[0]).toMatch(/^Fix first: \d+ removals that clear the most findings$/);
    expect(stdout).toMatch(/^ 1 1 critical\s+Remove Owner of id-app-prod-uks-01 \(ServicePrincipal\) at \/subscriptions\//m);
    const lines = stdout.split("\n");
    const [header, , ...rows] = lines.slice(lines.findIndex((line) => line.startsWith("SEVERITY")));
    expect(header).toMatch(/^SEVERITY\s+RULE\s+SUBJECT\s+TITLE$/);
    const dangling = rows.find((row) => row.includes("dangling-identity-reference"));
    expect(dangling).toMatch(/rg-app\/virtualMachines\/vm1\s+vm1 references a missing identity/);
    for (const row of rows.filter((line) => line.includes("…"))) expect(row).toMatch(/…(\s|$)/);
    const csv = cli(["sweep", "--estate", SMALL, "-o", "csv"]).stdout;
    expect(csv).toContain("/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm1");
  });

  // Should the check ever regress, the run must still not leave the machine: managed identity is
  // pointed at a closed loopback port, and no other credential is configured.
  const NO_AZURE = { IDENTITY_ENDPOINT: "http://127.0.0.1:9/msi/token", IDENTITY_HEADER: "x", MSI_ENDPOINT: "", AZURE_CLIENT_ID: "", AZURE_TENANT_ID: "", AZURE_CLIENT_SECRET: "", AZURE_FEDERATED_TOKEN_FILE: "" };

  it("--enforce against real Azure (no --estate) needs --yes when there is no terminal, before anything is read", () => {
    const dir = mkdtempSync(join(tmpdir(), "uami-guard-az-"));
    const { code, stderr, stdout } = cli(["sweep", "--enforce", "--journal", join(dir, "j.jsonl")], NO_AZURE);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--enforce: changes real Azure resources .* add --yes/);
    expect(stdout).toBe("");
  });

  it.skipIf(!existsSync("/usr/bin/script") && process.env["CI"] !== "true")("--enforce against real Azure asks on a terminal; anything but yes changes nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "uami-guard-az-"));
    // util-linux `script` gives the CLI a terminal; the answer comes from our stdin.
    const command = `${process.execPath} ${BIN} sweep --enforce --journal ${join(dir, "j.jsonl")}`;
    const result = spawnSync("script", ["-qec", command, "/dev/null"], { input: "n\n", encoding: "utf8", timeout: 30_000, env: { ...process.env, ...NO_AZURE, UAMI_GUARD_POLICY: "" } });
    expect(result.stdout).toMatch(/Continue\? \(y\/N\)/);
    expect(result.stdout).toMatch(/--enforce: not confirmed; nothing was changed/);
    expect(result.status).toBe(2);
  });

  it("a JSON error names the line and column", () => {
    const dir = mkdtempSync(join(tmpdir(), "uami-guard-az-"));
    const policy = join(dir, "policy.json");
    writeFileSync(policy, '{\n  "requiredTags": ["owner"],\n  cleanup: {}\n}\n');
    const { code, stderr } = cli(["sweep", "--estate", SMALL, "--policy", policy]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/line 3, column 3/);
  });
});

describe("sign-in hint", () => {
  it("names az login, workload identity and AZURE_CLIENT_ID when no credential works", () => {
    const unavailable = new CredentialUnavailableError("DefaultAzureCredential failed to retrieve a token from the included credentials.");
    for (const error of [unavailable, toServiceCallFailed("resourceGraph", unavailable)]) {
      const hint = signInHint(error);
      expect(hint).toMatch(/az login/);
      expect(hint).toMatch(/workload identity/);
      expect(hint).toMatch(/AZURE_CLIENT_ID/);
    }
    expect(signInHint(new Error("resourceGraph: HTTP 500"))).toBeUndefined();
  });
});
