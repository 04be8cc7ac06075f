import { describe, expect, it } from "vitest";
import { policySchema } from "../../shared/config/policy.js";
import { cleanupMode, planCleanup, protectedScopeOf, runBreakerNotice, type PlanOptions } from "../../shared/cleanup/plan.js";
import { identityTypeAfter } from "../../shared/cleanup/changes.js";
import { encodeWorkItem, parseWorkItem, sealIsValid, sealWorkItem } from "../../shared/cleanup/workItem.js";
import { findingOf as finding } from "../helpers/drift.js";

const SUB = "/subscriptions/11111111-1111-1111-1111-111111111111";

const orphan = (n: number, scope = `${SUB}/resourceGroups/rg`) => finding("orphaned-role-assignment", `${scope}/providers/Microsoft.Authorization/roleAssignments/${n}`, { principalId: `p-${n}`, scope });
const untagged = (name: string, principalId = "pid") => finding("untagged-identity", `${SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`, { missingTags: ["owner"], tags: {}, principalId });

const options = (overrides: Partial<PlanOptions> = {}): PlanOptions => ({ forceEnforce: true, consecutive: () => 2, roleAssignmentsSeen: 1000, now: new Date("2026-11-23T12:00:00Z"), runId: "run-test", scope: "sweep-all", ...overrides });

describe("planCleanup (docs/guarantees.md \"Cleanup actions\")", () => {
  it("acts only in enforce mode with dryRun false; --enforce forces both", () => {
    expect(cleanupMode(policySchema.parse({}), false)).toBe("off");
    expect(cleanupMode(policySchema.parse({ rules: { "untagged-identity": { mode: "enforce" } } }), false)).toBe("dry-run");
    expect(cleanupMode(policySchema.parse({ rules: { "untagged-identity": { mode: "enforce" } }, cleanup: { dryRun: false } }), false)).toBe("enforce");
    expect(cleanupMode(policySchema.parse({}), true)).toBe("enforce");
    const audit = planCleanup([orphan(1), untagged("a")], policySchema.parse({}), options({ forceEnforce: false })).plan;
    expect(audit).toEqual({ mode: "off", records: [], toRun: [], scope: "sweep-all" });
  });

  it("only rules in enforce mode act; the others report nothing", () => {
    const policy = policySchema.parse({ rules: { "untagged-identity": { mode: "enforce" } }, cleanup: { dryRun: false } });
    const plan = planCleanup([orphan(1), untagged("a"), finding("stale-identity", "x")], policy, options({ forceEnforce: false })).plan;
    expect(plan.toRun.map((action) => action.kind)).toEqual(["tag-identity"]);
    expect(plan.records).toEqual([]);
  });

  it("dry run lists exactly the actions enforce would run, as planned", () => {
    const policy = policySchema.parse({ rules: { "untagged-identity": { mode: "enforce" }, "orphaned-role-assignment": { mode: "enforce" } } });
    const dry = planCleanup([orphan(1), untagged("a")], policy, options({ forceEnforce: false })).plan;
    const real = planCleanup([orphan(1), untagged("a")], policy, options({ forceEnforce: true })).plan;
    expect(dry.toRun).toEqual([]);
    expect(dry.records.map((record) => [record.status, record.change])).toEqual(real.toRun.map((action) => ["planned", expect.stringContaining(action.targetId)]));
  });

  it("an orphan waits for orphans.confirmations consecutive sightings", () => {
    const policy = policySchema.parse({ orphans: { confirmations: 3 } });
    const seen = new Map([[orphan(1).fingerprint, 2], [orphan(2).fingerprint, 3]]);
    const plan = planCleanup([orphan(1), orphan(2)], policy, options({ consecutive: (fingerprint) => seen.get(fingerprint) ?? 1 })).plan;
    expect(plan.records).toMatchObject([{ status: "deferred", reason: "seen orphaned on 2 of 3 consecutive sweeps" }]);
    expect(plan.toRun.map((action) => action.targetId)).toEqual([orphan(2).subjectId]);
  });

  it("never touches a protected scope (at or below, at a segment boundary) or principal", () => {
    const policy = policySchema.parse({ protected: { scopes: [`${SUB}/resourceGroups/rg-prod`], principals: ["PID-1"] } });
    const plan = planCleanup(
      [orphan(1, `${SUB}/resourceGroups/rg-prod`), orphan(2, `${SUB}/resourceGroups/rg-prod-2`), untagged("a", "pid-1"), untagged("b")],
      policy,
      options(),
    ).plan;
    expect(plan.records.map((record) => [record.status, record.reason])).toEqual([
      ["skipped", `protected scope ${SUB}/resourceGroups/rg-prod`],
      ["skipped", "protected principal pid-1"],
    ]);
    expect(plan.toRun).toHaveLength(2);
    expect(protectedScopeOf(policy, [`${SUB}/resourceGroups/RG-PROD/providers/x/y/z`])).toBe(`${SUB}/resourceGroups/rg-prod`);
    expect(protectedScopeOf(policy, [`${SUB}/resourceGroups/rg-production`])).toBeUndefined();
  });

  it("the circuit breaker takes no action at all past maxActionsPerRun or maxDeletePercent, or when the base is unknown", () => {
    const policy = policySchema.parse({ cleanup: { maxActionsPerRun: 3, maxDeletePercent: 5 } });
    const four = [orphan(1), orphan(2), untagged("a"), untagged("b")];
    const tooMany = planCleanup(four, policy, options()).plan;
    expect(tooMany.toRun).toEqual([]);
    expect(tooMany.breaker?.reason).toBe("4 actions exceed cleanup.maxActionsPerRun 3");
    expect(tooMany.records.every((record) => record.status === "blocked")).toBe(true);

    expect(planCleanup([orphan(1), orphan(2)], policy, options({ roleAssignmentsSeen: 40 })).plan.breaker).toBeUndefined();
    expect(planCleanup([orphan(1), orphan(2), orphan(3)], policy, options({ roleAssignmentsSeen: 40 })).plan.breaker?.reason).toBe(
      "3 of 40 role assignments (7.50%) exceed cleanup.maxDeletePercent 5",
    );
    expect(planCleanup([orphan(1)], policy, options({ roleAssignmentsSeen: undefined })).plan.breaker?.reason).toMatch(/unknown/);
    expect(planCleanup([untagged("a")], policy, options({ roleAssignmentsSeen: undefined })).plan.breaker).toBeUndefined();
    expect(planCleanup([untagged("a")], policySchema.parse({ cleanup: { maxActionsPerRun: 0 } }), options()).plan.breaker?.reason).toMatch(/maxActionsPerRun 0/);
  });

  it("the planner is pure: it gives the breaker notice (enforce mode only) and leaves the findings as they were", () => {
    const policy = policySchema.parse({});
    const findings = [orphan(1)];
    const before = structuredClone(findings);
    const tripped = planCleanup(findings, policy, options({ roleAssignmentsSeen: 2, runId: "sweep-9", scope: "sweep-all" }));
    expect(findings).toEqual(before);
    expect(tripped.breakerNotice).toEqual(runBreakerNotice(tripped.plan.breaker!, policy, options({ runId: "sweep-9", scope: "sweep-all" })));
    const dryRun = planCleanup(findings, policySchema.parse({ rules: { "orphaned-role-assignment": { mode: "enforce" } } }), options({ forceEnforce: false, roleAssignmentsSeen: 2 }));
    expect(dryRun.plan.breaker).toBeDefined();
    expect(dryRun.breakerNotice).toBeUndefined();
  });

  it("the breaker notice is a critical finding with the numbers", () => {
    const policy = policySchema.parse({});
    const breaker = planCleanup([orphan(1)], policy, options({ roleAssignmentsSeen: 2 })).plan.breaker;
    expect(breaker).toBeDefined();
    const notice = runBreakerNotice(breaker!, policy, options({ runId: "sweep-1", scope: "sweep-all" }));
    // The subject names the budget and its window (the run), so every trip is a new finding.
    expect(notice).toMatchObject({ ruleId: "cleanup-circuit-breaker", severity: "critical", subjectId: "cleanup-budget/run/sweep-1", evidence: { deletes: 1, roleAssignmentsSeen: 2, maxDeletePercent: 5 } });
  });

  it("the status tag says since when (first sighting), and an identity already marked is skipped", () => {
    const first = untagged("a");
    const plan = planCleanup([first, finding("untagged-identity", `${SUB}/x/b`, { tags: { "UAMI-Guard-Status": "untagged since 2026-01-01" } })], policySchema.parse({}), options({ firstSeen: () => "2026-10-01T08:00:00.000Z" })).plan;
    expect(plan.toRun[0]?.tagValue).toBe("untagged since 2026-10-01");
    expect(plan.records).toMatchObject([{ status: "skipped", reason: "already tagged uami-guard-status" }]);
  });

  it("docs/guarantees.md \"Order does not matter\": an attachment an approved write may have made (absorbedBy) is report only; a plain one is detached", () => {
    const vm = `${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1`;
    const id = (name: string) => `${SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
    const ambiguous = finding("attachment-outside-pipeline", vm, { absorbedBy: { eventId: "e2", eventTime: "2026-11-20T10:00:00Z", approvedAs: "approved pipeline p" } }, id("x"));
    const plain = finding("attachment-outside-pipeline", vm, {}, id("z"));
    const plan = planCleanup([ambiguous, plain], policySchema.parse({}), options()).plan;
    expect(plan.toRun.map((action) => action.identityId)).toEqual([id("z")]);
    expect(plan.records).toMatchObject([{ status: "skipped", reason: expect.stringMatching(/^report only/) }]);
  });
});

describe("detach keeps the system-assigned identity", () => {
  it.each([
    [true, 1, "SystemAssigned, UserAssigned"],
    [true, 0, "SystemAssigned"],
    [false, 2, "UserAssigned"],
    [false, 0, "None"],
  ])("system-assigned %s, %i user-assigned left → %s", (system, left, type) => {
    expect(identityTypeAfter(system, left)).toBe(type);
  });
});

describe("work items", () => {
  const key = Buffer.alloc(32, 7);
  it("round-trip through the queue's base64 text, sealed, and reject what is not one", () => {
    const action = planCleanup([untagged("a")], policySchema.parse({}), options()).plan.toRun[0]!;
    const item = sealWorkItem({ version: 2, runId: "sweep-1", caller: "oid x", scope: "sweep-all", action }, key);
    const text = encodeWorkItem(item);
    expect(parseWorkItem(text)).toEqual({ ok: true, item });
    expect(parseWorkItem(JSON.parse(Buffer.from(text, "base64").toString("utf8")))).toMatchObject({ ok: true });
    expect(parseWorkItem({ ...item, action: { ...action, targetId: "relative" } })).toEqual({ ok: false, reason: "action.targetId: Invalid string: must start with \"/\"" });
    expect(parseWorkItem(42)).toMatchObject({ ok: false });
  });

  it("the seal covers every field in any key order, and only the app's key makes it", () => {
    const action = planCleanup([untagged("a")], policySchema.parse({}), options()).plan.toRun[0]!;
    const item = sealWorkItem({ version: 2, runId: "sweep-1", caller: "oid x", scope: "sweep-all", action }, key);
    expect(sealIsValid(item, key)).toBe(true);
    const reordered = JSON.parse(JSON.stringify({ seal: item.seal, action: item.action, scope: item.scope, caller: item.caller, runId: item.runId, version: 2 })) as typeof item;
    expect(sealIsValid(reordered, key)).toBe(true);
    expect(sealIsValid({ ...item, action: { ...action, targetId: `${action.targetId}x` } }, key)).toBe(false);
    expect(sealIsValid({ ...item, roleAssignmentsSeen: 1_000_000 }, key)).toBe(false);
    expect(sealIsValid(item, Buffer.alloc(32, 8))).toBe(false);
  });
});
