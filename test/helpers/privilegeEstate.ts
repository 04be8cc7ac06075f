import { policySchema, type Policy } from "../../shared/config/policy.js";
import type { Estate } from "../../local/emulator/estate.js";
import { emptyEstate, identityResource, SUB, TENANT } from "./estate.js";

/**
 * A planted privilege estate (docs/rules/privileged-identity-exposed.md): every path the issue names, each with a name that
 * says what it is. Subscriptions SUB (rg-app) and SUB2 under mg-corp under the tenant root.
 */
export const SUB2 = "33333333-3333-3333-3333-333333333333";
export const S = `/subscriptions/${SUB}`;
export const S2 = `/subscriptions/${SUB2}`;
export const RG = `${S}/resourceGroups/rg-app`;
export const MG = "/providers/Microsoft.Management/managementGroups/mg-corp";
export const ROLE = (guid: string): string => `${S}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;

export const OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
export const CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c";
export const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
export const UAA = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9";
export const RBAC_ADMIN = "f58310d9-a9f6-439a-9e8d-f62e7b41a168";
export const MI_OPERATOR = "f1a07417-d97a-45cb-824c-7a7467783830";
export const MI_CONTRIBUTOR = "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59";
export const STAR_NO_MI = "c0000000-0000-4000-8000-0000000000e1";
export const ACI_RUNNER = "c0000000-0000-4000-8000-0000000000e2";
export const MISSING_ROLE = "c0000000-0000-4000-8000-0000000000e3";
export const GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10";
export const USER_ADMIN = "fe930be7-5e62-47db-91af-98c3a49a38b1";
export const GRAPH_SP = "f0000000-0000-4000-8000-00000000a9a9";
export const ROLE_MANAGEMENT_RW = "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8";

export const p = (n: number): string => `a0000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
const ra = (n: number): string => `b0000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;

export const CRIT = identityResource("id-crit", p(1), p(101), { owner: "a", environment: "prod" });
export const VIA_GROUP = identityResource("id-via-group", p(2), p(102), { owner: "a", environment: "prod" }, "rg-group");
export const ENTRA = identityResource("id-entra", p(3), p(103), { owner: "a", environment: "prod" }, "rg-entra");
export const GRAPH = identityResource("id-graph", p(4), p(104), { owner: "a", environment: "prod" }, "rg-graph");
export const PIM = identityResource("id-pim", p(5), p(105), { owner: "a", environment: "prod" }, "rg-pim");
export const AU = identityResource("id-au", p(6), p(106), { owner: "a", environment: "prod" }, "rg-other");
export const UNKNOWN_ROLE = identityResource("id-unknown-role", p(7), p(107), { owner: "a", environment: "prod" }, "rg-other");

export const ACI = `${RG}/providers/Microsoft.ContainerInstance/containerGroups/aci1`;
export const AKS = `${S}/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/aks1`;
export const AKS_ISSUER = `https://uksouth.oic.prod-aks.azure.com/${TENANT}/11111111-0000-4000-8000-00000000aaaa/`;

/** Holders (users unless said otherwise). */
export const HOLDER = {
  uaa: p(11),
  rbacReaderOnly: p(12),
  rbacOperatorOnly: p(13),
  rbacNotUnderstood: p(14),
  starNoMi: p(15),
  aciRunner: p(16),
  eligible: p(17),
  operators: p(20),
  nested: p(21),
  admins: p(22),
  excludedOnly: p(23),
  empty: p(24),
  alice: p(31),
  bob: p(32),
  carol: p(33),
  breakGlass: p(34),
} as const;

/** Ids of the planted role assignments. */
export const ASSIGNMENT = {
  critOwnerMg: `${MG}/providers/Microsoft.Authorization/roleAssignments/${ra(1)}`,
  adminsOwner: `${S}/providers/Microsoft.Authorization/roleAssignments/${ra(2)}`,
  uaa: `${RG}/providers/Microsoft.Authorization/roleAssignments/${ra(3)}`,
  rbacReaderOnly: `${RG}/providers/Microsoft.Authorization/roleAssignments/${ra(4)}`,
  rbacOperatorOnly: `${RG}/providers/Microsoft.Authorization/roleAssignments/${ra(5)}`,
  rbacNotUnderstood: `${RG}/providers/Microsoft.Authorization/roleAssignments/${ra(6)}`,
  starNoMi: `${RG}/providers/Microsoft.Authorization/roleAssignments/${ra(7)}`,
  aciRunner: `${ACI}/providers/Microsoft.Authorization/roleAssignments/${ra(8)}`,
  operators: `${RG}/providers/Microsoft.Authorization/roleAssignments/${ra(9)}`,
  excludedOnly: `${RG}/providers/Microsoft.Authorization/roleAssignments/${ra(10)}`,
  empty: `${RG}/providers/Microsoft.Authorization/roleAssignments/${ra(11)}`,
  unknownRole: `${S}/providers/Microsoft.Authorization/roleAssignments/${ra(12)}`,
} as const;
export const ELIGIBILITY = {
  pimOwner: `${S}/providers/Microsoft.Authorization/roleEligibilityScheduleInstances/${ra(21)}`,
  eligibleContributor: `${S}/providers/Microsoft.Authorization/roleEligibilityScheduleInstances/${ra(22)}`,
} as const;

const condition = (write: string): string =>
  `((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR (${write})) AND ((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR (${write.replace(/@Request/g, "@Resource")}))`;
export const READER_ONLY = condition(`@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${READER}}`);
export const OPERATOR_ONLY = condition(`@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${MI_OPERATOR}, ${READER}}`);

function assignment(id: string, scope: string, role: string, principalId: string, principalType = "User", extra: Record<string, unknown> = {}) {
  return { id, name: id.slice(id.lastIndexOf("/") + 1), type: "Microsoft.Authorization/roleAssignments", properties: { scope, roleDefinitionId: ROLE(role), principalId, principalType, createdOn: "2026-01-01T00:00:00Z", ...extra } };
}

const user = (id: string, name: string) => ({ id, "@odata.type": "#microsoft.graph.user", displayName: name });
const mi = (id: string, name: string, appId: string) => ({ id, "@odata.type": "#microsoft.graph.servicePrincipal", displayName: name, servicePrincipalType: "ManagedIdentity", appId });

export function privilegeEstate(): Estate {
  const mgChain = [{ name: "mg-corp", displayName: "Corp" }, { name: TENANT, displayName: "Tenant Root Group" }];
  return emptyEstate({
    subscriptions: [
      { subscriptionId: SUB, displayName: "prod", managementGroupAncestorsChain: mgChain },
      { subscriptionId: SUB2, displayName: "other", managementGroupAncestorsChain: mgChain },
    ],
    resources: [
      CRIT,
      VIA_GROUP,
      ENTRA,
      GRAPH,
      PIM,
      AU,
      UNKNOWN_ROLE,
      { id: ACI, name: "aci1", type: "Microsoft.ContainerInstance/containerGroups", location: "uksouth", tags: {}, identity: { type: "UserAssigned", userAssignedIdentities: { [CRIT.id]: { principalId: p(1), clientId: p(101) } } } },
      { id: AKS, name: "aks1", type: "Microsoft.ContainerService/managedClusters", location: "uksouth", tags: {}, properties: { oidcIssuerProfile: { enabled: true, issuerURL: AKS_ISSUER } } },
    ],
    directory: [
      mi(p(1), "id-crit", p(101)),
      mi(p(2), "id-via-group", p(102)),
      mi(p(3), "id-entra", p(103)),
      mi(p(4), "id-graph", p(104)),
      mi(p(5), "id-pim", p(105)),
      mi(p(6), "id-au", p(106)),
      mi(p(7), "id-unknown-role", p(107)),
      { id: GRAPH_SP, "@odata.type": "#microsoft.graph.servicePrincipal", displayName: "Microsoft Graph", servicePrincipalType: "Application", appId: "00000003-0000-0000-c000-000000000000" },
      user(HOLDER.uaa, "Uma Access"),
      user(HOLDER.rbacReaderOnly, "Rita ReaderOnly"),
      user(HOLDER.rbacOperatorOnly, "Otto OperatorOnly"),
      user(HOLDER.rbacNotUnderstood, "Nina Unclear"),
      user(HOLDER.starNoMi, "Stan Star"),
      user(HOLDER.aciRunner, "Ada Container"),
      user(HOLDER.eligible, "Eli Eligible"),
      user(HOLDER.alice, "Alice"),
      user(HOLDER.bob, "Bob"),
      user(HOLDER.carol, "Carol"),
      user(HOLDER.breakGlass, "Break Glass"),
    ],
    groups: [
      { id: HOLDER.operators, displayName: "sg-identity-operators", members: [HOLDER.alice, HOLDER.bob, HOLDER.nested] },
      { id: HOLDER.nested, displayName: "sg-nested", members: [HOLDER.carol] },
      { id: HOLDER.admins, displayName: "sg-sub-admins", members: [p(2), HOLDER.alice] },
      { id: HOLDER.excludedOnly, displayName: "sg-break-glass", members: [HOLDER.breakGlass] },
      { id: HOLDER.empty, displayName: "sg-empty", members: [] },
    ],
    roleDefinitions: [
      { id: ROLE(STAR_NO_MI), name: STAR_NO_MI, properties: { roleName: "Everything but identities", type: "CustomRole", permissions: [{ actions: ["*"], notActions: ["Microsoft.ManagedIdentity/*"], dataActions: [], notDataActions: [] }], assignableScopes: [S] } },
      { id: ROLE(ACI_RUNNER), name: ACI_RUNNER, properties: { roleName: "Container Runner", type: "CustomRole", permissions: [{ actions: ["Microsoft.ContainerInstance/containerGroups/containers/exec/action"], notActions: [], dataActions: [], notDataActions: [] }], assignableScopes: [S] } },
    ],
    roleAssignments: [
      assignment(ASSIGNMENT.critOwnerMg, MG, OWNER, p(1), "ServicePrincipal"),
      assignment(ASSIGNMENT.adminsOwner, S, OWNER, HOLDER.admins, "Group"),
      assignment(ASSIGNMENT.uaa, RG, UAA, HOLDER.uaa),
      assignment(ASSIGNMENT.rbacReaderOnly, RG, RBAC_ADMIN, HOLDER.rbacReaderOnly, "User", { condition: READER_ONLY, conditionVersion: "2.0" }),
      assignment(ASSIGNMENT.rbacOperatorOnly, RG, RBAC_ADMIN, HOLDER.rbacOperatorOnly, "User", { condition: OPERATOR_ONLY, conditionVersion: "2.0" }),
      assignment(ASSIGNMENT.rbacNotUnderstood, RG, RBAC_ADMIN, HOLDER.rbacNotUnderstood, "User", { condition: "@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] StringLike '*'", conditionVersion: "2.0" }),
      assignment(ASSIGNMENT.starNoMi, RG, STAR_NO_MI, HOLDER.starNoMi),
      assignment(ASSIGNMENT.aciRunner, ACI, ACI_RUNNER, HOLDER.aciRunner),
      assignment(ASSIGNMENT.operators, RG, MI_OPERATOR, HOLDER.operators, "Group"),
      assignment(ASSIGNMENT.excludedOnly, RG, MI_OPERATOR, HOLDER.excludedOnly, "Group"),
      assignment(ASSIGNMENT.empty, RG, MI_OPERATOR, HOLDER.empty, "Group"),
      assignment(ASSIGNMENT.unknownRole, S, MISSING_ROLE, p(7), "ServicePrincipal"),
    ],
    roleEligibilityScheduleInstances: [
      { id: ELIGIBILITY.pimOwner, properties: { scope: S, roleDefinitionId: ROLE(OWNER), principalId: p(5), principalType: "ServicePrincipal", memberType: "Direct", status: "Provisioned", condition: null, endDateTime: null } },
      { id: ELIGIBILITY.eligibleContributor, properties: { scope: S, roleDefinitionId: ROLE(MI_CONTRIBUTOR), principalId: HOLDER.eligible, principalType: "User", memberType: "Direct", status: "Provisioned", condition: null, endDateTime: null } },
    ],
    directoryRoleAssignments: [
      { id: "dra-entra-ga", principalId: p(3), roleDefinitionId: GLOBAL_ADMIN, directoryScopeId: "/" },
      { id: "dra-au-user-admin", principalId: p(6), roleDefinitionId: USER_ADMIN, directoryScopeId: "/administrativeUnits/au-1" },
    ],
    appRoleAssignments: [{ id: "ara-graph-rm", principalId: p(4), principalType: "ServicePrincipal", resourceId: GRAPH_SP, appRoleId: ROLE_MANAGEMENT_RW }],
    federatedCredentials: [
      { id: `${CRIT.id}/federatedIdentityCredentials/mallory`, name: "mallory", properties: { issuer: "https://token.actions.githubusercontent.com", subject: "repo:mallory/evil:ref:refs/heads/main", audiences: ["api://AzureADTokenExchange"] } },
      { id: `${CRIT.id}/federatedIdentityCredentials/contoso`, name: "contoso", properties: { issuer: "https://token.actions.githubusercontent.com", subject: "repo:contoso/app:environment:prod", audiences: ["api://AzureADTokenExchange"] } },
      { id: `${CRIT.id}/federatedIdentityCredentials/own-aks`, name: "own-aks", properties: { issuer: AKS_ISSUER, subject: "system:serviceaccount:app:app", audiences: ["api://AzureADTokenExchange"] } },
      { id: `${PIM.id}/federatedIdentityCredentials/foreign-aks`, name: "foreign-aks", properties: { issuer: `https://westeurope.oic.prod-aks.azure.com/99999999-0000-4000-8000-000000000000/22222222-0000-4000-8000-00000000bbbb/`, subject: "system:serviceaccount:x:y", audiences: ["api://AzureADTokenExchange"] } },
      { id: `${ENTRA.id}/federatedIdentityCredentials/foreign-tenant`, name: "foreign-tenant", properties: { issuer: "https://login.microsoftonline.com/99999999-0000-4000-8000-000000000000/v2.0", subject: "some-app", audiences: ["api://AzureADTokenExchange"] } },
    ],
  } as unknown as Partial<Estate>);
}

export const PRIVILEGE_POLICY: Policy = policySchema.parse({
  federation: { subjects: { githubOwners: ["contoso"] } },
  protected: { principals: [HOLDER.breakGlass] },
});
