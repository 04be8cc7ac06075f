import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/governance-tampering.js";
import { operationFor, type ChangeKind } from "../../../shared/events/operations.js";
import type { Caller } from "../../../shared/events/resourceEvent.js";
import { eventMatters } from "../../../shared/rules/lib/guard.js";
import { APPROVED, facts, NOT_APPROVED, resourceEvent, USER } from "../../helpers/events.js";
import { policy } from "../../helpers/sweep.js";

const S = "/subscriptions/11111111-1111-1111-1111-111111111111";
const GUARD_RG = `${S}/resourceGroups/rg-uamiguard`;
const APP = `${GUARD_RG}/providers/Microsoft.Web/sites/func-uamiguard`;
const STORAGE = `${GUARD_RG}/providers/Microsoft.Storage/storageAccounts/stguard`;
const TOPIC = `${S}/resourceGroups/rg-uamiguard-events/providers/Microsoft.EventGrid/systemTopics/evgt-uamiguard`;
const SELF_OBJECT = "eeeeeeee-0000-0000-0000-0000000000ee";
const SELF_APP = "eeeeeeee-0000-0000-0000-0000000000cc";
const DEPLOYER_APP = "abababab-0000-4000-8000-000000000001";
const DEPLOYER_USER = "cdcdcdcd-0000-4000-8000-000000000002";
const GUARDED = policy({
  approvedPipelines: [{ name: "app-team", appId: "99999999-0000-4000-8000-000000000042", scopes: [S] }],
  self: { objectId: SELF_OBJECT, appId: SELF_APP, functionAppId: APP, resources: [GUARD_RG, TOPIC], deployers: [{ name: "guard-deploy", appId: DEPLOYER_APP }, { name: "platform-lead", objectId: DEPLOYER_USER }] },
});
const ASSIGNMENT = `${S}/providers/Microsoft.Authorization/roleAssignments/0b7c1a2e-0000-0000-0000-000000000001`;
const ENFORCER_ROLE = `${S}/providers/Microsoft.Authorization/roleDefinitions/7b1c0000-0000-4000-8000-00000000e0f0`;

const PIPELINE: Caller = { appId: "99999999-0000-4000-8000-000000000042", objectId: "ffffffff-0000-0000-0000-0000000000dd", delegated: false };
const DEPLOYER: Caller = { appId: DEPLOYER_APP, objectId: "12121212-0000-4000-8000-000000000003", delegated: false };
const DEPLOYING_USER: Caller = { appId: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", objectId: DEPLOYER_USER, delegated: true };
const SELF: Caller = { appId: SELF_APP, objectId: SELF_OBJECT, delegated: false };

/** The ways to switch the guard off, each an operation as Event Grid names it on the resource it hits. */
const TAMPERING: Array<[string, string, string, Partial<{ selfRoleDefinition: boolean; selfRoleAssignment: boolean; guardManagementGroup: { group: string; subscriptionId: string } }>?]> = [
  ["deleting the event subscription", "Microsoft.EventGrid/systemTopics/eventSubscriptions/delete", `${TOPIC}/eventSubscriptions/uami-guard`],
  ["stopping the Function App", "Microsoft.Web/sites/stop/action", APP],
  ["deleting the findings table", "Microsoft.Storage/storageAccounts/tableServices/tables/delete", `${STORAGE}/tableServices/default/tables/uamiguardfindings`],
  ["deleting the cleanup queue", "Microsoft.Storage/storageAccounts/queueServices/queues/delete", `${STORAGE}/queueServices/default/queues/uamiguard-cleanup`],
  ["deleting the package container", "Microsoft.Storage/storageAccounts/blobServices/containers/delete", `${STORAGE}/blobServices/default/containers/app-package`],
  ["a ReadOnly lock on its resource group", "Microsoft.Authorization/locks/write", `${GUARD_RG}/providers/Microsoft.Authorization/locks/freeze`],
  ["a lock on the subscription that holds it", "Microsoft.Authorization/locks/write", `${S}/providers/Microsoft.Authorization/locks/freeze`],
  ["rewriting the enforcer's custom role", "Microsoft.Authorization/roleDefinitions/write", ENFORCER_ROLE, { selfRoleDefinition: true }],
  ["deleting a custom role the app holds", "Microsoft.Authorization/roleDefinitions/delete", ENFORCER_ROLE, { selfRoleDefinition: true }],
  ["deleting the plan", "Microsoft.Web/serverfarms/delete", `${GUARD_RG}/providers/Microsoft.Web/serverfarms/plan-uamiguard`],
  ["deleting the onResourceEvent function", "Microsoft.Web/sites/functions/delete", `${APP}/functions/onResourceEvent`],
  ["a deny policy assignment on its subscription", "Microsoft.Authorization/policyAssignments/write", `${S}/providers/Microsoft.Authorization/policyAssignments/deny-all`],
  ["a policy assignment on its resource group", "Microsoft.Authorization/policyAssignments/write", `${GUARD_RG}/providers/Microsoft.Authorization/policyAssignments/deny-all`],
  ["a policy assignment at the tenant root", "Microsoft.Authorization/policyAssignments/write", "/providers/Microsoft.Authorization/policyAssignments/deny-all"],
  [
    "a lock on a management group above its subscription",
    "Microsoft.Authorization/locks/write",
    "/providers/Microsoft.Management/managementGroups/mg-corp/providers/Microsoft.Authorization/locks/freeze",
    { guardManagementGroup: { group: "mg-corp", subscriptionId: S.split("/")[2] ?? "" } },
  ],
  ["deleting Application Insights", "Microsoft.Insights/components/delete", `${GUARD_RG}/providers/Microsoft.Insights/components/appi-uamiguard`],
  ["deleting the app's config", "Microsoft.Web/sites/config/delete", `${APP}/config/appsettings`],
  ["an operation the table does not name, on the guard", "Microsoft.Web/sites/host/listkeys/action", `${APP}/host/default`],
  ["deleting the guard's resource group", "Microsoft.Resources/subscriptions/resourceGroups/delete", GUARD_RG],
  ["deleting the app's own role assignment", "Microsoft.Authorization/roleAssignments/delete", ASSIGNMENT, { selfRoleAssignment: true }],
  ["deleting any role assignment on the guard's storage", "Microsoft.Authorization/roleAssignments/delete", `${STORAGE}/providers/Microsoft.Authorization/roleAssignments/0b7c1a2e-0000-0000-0000-000000000002`],
];

function evaluate(operationName: string, resourceUri: string, caller: Caller, extra: Partial<{ selfRoleDefinition: boolean; selfRoleAssignment: boolean; guardManagementGroup: { group: string; subscriptionId: string } }> = {}, approved = false) {
  const change: ChangeKind = operationFor(operationName)?.kind ?? "resource-change";
  return rule.evaluate(facts(change, resourceEvent(operationName, resourceUri, caller), approved ? APPROVED : NOT_APPROVED, extra), GUARDED);
}

const keys = (drafts: ReturnType<typeof evaluate>) => drafts.map((draft) => [draft.ruleId, draft.subjectId, draft.relatedId, draft.severity]);

describe("governance-tampering", () => {
  describe.each(TAMPERING)("%s", (_name, operationName, resourceUri, extra) => {
    it("by an approved pipeline whose scopes contain it: critical", () => {
      const drafts = evaluate(operationName, resourceUri, PIPELINE, extra, true);
      expect(keys(drafts)).toEqual([["governance-tampering", resourceUri, undefined, "critical"]]);
      expect(drafts[0]?.message).toMatch(/approved pipelines may not change the guard/);
    });

    it("by a user: critical", () => {
      expect(keys(evaluate(operationName, resourceUri, USER, extra))).toEqual([["governance-tampering", resourceUri, undefined, "critical"]]);
    });

    it("by a deployer (app-only token, or a listed user's object id) or the app itself: nothing", () => {
      for (const caller of [DEPLOYER, DEPLOYING_USER, SELF]) expect(evaluate(operationName, resourceUri, caller, extra, true)).toEqual([]);
    });

    it("reaches the rule: the event processor does not ignore it", () => {
      expect(eventMatters(operationFor(operationName) ?? { kind: "resource-change" }, resourceUri, GUARDED)).toBe(true);
    });
  });

  it.each([
    ["a storage account that only shares the name prefix", "Microsoft.Storage/storageAccounts/delete", `${GUARD_RG}2/providers/Microsoft.Storage/storageAccounts/stguard`, {}],
    ["another subscription's event subscription", "Microsoft.EventGrid/systemTopics/eventSubscriptions/delete", `${S}/resourceGroups/rg-x/providers/Microsoft.EventGrid/systemTopics/t/eventSubscriptions/s`, {}],
    ["a lock on another resource group", "Microsoft.Authorization/locks/write", `${S}/resourceGroups/rg-app/providers/Microsoft.Authorization/locks/freeze`, {}],
    ["a policy assignment on another subscription", "Microsoft.Authorization/policyAssignments/write", "/subscriptions/22222222-2222-2222-2222-222222222222/providers/Microsoft.Authorization/policyAssignments/deny", {}],
    ["a custom role the app does not hold", "Microsoft.Authorization/roleDefinitions/write", ENFORCER_ROLE, { selfRoleDefinition: false }],
    ["someone else's role assignment", "Microsoft.Authorization/roleAssignments/delete", ASSIGNMENT, { selfRoleAssignment: false }],
    ["a role assignment not known from a sweep", "Microsoft.Authorization/roleAssignments/delete", ASSIGNMENT, {}],
    ["a policy assignment on a management group no guard subscription is under", "Microsoft.Authorization/policyAssignments/write", "/providers/Microsoft.Management/managementGroups/mg-sandbox/providers/Microsoft.Authorization/policyAssignments/deny", {}],
  ] as const)("not the guard's: %s", (_name, operationName, resourceUri, extra) => {
    expect(evaluate(operationName, resourceUri, USER, extra)).toEqual([]);
  });

  it("a user using a deployer's app id is not the deployer (delegated tokens match by object id only)", () => {
    const drafts = evaluate("Microsoft.Web/sites/stop/action", APP, { appId: DEPLOYER_APP, objectId: "dddddddd-0000-0000-0000-0000000000bb", delegated: true });
    expect(keys(drafts)).toEqual([["governance-tampering", APP, undefined, "critical"]]);
  });

  it("names a lock or policy assignment as such, with the scope it covers", () => {
    const [lock] = evaluate("Microsoft.Authorization/locks/write", `${GUARD_RG}/providers/Microsoft.Authorization/locks/freeze`, USER);
    expect(lock?.message).toMatch(new RegExp(`put a lock on ${GUARD_RG.replace(/[/.]/g, "\\$&")}, which holds the guard's`));
    const [deny] = evaluate("Microsoft.Authorization/policyAssignments/write", `${S}/providers/Microsoft.Authorization/policyAssignments/deny`, PIPELINE, {}, true);
    expect(deny?.evidence).toMatchObject({ scope: S, selfResource: GUARD_RG, approval: "pipeline deploy" });
  });

  it("matches ids in another case", () => {
    expect(keys(evaluate("Microsoft.EventGrid/systemTopics/delete", TOPIC.toUpperCase(), USER))).toEqual([["governance-tampering", TOPIC.toUpperCase(), undefined, "critical"]]);
  });

  it("reports nothing when self is not configured", () => {
    expect(rule.evaluate(facts("resource-change", resourceEvent("Microsoft.Web/sites/stop/action", APP), NOT_APPROVED), policy())).toEqual([]);
  });

  it("looks at every change kind", () => {
    expect([...rule.changes].sort()).toEqual([
      "attachment-write",
      "federated-credential-delete",
      "federated-credential-write",
      "guard-scope-write",
      "identity-delete",
      "identity-write",
      "resource-change",
      "role-assignment-delete",
      "role-assignment-write",
      "role-definition-change",
    ]);
  });

  it("the processor ignores the guard's own operation kinds away from the guard", () => {
    expect(eventMatters({ kind: "resource-change" }, `${S}/resourceGroups/rg-app/providers/Microsoft.Web/sites/app`, GUARDED)).toBe(false);
    expect(eventMatters({ kind: "guard-scope-write" }, `${S}/resourceGroups/rg-app/providers/Microsoft.Authorization/locks/l`, GUARDED)).toBe(false);
    expect(eventMatters({ kind: "role-definition-change" }, ENFORCER_ROLE, policy())).toBe(false);
  });
});
