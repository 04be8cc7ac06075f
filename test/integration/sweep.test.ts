import { afterEach, describe, expect, it } from "vitest";
import { runSweep } from "../../shared/engine/sweep.js";
import { defaultPolicy } from "../../shared/config/policy.js";
import type { RunReport } from "../../shared/findings.js";
import { loadEstateFile } from "../../local/emulator/estate.js";
import { DEMO_ESTATE } from "../../cli/main.js";
import { startTarget, type TestTarget } from "../helpers/estate.js";
import { principalsEstate } from "../helpers/synthetic.js";

let target: TestTarget | undefined;
afterEach(async () => {
  await target?.stop();
  target = undefined;
});

function ids(report: RunReport, ruleId: string): string[] {
  return report.findings.filter((finding) => finding.ruleId === ruleId).map((finding) => finding.subjectId).sort();
}

function count(target: TestTarget, service: string): number {
  return target.emulator.requests.filter((request) => request.service === service).length;
}

/** Graph getByIds calls (the directory lookup), apart from the privilege reads' tenant-wide listings and batches. */
function lookups(target: TestTarget): number {
  return target.emulator.requests.filter((request) => request.service === "graph" && /getbyids/i.test(request.path)).length;
}

describe("sweep engine against the emulator", () => {
  it("finds every planted problem of the demo estate at the request floor", async () => {
    target = await startTarget(loadEstateFile(DEMO_ESTATE));
    const report = await runSweep(target.clients, defaultPolicy());
    const byRule: Record<string, number> = {};
    for (const finding of report.findings) byRule[finding.ruleId] = (byRule[finding.ruleId] ?? 0) + 1;
    expect(byRule).toEqual({
      "orphaned-role-assignment": 15,
      "privileged-role-broad-scope": 8,
      "untagged-identity": 5,
      "unattached-identity": 3,
      "dangling-identity-reference": 2,
      "identity-name-invalid": 3,
      "cross-environment-attachment": 1,
      "shared-identity-sprawl": 1,
      // Issue 16: exposure and federation (the demo's background users hold Owner/Contributor/Managed Identity
      // Operator widely); issue 24: groups with members, PIM, Entra ID and Graph grades, escalation through grant,
      // federation subjects (no policy: no GitHub owner is the organisation's). The plants are listed in generateDemoEstate.ts.
      "privileged-identity-exposed": 415,
      "federated-credential-untrusted-issuer": 1,
      "federated-credential-risky-subject": 2,
      "federated-credential-untrusted-subject": 12,
      "identity-privileged-in-entra": 4,
      "identity-privilege-via-group": 2,
    });
    expect(report.incomplete).toEqual([]);
    // Issue 16 added 4 planted role assignments (2,475 before) and the exposure findings; issue 24 four more.
    expect(report.summary).toMatchObject({ identities: 52, roleAssignments: 2483, findings: 474 });
    // Floor: one page per small query, ceil(2,479/1,000) role-assignment pages, ceil(distinct principals/1,000) Graph calls.
    // Issue #14 changed this from 4 + 3: federated credentials are no Resource Graph query any more but
    // one ARM list per identity; issue #16 added the subscriptions query (management-group chains): 3 + 3 → 4 + 3.
    // Issue 24: and the AKS clusters, read because a credential trusts an AKS issuer.
    expect(count(target, "resourceGraph")).toBe(4 + 3 + 1);
    const ficLists = target.emulator.requests.filter((request) => request.service === "arm" && /\/federatedIdentityCredentials$/i.test(request.path));
    expect(ficLists).toHaveLength(52);
    // Issue 24: one getByIds, three tenant-wide listings (Graph permissions, directory roles, their eligibilities), one
    // $batch per 20 groups; ARM: one eligibility list per subscription and management group (3 + mg-contoso-prod,
    // mg-contoso-nonprod, mg-contoso and the tenant root group).
    expect(lookups(target)).toBe(1);
    expect(count(target, "graph")).toBe(1 + 3 + 2);
    const eligibilityLists = target.emulator.requests.filter((request) => request.service === "arm" && /roleEligibilityScheduleInstances$/i.test(request.path));
    expect(eligibilityLists).toHaveLength(3 + 4);
    const fingerprints = new Set(report.findings.map((finding) => finding.fingerprint));
    expect(fingerprints.size).toBe(report.findings.length);
  });

  it("batches more than 1,000 distinct principals into ceil(n/1,000) Graph calls and finds exactly the orphans", async () => {
    const { estate, orphans } = principalsEstate(2500, 10);
    target = await startTarget(estate);
    const report = await runSweep(target.clients, defaultPolicy());
    expect(ids(report, "orphaned-role-assignment")).toEqual([...orphans].sort());
    expect(lookups(target)).toBe(3);
    expect(report.incomplete).toEqual([]);
  });

  it("Graph 403 for every batch: no orphan finding at all, one incomplete entry", async () => {
    const { estate } = principalsEstate(2500, 10, [{ service: "graph", pathContains: "getByIds", status: 403, rate: 1 }]);
    target = await startTarget(estate);
    const report = await runSweep(target.clients, defaultPolicy());
    expect(ids(report, "orphaned-role-assignment")).toEqual([]);
    expect(report.incomplete).toEqual([
      expect.objectContaining({ check: "directory-lookup", affected: 2500, reason: expect.stringMatching(/3 of 3 batch.*403/) }),
    ]);
  });

  it("Graph 429 then success: the pipeline retries and the sweep is complete", async () => {
    const { estate, orphans } = principalsEstate(1500, 5, [{ service: "graph", pathContains: "getByIds", status: 429, rate: 1, count: 2, retryAfterSeconds: 0 }]);
    target = await startTarget(estate);
    const report = await runSweep(target.clients, defaultPolicy());
    expect(ids(report, "orphaned-role-assignment")).toEqual([...orphans].sort());
    expect(report.incomplete).toEqual([]);
  });

  it("Graph 429 past the retries: unknown, not deleted", async () => {
    const { estate } = principalsEstate(500, 5, [{ service: "graph", pathContains: "getByIds", status: 429, rate: 1, retryAfterSeconds: 0 }]);
    target = await startTarget(estate);
    const report = await runSweep(target.clients, defaultPolicy());
    expect(ids(report, "orphaned-role-assignment")).toEqual([]);
    expect(report.incomplete[0]).toMatchObject({ check: "directory-lookup", affected: 500 });
  });

  it("Graph 500 for some batches: findings only from the batches that answered", async () => {
    // The first batch fails on its first try and on every retry (1 + 4 attempts); the other two answer.
    const { estate, orphans } = principalsEstate(3000, 10, [{ service: "graph", pathContains: "getByIds", status: 500, rate: 1, count: 5 }]);
    target = await startTarget(estate);
    const report = await runSweep(target.clients, defaultPolicy(), { directoryConcurrency: 1 });
    const found = ids(report, "orphaned-role-assignment");
    const failed = report.incomplete.find((entry) => entry.check === "directory-lookup");
    expect(failed).toBeDefined();
    expect(failed?.affected).toBe(1000);
    expect(failed?.reason).toMatch(/1 of 3 batch.*500/);
    // Every reported orphan is a real one; the ones not reported are exactly those in failed batches.
    for (const id of found) expect(orphans).toContain(id);
    expect(orphans.length - found.length).toBe((failed?.affected ?? 0) / 10);
  });

  it("a Resource Graph failure fails the sweep rather than reporting a partial estate", async () => {
    const { estate } = principalsEstate(10, 2, [{ service: "resourceGraph", status: 403, rate: 1 }]);
    target = await startTarget(estate);
    await expect(runSweep(target.clients, defaultPolicy())).rejects.toThrow(/resourceGraph: HTTP 403/);
  });

  it("applies suppressions with expiry and rule overrides", async () => {
    target = await startTarget(loadEstateFile(DEMO_ESTATE));
    const policy = defaultPolicy();
    policy.suppressions = [
      { ruleId: "untagged-identity", subjectId: "*/userAssignedIdentities/uami-legacy-app", reason: "legacy", expires: "2099-01-01" },
      { ruleId: "untagged-identity", subjectId: "*", reason: "expired", expires: "2020-01-01" },
    ];
    policy.rules = { "orphaned-role-assignment": { enabled: false }, "unattached-identity": { severity: "high" } };
    const report = await runSweep(target.clients, policy);
    expect(ids(report, "untagged-identity")).toHaveLength(4);
    expect(report.summary.suppressed).toBe(1);
    expect(ids(report, "orphaned-role-assignment")).toEqual([]);
    expect(report.findings.filter((finding) => finding.ruleId === "unattached-identity").every((finding) => finding.severity === "high")).toBe(true);
  });
});
