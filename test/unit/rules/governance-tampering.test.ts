import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/governance-tampering.js";
import type { ChangeKind } from "../../../shared/events/operations.js";
import { APPROVED, facts, NOT_APPROVED, resourceEvent } from "../../helpers/events.js";
import { policy } from "../../helpers/sweep.js";

const S = "/subscriptions/11111111-1111-1111-1111-111111111111";
const GUARD_RG = `${S}/resourceGroups/rg-uamiguard`;
const APP = `${GUARD_RG}/providers/Microsoft.Web/sites/func-uamiguard`;
const TOPIC = `${S}/resourceGroups/rg-uamiguard-events/providers/Microsoft.EventGrid/systemTopics/evgt-uamiguard`;
const SELF_OBJECT = "eeeeeeee-0000-0000-0000-0000000000ee";
const GUARDED = policy({ self: { objectId: SELF_OBJECT, functionAppId: APP, resources: [`${GUARD_RG}/providers/Microsoft.Storage/storageAccounts/stguard`, TOPIC] } });
const ASSIGNMENT = `${S}/providers/Microsoft.Authorization/roleAssignments/0b7c1a2e-0000-0000-0000-000000000001`;

describe("governance-tampering", () => {
  it.each([
    ["deleting the event subscription", "resource-change", "Microsoft.EventGrid/systemTopics/eventSubscriptions/delete", `${TOPIC}/eventSubscriptions/uami-guard`, {}, false, true],
    ["deleting the system topic, id in another case", "resource-change", "Microsoft.EventGrid/systemTopics/delete", TOPIC.toUpperCase(), {}, false, true],
    ["stopping the Function App (self.functionAppId counts as its own)", "resource-change", "Microsoft.Web/sites/stop/action", APP, {}, false, true],
    ["changing the app's settings", "resource-change", "Microsoft.Web/sites/config/write", `${APP}/config/appsettings`, {}, false, true],
    ["a write on the app that is also an attachment write", "attachment-write", "Microsoft.Web/sites/write", APP, {}, false, true],
    ["deleting the app's storage", "resource-change", "Microsoft.Storage/storageAccounts/delete", `${GUARD_RG}/providers/Microsoft.Storage/storageAccounts/stguard`, {}, false, true],
    ["deleting the app's own role assignment", "role-assignment-delete", "Microsoft.Authorization/roleAssignments/delete", ASSIGNMENT, { selfRoleAssignment: true }, false, true],
    ["deleting someone else's role assignment", "role-assignment-delete", "Microsoft.Authorization/roleAssignments/delete", ASSIGNMENT, { selfRoleAssignment: false }, false, false],
    ["deleting a role assignment not known from a sweep", "role-assignment-delete", "Microsoft.Authorization/roleAssignments/delete", ASSIGNMENT, {}, false, false],
    ["an approved pipeline redeploying the guard", "resource-change", "Microsoft.EventGrid/systemTopics/eventSubscriptions/delete", `${TOPIC}/eventSubscriptions/uami-guard`, {}, true, false],
    ["an approved caller deleting the app's role assignment", "role-assignment-delete", "Microsoft.Authorization/roleAssignments/delete", ASSIGNMENT, { selfRoleAssignment: true }, true, false],
    ["a storage account that only shares the name prefix", "resource-change", "Microsoft.Storage/storageAccounts/delete", `${GUARD_RG}/providers/Microsoft.Storage/storageAccounts/stguard2`, {}, false, false],
    ["another subscription's event subscription", "resource-change", "Microsoft.EventGrid/systemTopics/eventSubscriptions/delete", `${S}/resourceGroups/rg-x/providers/Microsoft.EventGrid/systemTopics/t/eventSubscriptions/s`, {}, false, false],
  ] as const)("%s", (_name, change, operation, resourceUri, extra, approved, expected) => {
    const event = resourceEvent(operation, resourceUri);
    const drafts = rule.evaluate(facts(change as ChangeKind, event, approved ? APPROVED : NOT_APPROVED, extra), GUARDED);
    expect(drafts.map((draft) => [draft.ruleId, draft.subjectId, draft.relatedId, draft.severity])).toEqual(expected ? [["governance-tampering", resourceUri, undefined, "critical"]] : []);
  });

  it("reports nothing when self is not configured", () => {
    const event = resourceEvent("Microsoft.Web/sites/stop/action", APP);
    expect(rule.evaluate(facts("resource-change", event, NOT_APPROVED), policy())).toEqual([]);
  });

  it("looks at every change kind", () => {
    expect([...rule.changes].sort()).toEqual(["attachment-write", "federated-credential-delete", "federated-credential-write", "identity-delete", "identity-write", "resource-change", "role-assignment-delete", "role-assignment-write"]);
  });
});
