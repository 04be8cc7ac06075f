import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { rulePageOf } from "../../shared/rules/index.js";
import type { Finding, RunReport } from "../../shared/findings.js";
import { fingerprintOf } from "../../shared/findings.js";
import type { FindingRecord } from "../../shared/engine/findingLifecycle.js";
import { buildReportModel, historyOf, type ExposureEntry, type InventoryIdentityInput } from "../../shared/report/model.js";
import { graphedIdentities, modelFromHtml, REPORT_CSP, renderReportHtml, SCRIPT_HASH } from "../../shared/report/html.js";
import { identity as snapshotIdentity, RG, S } from "../helpers/sweep.js";

const NOW = new Date("2026-11-20T12:00:00Z");
const ATTACK = `<img src=x onerror="document.title='pwned'">`;

function identity(name: string, overrides: Partial<InventoryIdentityInput> = {}): InventoryIdentityInput {
  const { tenantId: _tenantId, ...fields } = snapshotIdentity(name, { tags: { Owner: "team-a", environment: "prod" } });
  return { ...fields, attachedTo: [], roleAssignments: [], federatedCredentials: [], ...overrides };
}

function finding(ruleId: string, severity: Finding["severity"], subjectId: string, relatedId?: string): Finding {
  return {
    ruleId,
    severity,
    subjectId,
    ...(relatedId ? { relatedId } : {}),
    fingerprint: fingerprintOf(ruleId, subjectId, relatedId),
    title: `${ruleId} on ${subjectId}`,
    message: "message",
    evidence: {},
    remediation: { summary: "fix it", cli: [`az thing --id ${subjectId}`] },
  };
}

function sweep(findings: Finding[]): RunReport {
  return {
    runId: "sweep-1",
    mode: "sweep",
    startedAt: NOW.toISOString(),
    finishedAt: NOW.toISOString(),
    summary: { identities: 0, roleAssignments: 7, findings: findings.length, bySeverity: { critical: 0, high: 0, medium: 0, low: 0 }, suppressed: 2 },
    findings,
    incomplete: [],
    actions: [],
  };
}

const ASSIGNMENT = `${S}/providers/Microsoft.Authorization/roleAssignments/ra-1`;
const app = identity("id-app", {
  attachedTo: [`${RG}/providers/Microsoft.Compute/virtualMachines/vm-1`],
  roleAssignments: [{ id: ASSIGNMENT, scope: S, roleDefinitionId: `${S}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635`, roleName: "Owner" }],
});
const spare = identity("id-spare", { tags: {} });

describe("report model", () => {
  it("links each finding to the identity it is about: subject, related id, or the role assignment it names", () => {
    const model = buildReportModel({
      inventory: { identities: [app, spare] },
      sweep: sweep([
        finding("privileged-role-broad-scope", "critical", ASSIGNMENT.toUpperCase()),
        finding("untagged-identity", "medium", spare.id),
        finding("dangling-identity-reference", "high", `${RG}/providers/Microsoft.Compute/virtualMachines/vm-2`, app.id),
        finding("orphaned-role-assignment", "high", `${S}/providers/Microsoft.Authorization/roleAssignments/gone`),
      ]),
      now: NOW,
      rulePage: rulePageOf,
    });
    expect(model.findings.map((entry) => entry.identity)).toEqual([0, 1, 0, null]);
    expect(model.findings.map((entry) => entry.rulePage)).toEqual(model.findings.map((entry) => `docs/rules/${entry.ruleId}.md`));
    expect(model.identities[0]).toMatchObject({ findings: [0, 2], worstSeverity: "critical", owner: "team-a" });
    expect(model.identities[1]).toMatchObject({ findings: [1], worstSeverity: "medium", owner: null });
    expect(model.summary).toMatchObject({
      identities: 2,
      attached: 1,
      withRoleAssignments: 1,
      // Every role assignment the sweep read, as its JSON counts them; the identities' own apart.
      roleAssignments: 7,
      identityRoleAssignments: 1,
      findings: 4,
      suppressed: 2,
      bySeverity: { critical: 1, high: 2, medium: 1, low: 0 },
      byGrade: null,
    });
    expect(model.summary.byRule[0]).toEqual({ ruleId: "dangling-identity-reference", count: 1 });
    expect(model.history).toBeNull();
    expect("grade" in (model.identities[0] ?? {})).toBe(false);
    expect("exposure" in (model.identities[0] ?? {})).toBe(false);
  });

  it("carries grade and exposure when the inventory has them, and graphs the critical and high identities by grade", () => {
    const exposure: ExposureEntry[] = [{ principalId: "p-ops", principalType: "User", displayName: "ops", right: "assign", roleName: "Managed Identity Operator", scope: S, roleAssignmentId: `${S}/providers/Microsoft.Authorization/roleAssignments/a1` }];
    const model = buildReportModel({ inventory: { identities: [{ ...app, grade: "critical", exposure }, spare] }, sweep: sweep([finding("untagged-identity", "high", spare.id)]), now: NOW });
    expect(model.summary.byGrade).toEqual({ critical: 1, high: 0, none: 1 });
    expect(model.identities[0]).toMatchObject({ grade: "critical", exposure });
    expect(model.identities[1]?.grade).toBeNull();
    // Graded: a high finding on an ungraded identity does not make it a graph.
    expect(graphedIdentities(model).map(({ identity: entry }) => entry.name)).toEqual(["id-app"]);
  });

  it("counts open findings after each recorded sweep from the finding state", () => {
    const record = (fingerprint: string, firstSeen: string, lastSeen: string, resolvedAt?: string): FindingRecord => ({
      fingerprint,
      ruleId: "untagged-identity",
      subjectId: fingerprint,
      severity: "medium",
      title: "t",
      status: resolvedAt ? "resolved" : "open",
      firstSeen,
      lastSeen,
      timesSeen: 1,
      consecutive: 1,
      ...(resolvedAt ? { resolvedAt } : {}),
      snapshot: "{}",
    });
    const history = historyOf([
      record("a", "2026-11-01T00:00:00Z", "2026-11-03T00:00:00Z"),
      record("b", "2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"),
      record("c", "2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z"),
    ]);
    expect(history).toEqual([
      { at: "2026-11-01T00:00:00Z", open: 2 },
      { at: "2026-11-02T00:00:00Z", open: 2 },
      { at: "2026-11-03T00:00:00Z", open: 2 },
    ]);
  });
});

describe("report page", () => {
  const planted = identity(ATTACK, { tags: { owner: ATTACK, [ATTACK]: "</script><script>document.title='pwned'</script>" } });
  const model = buildReportModel({
    inventory: { identities: [app, planted] },
    sweep: sweep([finding("privileged-role-broad-scope", "critical", planted.id), finding("untagged-identity", "medium", app.id)]),
    now: NOW,
  });
  let html = "";
  beforeAll(async () => {
    html = await renderReportHtml(model);
  });

  it("escapes estate text everywhere: no element, attribute or script from the estate reaches the markup", () => {
    expect(html).not.toContain("<img");
    expect(html).not.toContain("onerror=\"document");
    expect(html.match(/<script/g)).toHaveLength(2);
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    // The planted identity is critical, so its name is drawn server-side in the identity graph: escaped.
    expect(html).toContain("&lt;img src=x onerror=&quot;document.title=&#39;pwned&#39;&quot;&gt;");
  });

  it("runs only its own script, by hash, and refers to nothing outside the file", () => {
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? "";
    expect(SCRIPT_HASH).toBe(`sha256-${createHash("sha256").update(script).digest("base64")}`);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP.replace(/'/g, "&#39;")}">`);
    expect(REPORT_CSP).toMatch(/^default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(html).not.toMatch(/\b(src|href|xlink:href|action)\s*=\s*["']?(https?:|\/\/|data:)/i);
    expect(html).not.toMatch(/<(link|iframe|img|object|embed)\b/i);
    expect(html).not.toMatch(/@import|url\((?!#)/i);
  });

  it("embeds exactly the model, plain or gzip-packed", async () => {
    expect(modelFromHtml(html)).toEqual(model);
    const packed = await renderReportHtml(model, { packAbove: 0 });
    expect(packed).toContain(`{"packed":"gzip-base64","data":"`);
    expect(modelFromHtml(packed)).toEqual(model);
  });

  it("says what it does not know instead of drawing nothing", async () => {
    expect(html).toContain("Not graded: this inventory carries no grade");
    expect(html).toContain("No finding state was given");
    expect(html).toContain("Every check completed.");
    const incomplete = await renderReportHtml({ ...model, incomplete: [{ check: "directory-lookup", reason: "Graph failed", affected: 3 }] });
    expect(incomplete).toContain("their absence of findings means <strong>unknown</strong>");
  });
});
