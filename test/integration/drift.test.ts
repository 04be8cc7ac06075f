import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BlobServiceClient } from "@azure/storage-blob";
import { beforeAll, describe, expect, it } from "vitest";
import { startAzurite } from "../../local/azurite.js";
import { fixturePath } from "../helpers/estate.js";

/** The desired-state estate of test/fixtures/desired-state (README there), through the compiled CLI. */
const BIN = fileURLToPath(new URL("../../bin/uami-guard.js", import.meta.url));
const DIR = fixturePath("desired-state");
const S1 = "/subscriptions/11111111-1111-4111-8111-111111111111";
const S2 = "/subscriptions/22222222-2222-4222-8222-222222222222";
const CORRUPT = join(DIR, "corrupt-s3.json");

interface Report {
  findings: Array<{ ruleId: string; subjectId: string; relatedId?: string; evidence: Record<string, unknown> }>;
  incomplete: Array<{ check: string; reason: string }>;
  drift?: Array<{ path: string; status: string; drift: Record<string, number> }>;
  actions: Array<{ action: string; target: string; status: string; reason?: string }>;
}

function cli(args: string[], cwd = DIR) {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", env: { ...process.env, UAMI_GUARD_POLICY: "" } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const key = (ruleId: string, subjectId: string, relatedId?: string | null): string => `${ruleId} ${subjectId.toLowerCase()} ${(relatedId ?? "").toLowerCase()}`;
const driftKeys = (report: Report): string[] => report.findings.filter((finding) => finding.ruleId.startsWith("drift-")).map((finding) => key(finding.ruleId, finding.subjectId, finding.relatedId)).sort();
const expected = (JSON.parse(readFileSync(join(DIR, "expected-findings.json"), "utf8")) as Array<[string, string, string | null]>).map(([ruleId, subjectId, relatedId]) => key(ruleId, subjectId, relatedId)).sort();

function policyFile(overrides: Record<string, unknown>): string {
  const directory = mkdtempSync(join(tmpdir(), "uami-guard-drift-"));
  const base = JSON.parse(readFileSync(join(DIR, "policy.json"), "utf8")) as { desiredState: { sources: Array<{ path: string }> } };
  const sources = base.desiredState.sources.map((source) => ({ ...source, path: join(DIR, source.path) }));
  const file = join(directory, "policy.json");
  writeFileSync(file, JSON.stringify({ ...base, desiredState: { ...base.desiredState, sources }, ...overrides }));
  return file;
}

describe("drift against source control (state with child modules, plan with unknowns, what-if, partial scopes, a corrupt source)", () => {
  it("sweep reports exactly the expected drift-* findings and one incomplete desired-state entry", () => {
    const { code, stdout, stderr } = cli(["sweep", "--estate", "estate.json", "--policy", "policy.json", "--output", "json"]);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as Report;
    expect(driftKeys(report)).toEqual(expected);
    const severity: Record<string, string> = { "drift-not-in-code": "high", "drift-missing-in-azure": "medium", "drift-changed": "high" };
    const drift = report.findings.filter((finding) => finding.ruleId.startsWith("drift-")) as Array<Report["findings"][number] & { severity: string }>;
    expect(drift.filter((finding) => finding.severity !== severity[finding.ruleId])).toEqual([]);
    expect(report.incomplete.filter((entry) => entry.check === "desired-state")).toEqual([{ check: "desired-state", reason: expect.stringContaining("corrupt-s3.json"), affected: 1 }]);
    expect(report.drift?.map((summary) => [summary.path.slice(DIR.length + 1), summary.status])).toEqual([
      ["tfstate", "read"],
      ["plan-rg-plan.json", "read"],
      ["whatif-rg-web.json", "read"],
      ["corrupt-s3.json", "unreadable"],
    ]);
    const changed = report.findings.find((finding) => finding.ruleId === "drift-changed" && finding.subjectId.endsWith("5a000005-0000-4000-8000-000000000005"));
    expect(changed?.evidence).toMatchObject({ address: "module.data.module.kv.azurerm_role_assignment.secrets", differences: ["condition"], declared: { condition: expect.stringContaining("app-db-password") } });
  });

  it("reads a source from a blob container (Azurite) as from a file", async () => {
    const azurite = await startAzurite();
    try {
      const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("desired-state");
      await container.create();
      const state = readFileSync(join(DIR, "tfstate", "prod.json"));
      await container.getBlockBlobClient("prod/terraform-show.json").uploadData(state);
      await container.getBlockBlobClient("prod/README.txt").uploadData(Buffer.from("not a document"));
      const policy = policyFile({});
      const written = JSON.parse(readFileSync(policy, "utf8")) as { desiredState: { sources: Array<{ path: string }> } };
      const [first] = written.desiredState.sources;
      if (first) first.path = `${azurite.blobEndpoint}/desired-state`;
      writeFileSync(policy, JSON.stringify(written));
      const { code, stdout, stderr } = cli(["sweep", "--estate", "estate.json", "--policy", policy, "--output", "json"]);
      expect(code, stderr).toBe(0);
      const report = JSON.parse(stdout) as Report;
      expect(driftKeys(report)).toEqual(expected);
      expect(report.drift?.[0]).toMatchObject({ path: `${azurite.blobEndpoint}/desired-state`, status: "read", files: ["prod/terraform-show.json"] });
    } finally {
      await azurite.stop();
    }
  });

  it("a source that cannot be read leaves its scopes silent, and says so", () => {
    const policy = policyFile({});
    const written = JSON.parse(readFileSync(policy, "utf8")) as { desiredState: { sources: Array<{ path: string }> } };
    written.desiredState.sources = written.desiredState.sources.map((source) => (source.path.endsWith("tfstate") ? { ...source, path: join(DIR, "missing-dir") } : source));
    writeFileSync(policy, JSON.stringify(written));
    const report = JSON.parse(cli(["sweep", "--estate", "estate.json", "--policy", policy, "--output", "json"]).stdout) as Report;
    expect(driftKeys(report).filter((line) => line.includes(S1.toLowerCase()))).toEqual([]);
    expect(report.incomplete.filter((entry) => entry.check === "desired-state").map((entry) => entry.reason)).toEqual([expect.stringContaining("missing-dir"), expect.stringContaining(CORRUPT)]);
  });

  it("shows drift per source in the table, in markdown and in the access-review report", () => {
    const table = cli(["sweep", "--estate", "estate.json", "--policy", "policy.json", "--output", "table"]);
    expect(table.stdout).toMatch(/desired state \(drift per source\)/);
    expect(table.stdout).toMatch(/UNREADABLE/);
    const markdown = cli(["sweep", "--estate", "estate.json", "--policy", "policy.json", "--output", "markdown"]).stdout;
    expect(markdown).toContain("## Drift against source control");
    expect(markdown).toContain("`module.data.module.kv.azurerm_role_assignment.secrets`");
    const model = JSON.parse(cli(["report", "--estate", "estate.json", "--policy", "policy.json", "--output", "json"]).stdout) as { drift: Array<{ status: string; drift: Record<string, number> }> };
    expect(model.drift.map((source) => [source.status, source.drift["not-in-code"], source.drift["missing-in-azure"], source.drift["changed"]])).toEqual([
      ["read", 4, 3, 2],
      ["read", 0, 0, 1],
      ["read", 2, 2, 0],
      ["unreadable", 0, 0, 0],
    ]);
  });
});

describe("desiredState.approves and the cleanup's guard (replay)", () => {
  const claims = {
    appid: "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
    "http://schemas.microsoft.com/identity/claims/objectidentifier": "0b000001-0000-4000-8000-000000000001",
    "http://schemas.microsoft.com/identity/claims/scope": "user_impersonation",
  };
  const event = (id: number, operationName: string, resourceUri: string) => ({
    id: `drift-${id}`,
    topic: S1,
    subject: resourceUri,
    eventType: "Microsoft.Resources.ResourceWriteSuccess",
    eventTime: "2026-12-01T10:00:00Z",
    dataVersion: "2",
    metadataVersion: "1",
    data: { operationName, resourceUri, status: "Succeeded", subscriptionId: resourceUri.split("/")[2], tenantId: "aaaaaaaa-0000-4000-8000-000000000000", claims, correlationId: `c-${id}` },
  });
  const declaredGrant = `${S1}/resourceGroups/rg-app/providers/Microsoft.Authorization/roleAssignments/5a000001-0000-4000-8000-000000000001`;
  const handGrant = `${S1}/providers/Microsoft.Authorization/roleAssignments/5a000003-0000-4000-8000-000000000003`;
  const declaredCredential = `${S2}/resourceGroups/rg-web/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-web/federatedIdentityCredentials/gh-web`;
  const changedCredential = `${S1}/resourceGroups/rg-data/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-data-prod/federatedIdentityCredentials/github`;
  let events: string;
  let work: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "uami-guard-drift-replay-"));
    cpSync(DIR, work, { recursive: true });
    events = join(work, "events.json");
    writeFileSync(
      events,
      JSON.stringify([
        event(1, "Microsoft.Authorization/roleAssignments/write", declaredGrant),
        event(2, "Microsoft.Authorization/roleAssignments/write", handGrant),
        event(3, "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write", declaredCredential),
        event(4, "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write", changedCredential),
      ]),
    );
  });

  const subjects = (report: Report, ruleId: string): string[] => report.findings.filter((finding) => finding.ruleId === ruleId).map((finding) => finding.subjectId.toLowerCase());

  it("approves what the code declares, as desired-state <source>, and reports the rest", () => {
    const { code, stdout, stderr } = cli(["replay", "--events", events, "--estate", "estate.json", "--policy", "policy.json", "--output", "json", "--verbose"], work);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as Report;
    expect(subjects(report, "role-assignment-outside-pipeline")).toEqual([handGrant.toLowerCase()]);
    // The approval names its source, as an approved pipeline's names the pipeline.
    expect(stderr).toContain(`event drift-1: processed, no finding: the caller is approved (desired-state ${join(work, "tfstate")})`);
    expect(stderr).toContain(`event drift-3: processed, no finding: the caller is approved (desired-state ${join(work, "whatif-rg-web.json")})`);
    expect(subjects(report, "federated-credential-outside-pipeline")).toEqual([changedCredential.toLowerCase()]);
  });

  it("without approves, the cleanup still never deletes a grant the code declares", () => {
    const policy = join(work, "policy-enforce.json");
    const base = JSON.parse(readFileSync(join(work, "policy.json"), "utf8")) as { desiredState: Record<string, unknown> };
    writeFileSync(policy, JSON.stringify({ ...base, desiredState: { ...base.desiredState, approves: false }, cleanup: { dryRun: false, maxDeletePercent: 100 } }));
    const { code, stdout, stderr } = cli(["replay", "--events", events, "--estate", "estate.json", "--policy", policy, "--enforce", "--journal", join(work, "journal.jsonl"), "--output", "json"], work);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as Report;
    expect(subjects(report, "role-assignment-outside-pipeline").sort()).toEqual([declaredGrant.toLowerCase(), handGrant.toLowerCase()].sort());
    const byTarget = new Map(report.actions.map((action) => [action.target.toLowerCase(), action]));
    expect(byTarget.get(declaredGrant.toLowerCase())).toMatchObject({ status: "skipped", reason: expect.stringMatching(/declared in desired-state source .*tfstate/) });
    expect(byTarget.get(handGrant.toLowerCase())).toMatchObject({ status: "done" });
  });
});
