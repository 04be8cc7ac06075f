import { describe, expect, it } from "vitest";
import { azuriteTargets } from "../helpers/azuriteTargets.js";
import { seedEventStores } from "../../local/seed.js";
import { policySchema } from "../../shared/config/policy.js";
import { collectInventory } from "../../shared/engine/inventory.js";
import { eventDependencies } from "../../shared/composition.js";
import { replayEvents } from "../../shared/engine/replay.js";
import { runSweep } from "../../shared/engine/sweep.js";
import { emptyEstate, identityResource, SUB, TENANT } from "../helpers/estate.js";

/**
 * Planted exposure through the emulator (real SDK clients over HTTPS): operators at resource-group and
 * management-group scope, Contributor, a custom wildcard role with notActions, VM run command, an approved
 * pipeline, an already-as-privileged holder, a deleted holder; federated credentials with a look-alike issuer,
 * a pull_request subject and a flexible expression.
 */
const S = `/subscriptions/${SUB}`;
const RG = `${S}/resourceGroups/rg-app`;
const MG = "/providers/Microsoft.Management/managementGroups/mg-corp";
const ROLE = (guid: string) => `${S}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
const OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
const CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c";
const MI_OPERATOR = "f1a07417-d97a-45cb-824c-7a7467783830";
const CUSTOM_OPS = "c0000000-0000-4000-8000-00000000c001";
const CUSTOM_RUN = "c0000000-0000-4000-8000-00000000c002";
const p = (n: number) => `a0000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
const CRIT = identityResource("id-crit", p(1), p(101), { owner: "a", environment: "prod" });
const PLAIN = identityResource("id-plain", p(2), p(102), { owner: "a", environment: "prod" });
const VM = `${RG}/providers/Microsoft.Compute/virtualMachines/vm1`;
const OPERATOR_RG = p(11);
const OPERATOR_MG = p(12);
const CONTRIB = p(13);
const OPS = p(14);
const RUNNER = p(15);
const PIPELINE = p(16);
const OWNER_SUB = p(17);
const DELETED = p(18);
const USER = p(19);
const OPERATOR_MEMBER = p(20);
const PIPELINE_APP = "99999999-0000-4000-8000-000000000042";

function assignment(n: number, scope: string, role: string, principalId: string, principalType = "User") {
  const name = `b0000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
  return { id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`, name, type: "Microsoft.Authorization/roleAssignments", properties: { scope, roleDefinitionId: ROLE(role), principalId, principalType, createdOn: "2026-01-01T00:00:00Z" } };
}

function estate() {
  const user = (id: string, name: string) => ({ id, "@odata.type": "#microsoft.graph.user", displayName: name });
  return emptyEstate({
    subscriptions: [{ subscriptionId: SUB, displayName: "prod", managementGroupAncestorsChain: [{ name: "mg-corp", displayName: "Corp" }, { name: TENANT, displayName: "Tenant Root Group" }] }],
    resources: [
      CRIT,
      PLAIN,
      { id: VM, name: "vm1", type: "Microsoft.Compute/virtualMachines", location: "uksouth", tags: { environment: "prod" }, identity: { type: "UserAssigned", userAssignedIdentities: { [CRIT.id]: { principalId: p(1), clientId: p(101) } } } },
    ],
    directory: [
      { id: p(1), "@odata.type": "#microsoft.graph.servicePrincipal", displayName: "id-crit", servicePrincipalType: "ManagedIdentity", appId: p(101) },
      { id: p(2), "@odata.type": "#microsoft.graph.servicePrincipal", displayName: "id-plain", servicePrincipalType: "ManagedIdentity", appId: p(102) },
      user(OPERATOR_RG, "operator-rg"),
      { id: OPERATOR_MG, "@odata.type": "#microsoft.graph.group", displayName: "operators" },
      user(CONTRIB, "contributor"),
      user(OPS, "ops"),
      user(RUNNER, "runner"),
      { id: PIPELINE, "@odata.type": "#microsoft.graph.servicePrincipal", displayName: "deploy", servicePrincipalType: "Application", appId: PIPELINE_APP },
      user(OWNER_SUB, "owner"),
      user(USER, "someone"),
      user(OPERATOR_MEMBER, "op-member"),
    ],
    // The group at the management group has a member who can act through it (an empty group would not be a holder).
    groups: [{ id: OPERATOR_MG, displayName: "operators", members: [OPERATOR_MEMBER] }],
    roleDefinitions: [
      { id: ROLE(CUSTOM_OPS), name: CUSTOM_OPS, properties: { roleName: "Ops", type: "CustomRole", permissions: [{ actions: ["*"], notActions: ["Microsoft.Authorization/*", "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action"], dataActions: [], notDataActions: [] }], assignableScopes: [S] } },
      { id: ROLE(CUSTOM_RUN), name: CUSTOM_RUN, properties: { roleName: "Runner", type: "CustomRole", permissions: [{ actions: ["Microsoft.Compute/virtualMachines/runCommand/action"], notActions: [], dataActions: [], notDataActions: [] }], assignableScopes: [S] } },
    ],
    roleAssignments: [
      assignment(1, S, OWNER, p(1), "ServicePrincipal"),
      assignment(2, RG, MI_OPERATOR, OPERATOR_RG),
      assignment(3, MG, MI_OPERATOR, OPERATOR_MG, "Group"),
      assignment(4, S, CONTRIBUTOR, CONTRIB),
      assignment(5, RG, CUSTOM_OPS, OPS),
      assignment(6, VM, CUSTOM_RUN, RUNNER),
      assignment(7, S, MI_OPERATOR, PIPELINE, "ServicePrincipal"),
      assignment(8, S, OWNER, OWNER_SUB),
      assignment(9, RG, MI_OPERATOR, OWNER_SUB),
      assignment(10, RG, MI_OPERATOR, DELETED),
    ],
    federatedCredentials: [
      { id: `${CRIT.id}/federatedIdentityCredentials/lookalike`, name: "lookalike", properties: { issuer: "https://token.actions.githubusercontent.com.evil.example", subject: "repo:contoso/app:environment:prod", audiences: ["api://AzureADTokenExchange"] } },
      { id: `${CRIT.id}/federatedIdentityCredentials/pr`, name: "pr", properties: { issuer: "https://token.actions.githubusercontent.com", subject: "repo:contoso/app:pull_request", audiences: ["api://AzureADTokenExchange"] } },
      { id: `${PLAIN.id}/federatedIdentityCredentials/flex`, name: "flex", properties: { issuer: "https://token.actions.githubusercontent.com", claimsMatchingExpression: { value: "claims['sub'] matches 'repo:contoso/*'", languageVersion: 1 }, audiences: ["api://AzureADTokenExchange"] } },
      { id: `${PLAIN.id}/federatedIdentityCredentials/aks`, name: "aks", properties: { issuer: "https://uksouth.oic.prod-aks.azure.com/t/c/", subject: "system:serviceaccount:app:app", audiences: ["api://AzureADTokenExchange"] } },
    ],
  });
}

const POLICY = policySchema.parse({ approvedPipelines: [{ name: "deploy", appId: PIPELINE_APP, scopes: [S] }], federation: { subjects: { githubOwners: ["contoso"] } } });
const NEW_RULES = new Set(["privileged-identity-exposed", "federated-credential-untrusted-issuer", "federated-credential-risky-subject", "identity-assign-right-granted", "federated-credential-untrusted-subject"]);
const ra = (n: number, scope: string) => `${scope}/providers/Microsoft.Authorization/roleAssignments/b0000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
const keys = (findings: Array<{ ruleId: string; subjectId: string; relatedId?: string; severity: string }>) =>
  findings.filter((finding) => NEW_RULES.has(finding.ruleId)).map((finding) => [finding.ruleId, finding.subjectId, finding.relatedId ?? null, finding.severity]).sort();

const targets = azuriteTargets();

describe("exposure and federation through the emulator", () => {
  it("the sweep reports exactly the planted holders and credentials", async () => {
    const target = await targets.start(estate());
    const report = await runSweep(target.clients, POLICY);
    expect(keys(report.findings)).toEqual(
      [
        ["federated-credential-risky-subject", `${CRIT.id}/federatedIdentityCredentials/pr`, CRIT.id, "high"],
        ["federated-credential-risky-subject", `${PLAIN.id}/federatedIdentityCredentials/flex`, PLAIN.id, "medium"],
        ["federated-credential-untrusted-issuer", `${CRIT.id}/federatedIdentityCredentials/lookalike`, CRIT.id, "high"],
        // An AKS issuer that is no cluster of the estate (PLAIN has no grade: medium).
        ["federated-credential-untrusted-subject", `${PLAIN.id}/federatedIdentityCredentials/aks`, PLAIN.id, "medium"],
        ["privileged-identity-exposed", CRIT.id, OPERATOR_RG, "critical"],
        ["privileged-identity-exposed", CRIT.id, OPERATOR_MG, "critical"],
        ["privileged-identity-exposed", CRIT.id, CONTRIB, "critical"],
        ["privileged-identity-exposed", CRIT.id, OPS, "critical"],
        ["privileged-identity-exposed", CRIT.id, RUNNER, "critical"],
      ].sort(),
    );
    const ops = report.findings.find((finding) => finding.ruleId === "privileged-identity-exposed" && finding.relatedId === OPS);
    expect(ops?.evidence["rights"]).toEqual([
      { right: "federate", roleName: "Ops", scope: RG, roleAssignmentId: ra(5, RG) },
      { right: "run-code", roleName: "Ops", scope: RG, roleAssignmentId: ra(5, RG), resourceId: VM },
    ]);
    const group = report.findings.find((finding) => finding.ruleId === "privileged-identity-exposed" && finding.relatedId === OPERATOR_MG);
    expect(group?.evidence).toMatchObject({ displayName: "operators", principalType: "Group", members: [{ id: OPERATOR_MEMBER, displayName: "op-member", type: "User" }], memberCount: 1 });
    expect(group?.title).toBe("operators (Group) can act as critical identity id-crit");
  });

  it("the inventory carries grade and exposure per identity", async () => {
    const target = await targets.start(estate());
    const inventory = await collectInventory(target.clients, { policy: POLICY });
    const crit = inventory.identities.find((identity) => identity.name === "id-crit");
    const plain = inventory.identities.find((identity) => identity.name === "id-plain");
    expect(crit?.grade).toBe("critical");
    expect(plain).toMatchObject({ grade: null, gradeReasons: [], exposure: [] });
    expect(crit?.gradeReasons).toEqual([expect.objectContaining({ kind: "role-assignment", roleAssignmentId: ra(1, S), roleName: "Owner", scope: S, grade: "critical" })]);
    // The group and, listed on its own with viaGroup, its member.
    expect(new Set(crit?.exposure.map((entry) => entry.principalId))).toEqual(new Set([OPERATOR_RG, OPERATOR_MG, OPERATOR_MEMBER, CONTRIB, OPS, RUNNER]));
    expect(crit?.exposure).toContainEqual({ principalId: OPERATOR_MG, principalType: "Group", displayName: "operators", right: "assign", roleName: "Managed Identity Operator", scope: MG, roleAssignmentId: ra(3, MG) });
    expect(crit?.exposure).toContainEqual({ principalId: OPERATOR_MEMBER, principalType: "User", displayName: "op-member", right: "assign", roleName: "Managed Identity Operator", scope: MG, roleAssignmentId: ra(3, MG), viaGroup: OPERATOR_MG });
    expect(crit?.exposure).toContainEqual({ principalId: RUNNER, principalType: "User", displayName: "runner", right: "run-code", roleName: "Runner", scope: VM, roleAssignmentId: ra(6, VM), resourceId: VM });
  });

  it("a manual Managed Identity Operator grant over the critical identity is reported from the catalog's grades", async () => {
    const planted = estate();
    const grant = assignment(20, RG, MI_OPERATOR, USER);
    const harmless = assignment(21, `${S}/resourceGroups/rg-other`, MI_OPERATOR, USER);
    planted.roleAssignments.push(grant as never, harmless as never);
    const target = await targets.start(planted);
    const deps = eventDependencies(target.clients, POLICY);
    await seedEventStores(planted, deps);
    const claims = { appid: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "http://schemas.microsoft.com/identity/claims/objectidentifier": "dddddddd-0000-0000-0000-0000000000bb", "http://schemas.microsoft.com/identity/claims/scope": "user_impersonation" };
    const event = (id: string, resourceUri: string) => ({ id, eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: "2026-11-20T10:00:00Z", subject: resourceUri, dataVersion: "2", metadataVersion: "1", data: { operationName: "Microsoft.Authorization/roleAssignments/write", resourceUri, status: "Succeeded", subscriptionId: SUB, claims } });
    const report = await replayEvents([event("g1", grant.id), event("g2", harmless.id)], deps);
    expect(keys(report.findings)).toEqual([["identity-assign-right-granted", grant.id, CRIT.id, "critical"]]);
  });
});
