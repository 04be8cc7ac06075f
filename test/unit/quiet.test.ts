import { describe, expect, it } from "vitest";
import { whyNoFinding } from "../../shared/rules/lib/quiet.js";
import type { EventFacts } from "../../shared/rules/types.js";
import type { ChangeKind } from "../../shared/events/operations.js";
import type { CorePolicy } from "../../shared/config/policyCore.js";

const ID = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-guard/providers/Microsoft.Storage/storageAccounts/stguard";
const policy = {} as CorePolicy;

function facts(change: ChangeKind, extra: Partial<EventFacts> = {}): EventFacts {
  return {
    event: { id: "e1", eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: "2026-12-07T00:00:00Z", operationName: "x", resourceUri: ID, status: "Succeeded", subscriptionId: "11111111-1111-1111-1111-111111111111", caller: { delegated: true } },
    change,
    approval: { approved: false, reason: "no pipeline matches" },
    ...extra,
  };
}

describe("why an event gave no finding (replay --verbose)", () => {
  it("says no rule is enabled when none is", () => {
    expect(whyNoFinding(facts("attachment-write"), policy, [])).toBe("no rule for attachment-write is enabled in the policy");
  });

  it("names a read-back that found nothing", () => {
    expect(whyNoFinding(facts("role-assignment-write"), policy, ["role-assignment-outside-pipeline"])).toMatch(/^ARM has no role assignment .* now/);
    expect(whyNoFinding(facts("federated-credential-write"), policy, ["federated-credential-outside-pipeline"])).toMatch(/^ARM has no federated credential/);
  });

  it("names the approval that absorbed an attachment", () => {
    const approved = facts("attachment-write", { approval: { approved: true, reason: "pipeline deploy" }, resource: { id: ID, userAssignedIdentityIds: ["/x/id-a"] } as EventFacts["resource"] });
    expect(whyNoFinding(approved, policy, ["attachment-outside-pipeline"])).toBe("the caller is approved (pipeline deploy); the attachment baseline now holds what it attached");
  });

  it.each(["resource-change", "guard-scope-write", "role-definition-change"] as const)("a change to the guard (%s) without a finding was the guard's own or a deployer's", (change) => {
    expect(whyNoFinding(facts(change), policy, ["governance-tampering"])).toMatch(/the caller is the guard's own identity or one of self\.deployers/);
  });
});
