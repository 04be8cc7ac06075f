import { defaultPolicy, policySchema, type Policy } from "../../shared/config/policy.js";
import type { AksCluster, AppRoleGrant, AttachedResource, DirectoryRoleGrant, FederatedCredential, GroupMember, Identity, RoleAssignment, RoleDefinition, RoleEligibility, Subscription } from "../../shared/model.js";
import { ScopeTree } from "../../shared/rules/lib/scopes.js";
import { buildSweepIndex, exposureCollectorFor, type SweepIndex } from "../../shared/rules/lib/sweepIndex.js";
import type { FindingDraft, PrincipalStatus, SweepRule } from "../../shared/rules/types.js";

export const NOW = new Date("2026-11-20T12:00:00Z");
export const S = "/subscriptions/11111111-1111-1111-1111-111111111111";
export const RG = `${S}/resourceGroups/rg-app`;

export function identity(name: string, overrides: Partial<Identity> = {}): Identity {
  return {
    id: `${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`,
    name,
    subscriptionId: "11111111-1111-1111-1111-111111111111",
    resourceGroup: "rg-app",
    location: "uksouth",
    tags: { owner: "team-a", environment: "prod" },
    principalId: `p-${name}`,
    clientId: `c-${name}`,
    tenantId: "t",
    ...overrides,
  };
}

export function resource(name: string, identityIds: string[], overrides: Partial<AttachedResource> = {}): AttachedResource {
  const resourceGroup = overrides.resourceGroup ?? "rg-app";
  return {
    id: `${S}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/virtualMachines/${name}`,
    name,
    type: "Microsoft.Compute/virtualMachines",
    subscriptionId: "11111111-1111-1111-1111-111111111111",
    resourceGroup,
    tags: { environment: "prod" },
    identityType: "UserAssigned",
    userAssignedIdentityIds: identityIds,
    ...overrides,
  };
}

export function assignment(name: string, roleGuid: string, principalId: string, scope: string = S, overrides: Partial<RoleAssignment> = {}): RoleAssignment {
  return {
    id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`,
    scope,
    roleDefinitionId: `${S}/providers/Microsoft.Authorization/roleDefinitions/${roleGuid}`,
    principalId,
    principalType: "ServicePrincipal",
    createdOn: "2026-01-01T00:00:00Z",
    ...overrides,
  };
}

export interface IndexInput {
  identities?: Identity[];
  attachments?: AttachedResource[];
  roleDefinitions?: RoleDefinition[];
  federatedCredentials?: FederatedCredential[];
  assignmentsByPrincipal?: Record<string, number>;
  lastSignIns?: Record<string, string>;
  subscriptionsInScope?: string[];
}

export function index(input: IndexInput = {}): SweepIndex {
  return buildSweepIndex({
    now: NOW,
    identities: input.identities ?? [],
    attachments: input.attachments ?? [],
    roleDefinitions: input.roleDefinitions ?? [],
    federatedCredentials: input.federatedCredentials ?? [],
    assignmentsByPrincipal: new Map(Object.entries(input.assignmentsByPrincipal ?? {}).map(([key, value]) => [key.toLowerCase(), value])),
    subscriptionsInScope: new Set(input.subscriptionsInScope ?? ["11111111-1111-1111-1111-111111111111"]),
    ...(input.lastSignIns
      ? { lastSignIns: new Map(Object.entries(input.lastSignIns).map(([key, value]) => [key.toLowerCase(), new Date(value)])) }
      : {}),
  });
}

export function policy(overrides: Record<string, unknown> = {}): Policy {
  return Object.keys(overrides).length === 0 ? defaultPolicy() : policySchema.parse(overrides);
}

/** (ruleId, subjectId, relatedId, severity) tuples: what tests compare, never prose. */
export function keys(drafts: FindingDraft[]): Array<[string, string, string | undefined, string]> {
  return drafts.map((draft) => [draft.ruleId, draft.subjectId, draft.relatedId, draft.severity]);
}

export function runRule(rule: SweepRule, sweepIndex: SweepIndex, rulePolicy: Policy, assignments: Array<[RoleAssignment, PrincipalStatus]> = []): FindingDraft[] {
  if (rule.kind === "inventory") return rule.evaluate(sweepIndex, rulePolicy);
  return assignments.flatMap(([item, principal]) => {
    const draft = rule.evaluate(item, principal, sweepIndex, rulePolicy);
    return draft ? [draft] : [];
  });
}

export const FOUND_MI: PrincipalStatus = { state: "found", object: { id: "x", odataType: "#microsoft.graph.servicePrincipal", servicePrincipalType: "ManagedIdentity" } };
export const FOUND_USER: PrincipalStatus = { state: "found", object: { id: "x", odataType: "#microsoft.graph.user" } };
export const MISSING: PrincipalStatus = { state: "missing" };
export const UNKNOWN: PrincipalStatus = { state: "unknown" };

/** What a sweep reads beside role assignments (privilegeReads.ts), for rules tested without I/O. */
export interface PrivilegeInput {
  eligibilities?: RoleEligibility[];
  directoryRoles?: DirectoryRoleGrant[];
  appRoles?: AppRoleGrant[];
  /** Group id → transitive members; `undefined` members: Graph could not list them. */
  groups?: Record<string, GroupMember[] | undefined>;
  aksClusters?: AksCluster[];
}

/** An index whose exposure collector was fed these assignments (as the sweep feeds it while streaming). */
export function exposureIndex(input: IndexInput & { subscriptions?: Subscription[] }, assignments: Array<[RoleAssignment, PrincipalStatus]>, privilege: PrivilegeInput = {}): SweepIndex {
  const sweepIndex = index(input);
  sweepIndex.inventory.subscriptions = input.subscriptions ?? [];
  sweepIndex.scopeTree = new ScopeTree(input.subscriptions ?? []);
  const collector = exposureCollectorFor(sweepIndex);
  for (const [item, principal] of assignments) collector.add(item, principal);
  for (const eligibility of privilege.eligibilities ?? []) collector.addEligibility(eligibility);
  collector.addDirectoryRoles(privilege.directoryRoles ?? []);
  collector.addAppRoles(privilege.appRoles ?? []);
  for (const [groupId, members] of Object.entries(privilege.groups ?? {})) collector.setGroupMembers(groupId, members);
  if (privilege.aksClusters) sweepIndex.inventory.aksClusters = privilege.aksClusters;
  sweepIndex.inventory.exposure = collector;
  return sweepIndex;
}

export function customRole(guid: string, permissions: Array<{ actions: string[]; notActions?: string[] }>, roleName = `custom-${guid}`): RoleDefinition {
  const entries = permissions.map((entry) => ({ actions: entry.actions, notActions: entry.notActions ?? [], dataActions: [], notDataActions: [] }));
  return { id: `${S}/providers/Microsoft.Authorization/roleDefinitions/${guid}`, name: guid, roleName, roleType: "CustomRole", permissions: entries };
}
