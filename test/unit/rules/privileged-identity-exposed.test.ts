import { describe, expect, it } from "vitest";
import { BUILT_IN_ROLES } from "../../../shared/rules/lib/roles.js";
import { rule } from "../../../shared/rules/privileged-identity-exposed.js";
import { exposureOf } from "../../../shared/rules/lib/holders.js";
import { RUN_CODE_ACTIONS } from "../../../shared/rules/lib/runCode.js";
import type { PrincipalStatus } from "../../../shared/rules/types.js";
import type { AttachedResource } from "../../../shared/model.js";
import { assignment, customRole, exposureIndex, FOUND_MI, identity, keys, MISSING, policy, resource, RG, runRule, S, UNKNOWN } from "../../helpers/sweep.js";

const { owner: OWNER, contributor: CONTRIBUTOR, managedIdentityOperator: MI_OPERATOR, managedIdentityContributor: MI_CONTRIBUTOR } = BUILT_IN_ROLES;
const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const SUB_ID = "11111111-1111-1111-1111-111111111111";
const MG = (name: string) => `/providers/Microsoft.Management/managementGroups/${name}`;
const OTHER_RG = `${S}/resourceGroups/rg-other`;
// The identities' grades come from other subscriptions, so their own grants give no right over each other.
const S2 = "/subscriptions/22222222-2222-2222-2222-222222222222";
const S3 = "/subscriptions/33333333-3333-3333-3333-333333333333";

const critical = identity("id-crit");
const high = identity("id-high");
const medium = identity("id-med");
const plain = identity("id-plain");

const at = (type: string, name: string, ids: string[], group = "rg-app"): AttachedResource =>
  resource(name, ids, { id: `${S}/resourceGroups/${group}/providers/${type}/${name}`, type, resourceGroup: group });
const VM = at("Microsoft.Compute/virtualMachines", "vm1", [critical.id]);
const VMSS = at("Microsoft.Compute/virtualMachineScaleSets", "ss1", [critical.id]);
const SITE = at("Microsoft.Web/sites", "app1", [critical.id]);
const SLOT = resource("app2-staging", [critical.id], { id: `${RG}/providers/Microsoft.Web/sites/app2/slots/staging`, type: "Microsoft.Web/sites/slots" });
const AUTOMATION = at("Microsoft.Automation/automationAccounts", "aa1", [critical.id]);
const LOGIC = at("Microsoft.Logic/workflows", "la1", [critical.id]);
const CONTAINER_APP = at("Microsoft.App/containerApps", "ca1", [critical.id]);
const UNRELATED_VM = at("Microsoft.Compute/virtualMachines", "vm-other", [plain.id]);

const roles = [
  customRole("c-fic-only", [{ actions: ["Microsoft.ManagedIdentity/*"], notActions: ["Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"] }]),
  customRole("c-star-no-mi", [{ actions: ["*"], notActions: ["Microsoft.ManagedIdentity/*", "Microsoft.Authorization/*/Write"] }]),
  customRole("c-two-entries", [
    { actions: ["Microsoft.ManagedIdentity/userAssignedIdentities/*"], notActions: ["Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action"] },
    { actions: ["Microsoft.Compute/*/read"] },
  ]),
  customRole("c-run", [{ actions: ["Microsoft.Compute/virtualMachines/runCommand/action"] }]),
  customRole("c-runs", [{ actions: ["Microsoft.Compute/virtualMachines/runCommands/write"] }]),
  customRole("c-ext", [{ actions: ["Microsoft.Compute/virtualMachines/extensions/write"] }]),
  customRole("c-vmss", [{ actions: ["Microsoft.Compute/virtualMachineScaleSets/write"] }]),
  customRole("c-vmss-ext", [{ actions: ["Microsoft.Compute/virtualMachineScaleSets/extensions/write"] }]),
  customRole("c-vmss-run", [{ actions: ["Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action"] }]),
  customRole("c-site", [{ actions: ["Microsoft.Web/sites/write"] }]),
  customRole("c-site-config", [{ actions: ["Microsoft.Web/sites/config/write"] }]),
  customRole("c-slot", [{ actions: ["Microsoft.Web/sites/slots/write"] }]),
  customRole("c-runbook", [{ actions: ["Microsoft.Automation/automationAccounts/runbooks/write"] }]),
  customRole("c-job", [{ actions: ["Microsoft.Automation/automationAccounts/jobs/write"] }]),
  customRole("c-logic", [{ actions: ["Microsoft.Logic/workflows/write"] }]),
  customRole("c-ca", [{ actions: ["Microsoft.App/containerApps/write"] }]),
  customRole("c-read", [{ actions: ["*/read"] }]),
  customRole("c-star-grant", [{ actions: ["*"], notActions: ["Microsoft.ManagedIdentity/*"] }]),
];

/** The identities' own grants: critical (Owner at a subscription), high (Contributor at a subscription), medium (Owner at a resource group). */
const grades: Array<[ReturnType<typeof assignment>, PrincipalStatus]> = [
  [assignment("g-crit", OWNER, critical.principalId, S2), FOUND_MI],
  [assignment("g-high", CONTRIBUTOR, high.principalId, S3), FOUND_MI],
  [assignment("g-med", OWNER, medium.principalId, `${S2}/resourceGroups/rg-x`), FOUND_MI],
  [assignment("g-plain", READER, plain.principalId, S), FOUND_MI],
];

const APP = "aaaaaaaa-0000-4000-8000-000000000001";
const HOLDER = "bbbbbbbb-0000-4000-8000-000000000002";
const FOUND_APP: PrincipalStatus = { state: "found", object: { id: HOLDER, odataType: "#microsoft.graph.servicePrincipal", servicePrincipalType: "Application", appId: APP } };

type Grant = [role: string, scope: string, principal?: string, status?: PrincipalStatus];
type Case = [name: string, grants: Grant[], expected: Array<[identityId: string, holder: string, severity: string]>, policyOverrides?: Record<string, unknown>];

const subscriptions = [SUB_ID, S2.slice(15), S3.slice(15)].map((subscriptionId) => ({ subscriptionId, managementGroups: ["mg-corp", "tenant-root"] }));
const run = (grants: Grant[], overrides: Record<string, unknown> = {}) => {
  const items: Array<[ReturnType<typeof assignment>, PrincipalStatus]> = grants.map(([role, scope, principal, status], n) => [
    assignment(`h${n}`, role, principal ?? HOLDER, scope),
    status ?? UNKNOWN,
  ]);
  const sweepIndex = exposureIndex(
    { identities: [critical, high, medium, plain], attachments: [VM, VMSS, SITE, SLOT, AUTOMATION, LOGIC, CONTAINER_APP, UNRELATED_VM], roleDefinitions: roles, subscriptions },
    [...grades, ...items],
  );
  return runRule(rule, sweepIndex, policy(overrides));
};

describe("privileged-identity-exposed", () => {
  const invalid: Case[] = [
    ["Managed Identity Operator on the identity itself", [[MI_OPERATOR, critical.id]], [[critical.id, HOLDER, "critical"]]],
    ["Managed Identity Operator at the resource group (inherited; both graded identities)", [[MI_OPERATOR, RG]], [[critical.id, HOLDER, "critical"], [high.id, HOLDER, "high"]]],
    ["Managed Identity Operator at the subscription", [[MI_OPERATOR, S]], [[critical.id, HOLDER, "critical"], [high.id, HOLDER, "high"]]],
    ["Managed Identity Operator at a management group in the chain", [[MI_OPERATOR, MG("mg-corp")]], [[critical.id, HOLDER, "critical"], [high.id, HOLDER, "high"]]],
    ["Managed Identity Operator at the tenant root group", [[MI_OPERATOR, MG("tenant-root")]], [[critical.id, HOLDER, "critical"], [high.id, HOLDER, "high"]]],
    ["Managed Identity Operator at the root scope /", [[MI_OPERATOR, "/"]], [[critical.id, HOLDER, "critical"], [high.id, HOLDER, "high"]]],
    ["Managed Identity Contributor can federate", [[MI_CONTRIBUTOR, critical.id]], [[critical.id, HOLDER, "critical"]]],
    ["custom role: notActions remove assign, federate remains", [["c-fic-only", critical.id]], [[critical.id, HOLDER, "critical"]]],
    ["custom role: a second entry does not undo the first entry's notActions, federate remains", [["c-two-entries", critical.id]], [[critical.id, HOLDER, "critical"]]],
    ["Contributor at the subscription is less than critical, and does not contain the high identity's grant", [[CONTRIBUTOR, S]], [[critical.id, HOLDER, "critical"], [high.id, HOLDER, "high"]]],
    ["Contributor at the resource group (medium) over both", [[CONTRIBUTOR, RG]], [[critical.id, HOLDER, "critical"], [high.id, HOLDER, "high"]]],
    ["custom * without ManagedIdentity still runs code on every attached type", [["c-star-no-mi", RG]], [[critical.id, HOLDER, "critical"]]],
    ["VM runCommand/action on the VM", [["c-run", VM.id]], [[critical.id, HOLDER, "critical"]]],
    ["VM runCommands/write at the resource group", [["c-runs", RG]], [[critical.id, HOLDER, "critical"]]],
    ["VM extensions/write", [["c-ext", VM.id]], [[critical.id, HOLDER, "critical"]]],
    ["VMSS write", [["c-vmss", VMSS.id]], [[critical.id, HOLDER, "critical"]]],
    ["VMSS extensions/write", [["c-vmss-ext", VMSS.id]], [[critical.id, HOLDER, "critical"]]],
    ["VMSS VM runCommand", [["c-vmss-run", VMSS.id]], [[critical.id, HOLDER, "critical"]]],
    ["web app write", [["c-site", SITE.id]], [[critical.id, HOLDER, "critical"]]],
    ["web app config/write", [["c-site-config", SITE.id]], [[critical.id, HOLDER, "critical"]]],
    ["slot: slots/write on the parent site", [["c-slot", `${RG}/providers/Microsoft.Web/sites/app2`]], [[critical.id, HOLDER, "critical"]]],
    ["automation runbooks/write", [["c-runbook", AUTOMATION.id]], [[critical.id, HOLDER, "critical"]]],
    ["automation jobs/write", [["c-job", AUTOMATION.id]], [[critical.id, HOLDER, "critical"]]],
    ["logic app write", [["c-logic", LOGIC.id]], [[critical.id, HOLDER, "critical"]]],
    ["container app write", [["c-ca", CONTAINER_APP.id]], [[critical.id, HOLDER, "critical"]]],
    ["a pipeline acting outside its scopes is a holder", [[MI_OPERATOR, critical.id]], [[critical.id, HOLDER, "critical"]], { approvedPipelines: [{ name: "p", objectId: HOLDER, scopes: [OTHER_RG] }] }],
    ["a pipeline in scope for assign is still a holder for run code outside its scopes", [[MI_OPERATOR, RG], ["c-run", VM.id]], [[critical.id, HOLDER, "critical"]], {
      approvedPipelines: [{ name: "p", objectId: HOLDER, scopes: [`${RG}/providers/Microsoft.ManagedIdentity`] }],
    }],
    ["a directory lookup that failed does not exclude", [[MI_OPERATOR, critical.id, HOLDER, UNKNOWN]], [[critical.id, HOLDER, "critical"]]],
    ["Owner at another subscription is not as privileged", [[OWNER, "/subscriptions/44444444-4444-4444-4444-444444444444"], [MI_OPERATOR, critical.id]], [[critical.id, HOLDER, "critical"]]],
  ];
  const valid: Case[] = [
    ["Managed Identity Operator in another resource group", [[MI_OPERATOR, OTHER_RG]], []],
    ["Managed Identity Operator at a storage account (no identity lies below another resource)", [[MI_OPERATOR, `${RG}/providers/Microsoft.Storage/storageAccounts/st1`]], []],
    ["Owner of a VM extension (a child of the VM does not contain the VM)", [[OWNER, `${VM.id}/extensions/ext1`]], []],
    ["Managed Identity Operator at a management group not in the chain", [[MI_OPERATOR, MG("mg-other")]], []],
    ["Reader at the subscription", [[READER, S]], []],
    ["custom */read", [["c-read", S]], []],
    ["the identity's own principal (still a holder over the other identity)", [[MI_OPERATOR, RG, critical.principalId, FOUND_MI]], [[high.id, critical.principalId, "high"]]],
    ["another identity's principal is a holder", [[MI_OPERATOR, RG, medium.principalId, FOUND_MI]], [[critical.id, medium.principalId, "critical"], [high.id, medium.principalId, "high"]]],
    ["run-code on a resource the identity is not attached to", [["c-run", UNRELATED_VM.id]], []],
    ["run-code action for another resource type", [["c-logic", VM.id]], []],
    ["approved pipeline by object id whose scopes contain the identity", [[MI_OPERATOR, critical.id]], [], { approvedPipelines: [{ name: "p", objectId: HOLDER, scopes: [RG] }] }],
    ["approved pipeline by app id, default scopes", [[MI_OPERATOR, critical.id, HOLDER, FOUND_APP]], [], { approvedPipelines: [{ name: "p", appId: APP }] }],
    ["approved pipeline with a management-group scope", [[MI_OPERATOR, critical.id]], [], { approvedPipelines: [{ name: "p", objectId: HOLDER, scopes: [MG("mg-corp")] }] }],
    ["self.objectId", [[MI_OPERATOR, critical.id]], [], { self: { objectId: HOLDER } }],
    ["protected.principals", [[MI_OPERATOR, critical.id]], [], { protected: { principals: [HOLDER.toUpperCase()] } }],
    ["a principal the directory lookup found missing", [[MI_OPERATOR, critical.id, HOLDER, MISSING]], []],
    ["already as privileged: Owner at the critical identity's subscription (not at the high one's)", [[OWNER, S2], [MI_OPERATOR, RG]], [[high.id, HOLDER, "high"]]],
    ["already as privileged: Owner at a management group above", [[OWNER, MG("tenant-root")], [MI_OPERATOR, RG]], []],
    ["already as privileged for the high identity only: Contributor at the subscription", [[CONTRIBUTOR, S3], [MI_OPERATOR, high.id]], []],
    ["medium and ungraded identities are not evaluated", [[MI_OPERATOR, medium.id], [MI_OPERATOR, plain.id], ["c-run", UNRELATED_VM.id]], []],
  ];
  it.each([...invalid, ...valid])("%s", (_name, grants, expected, overrides) => {
    const drafts = run(grants, overrides);
    expect(keys(drafts).map(([ruleId, subject, related, severity]) => [ruleId, subject, related?.toLowerCase(), severity])).toEqual(
      expected.map(([identityId, holder, severity]) => ["privileged-identity-exposed", identityId, holder.toLowerCase(), severity]),
    );
  });

  it("hands the sweep the same drafts one at a time (evaluateEach) as evaluate returns", () => {
    const sweepIndex = exposureIndex(
      { identities: [critical, high, medium, plain], attachments: [VM, VMSS, SITE, SLOT, AUTOMATION, LOGIC, CONTAINER_APP, UNRELATED_VM], roleDefinitions: roles, subscriptions },
      [...grades, [assignment("h-op", MI_OPERATOR, HOLDER, RG), UNKNOWN], [assignment("h-run", "c-run", HOLDER, VM.id), UNKNOWN]],
    );
    const emitted: unknown[] = [];
    rule.evaluateEach?.(sweepIndex, policy(), (draft) => emitted.push(draft));
    expect(emitted.length).toBe(2);
    expect(emitted).toEqual(rule.evaluate(sweepIndex, policy()));
  });

  it("a directory answer that arrives after a first evaluation counts (the inventory looks holders up afterwards)", () => {
    const sweepIndex = exposureIndex({ identities: [critical], roleDefinitions: roles, subscriptions }, [grades[0]!, [assignment("h-late", MI_OPERATOR, HOLDER, critical.id), UNKNOWN]]);
    const pipelinePolicy = policy({ approvedPipelines: [{ name: "p", appId: APP }] });
    const collector = sweepIndex.inventory.exposure!;
    expect(exposureOf(critical, collector, [], sweepIndex.scopeTree, pipelinePolicy)?.holders.map((entry) => entry.principalId)).toEqual([HOLDER]);
    collector.setStatus(HOLDER, FOUND_APP);
    expect(exposureOf(critical, collector, [], sweepIndex.scopeTree, pipelinePolicy)?.holders).toEqual([]);
    collector.setStatus(HOLDER, MISSING);
    expect(exposureOf(critical, collector, [], sweepIndex.scopeTree, policy())?.holders).toEqual([]);
  });

  it("Owner of the VM the identity is attached to can run code there and grant itself more there, and assign nothing", () => {
    const drafts = run([[OWNER, VM.id], [MI_OPERATOR, VM.id]]);
    const id = `${VM.id}/providers/Microsoft.Authorization/roleAssignments/h0`;
    expect(drafts.map((draft) => draft.evidence["rights"])).toEqual([
      [
        { right: "grant", roleName: "Owner", scope: VM.id, roleAssignmentId: id, resourceId: VM.id },
        { right: "run-code", roleName: "Owner", scope: VM.id, roleAssignmentId: id, resourceId: VM.id },
      ],
    ]);
  });

  it("lists each right with role name, scope, the assignment and, for run code, the resource", () => {
    const drafts = run([[MI_OPERATOR, RG], ["c-run", VM.id], ["c-fic-only", critical.id]]);
    const draft = drafts.find((item) => item.subjectId === critical.id);
    const ra = (scope: string, name: string) => `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;
    expect(draft?.evidence["rights"]).toEqual([
      { right: "assign", roleName: "Managed Identity Operator", scope: RG, roleAssignmentId: ra(RG, "h0") },
      { right: "federate", roleName: "custom-c-fic-only", scope: critical.id, roleAssignmentId: ra(critical.id, "h2") },
      { right: "run-code", roleName: "custom-c-run", scope: VM.id, roleAssignmentId: ra(VM.id, "h1"), resourceId: VM.id },
    ]);
    const cli = rule.meta.remediation(draft ?? drafts[0]!).cli;
    expect(cli).toContain(`az role assignment delete --ids ${ra(RG, "h0")}`);
  });
});

describe("privileged-identity-exposed: the run-code table (shared/rules/lib/runCode.ts), each action of each type", () => {
  const target = identity("id-target");
  const cases = RUN_CODE_ACTIONS.flatMap(([type, actions]) => actions.map((action) => [type, action] as const));
  it.each(cases)("%s: %s", (type, action) => {
    const attached = resource("r1", [target.id], { id: `${RG}/providers/${type}/r1`, type });
    const role = customRole("c-one", [{ actions: [action] }]);
    const sweepIndex = exposureIndex({ identities: [target], attachments: [attached], roleDefinitions: [role], subscriptions }, [
      [assignment("g", OWNER, target.principalId, S2), FOUND_MI],
      [assignment("h", "c-one", HOLDER, RG), UNKNOWN],
    ]);
    const drafts = runRule(rule, sweepIndex, policy());
    expect(drafts.map((draft) => draft.evidence["rights"])).toEqual([[expect.objectContaining({ right: "run-code", resourceId: attached.id })]]);
  });
});

describe("privileged-identity-exposed: grant, groups, eligibility", () => {
  const UAA = BUILT_IN_ROLES.userAccessAdministrator;
  const RBAC = BUILT_IN_ROLES.rbacAdministrator;
  const readerOnly = `((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${READER}}))`;
  const operatorOnly = readerOnly.replace(READER, MI_OPERATOR);
  const contributorOnly = readerOnly.replace(READER, CONTRIBUTOR);
  const grants = (items: Array<[string, string, Record<string, unknown>?]>) => items.map(([role, scope, extra], n) => [assignment(`x${n}`, role, HOLDER, scope, extra ?? {}), UNKNOWN] as [ReturnType<typeof assignment>, PrincipalStatus]);
  const rightsOf = (items: Array<[string, string, Record<string, unknown>?]>) =>
    runRule(rule, exposureIndex({ identities: [critical], attachments: [VM], roleDefinitions: roles, subscriptions }, [grades[0]!, ...grants(items)]), policy()).map((draft) => (draft.evidence["rights"] as Array<{ right: string; condition?: string }>).map((right) => `${right.right}${right.condition ? ` (${right.condition})` : ""}`));

  it.each<[string, Array<[string, string, Record<string, unknown>?]>, string[][]]>([
    ["User Access Administrator at the resource group: grant", [[UAA, RG]], [["grant"]]],
    ["RBAC Administrator at the subscription: grant", [[RBAC, S]], [["grant"]]],
    ["RBAC Administrator limited to Reader: nothing", [[RBAC, S, { condition: readerOnly }]], []],
    ["RBAC Administrator limited to Managed Identity Operator: grant (for assign)", [[RBAC, RG, { condition: operatorOnly }]], [["grant (may grant only Managed Identity Operator)"]]],
    ["RBAC Administrator limited to Contributor: grant", [[RBAC, RG, { condition: contributorOnly }]], [["grant (may grant only Contributor)"]]],
    ["RBAC Administrator with a condition not understood: grant", [[RBAC, RG, { condition: "@Resource[x:y] StringEquals 'z'" }]], [["grant (not understood)"]]],
    ["a custom * role without the identity actions: grant, and run code", [["c-star-grant", RG]], [["grant", "run-code"]]],
    ["RBAC Administrator on the VM only (limited to Reader): nothing", [[RBAC, VM.id, { condition: readerOnly }]], []],
    ["RBAC Administrator on the VM: grant for that resource", [[RBAC, VM.id]], [["grant"]]],
  ])("%s", (_name, items, expected) => {
    expect(rightsOf(items)).toEqual(expected);
  });

  it("a group is a holder with its acting members; excluded or no members: not a holder; unknown members: a holder", () => {
    const group = "99999999-0000-4000-8000-0000000000aa";
    const run = (members: Array<{ id: string; type: string }> | undefined, overrides: Record<string, unknown> = {}) =>
      runRule(rule, exposureIndex({ identities: [critical], roleDefinitions: roles, subscriptions }, [grades[0]!, [assignment("grp", MI_OPERATOR, group, RG, { principalType: "Group" }), UNKNOWN]], { groups: { [group]: members } }), policy(overrides));
    const [held] = run([{ id: "u1", type: "User" }, { id: "nested", type: "Group" }, { id: "sp1", type: "ServicePrincipal" }]);
    expect(held?.relatedId).toBe(group);
    expect(held?.evidence["members"]).toEqual([{ id: "sp1", displayName: null, type: "ServicePrincipal" }, { id: "u1", displayName: null, type: "User" }]);
    expect(held?.evidence["memberCount"]).toBe(2);
    expect(run([])).toEqual([]);
    expect(run([{ id: critical.principalId, type: "ServicePrincipal" }])).toEqual([]);
    expect(run([{ id: "11111111-0000-4000-8000-0000000000bb", type: "User" }], { protected: { principals: ["11111111-0000-4000-8000-0000000000bb"] } })).toEqual([]);
    expect(run(undefined)[0]?.evidence["membersUnknown"]).toBe(true);
  });

  it("a PIM-eligible assignment gives the same rights, marked eligible; it does not make its holder as privileged", () => {
    const eligibility = { id: `${S}/providers/Microsoft.Authorization/roleEligibilityScheduleInstances/e1`, scope: S, roleDefinitionId: `${S}/providers/Microsoft.Authorization/roleDefinitions/${OWNER}`, principalId: HOLDER, principalType: "User", principalDisplayName: "Hol Der" };
    const drafts = runRule(rule, exposureIndex({ identities: [critical], roleDefinitions: roles, subscriptions }, [[assignment("g", OWNER, critical.principalId, S), FOUND_MI]], { eligibilities: [eligibility] }), policy());
    expect(drafts.map((draft) => [draft.relatedId, draft.evidence["displayName"]])).toEqual([[HOLDER, "Hol Der"]]);
    expect((drafts[0]?.evidence["rights"] as Array<{ eligible?: boolean }>).every((right) => right.eligible === true)).toBe(true);
  });
});
