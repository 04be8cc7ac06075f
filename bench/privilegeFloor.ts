import type { EstateStore } from "../local/emulator/store.js";
import { toRoleAssignment, toRoleDefinition } from "../shared/azure/estateReader.js";
import { GRAPH_PAGE_SIZE } from "../shared/azure/entra.js";
import { BATCH_LIMIT } from "../shared/azure/groupMembers.js";
import { principalTypeOf, type RoleDefinition } from "../shared/model.js";
import { ExposureCollector } from "../shared/rules/lib/exposure.js";

/** Graph pages the roleManagement listings come in when no `$top` is sent (Graph's default page, 100). */
const DEFAULT_GRAPH_PAGE = 100;

export interface PrivilegeFloor {
  /** Groups a sweep must expand: those holding a right, a grade or a directory role (the same collector decides). */
  groupsToExpand: number;
  /** `$batch` calls for them: one per 20 (no group here has more than 999 members: no second pages). */
  groupBatches: number;
  /** appRoleAssignedTo, directory role assignments, directory role eligibilities: pages of each listing. */
  graphListingPages: number;
  /** One ARM eligibility list per subscription and management group in scope. */
  eligibilityScopes: number;
}

/**
 * The privilege reads' request floor for an estate, worked out in the emulator process from the estate itself with
 * the sweep's own collector (shared/rules/lib/exposure.ts): which groups hold a right or a grade is its decision.
 */
export function privilegeFloor(store: EstateStore): PrivilegeFloor {
  const definitions = new Map<string, RoleDefinition>();
  for (const raw of store.roleDefinitions.values()) {
    const definition = toRoleDefinition({ id: raw.id, name: raw.name, roleName: raw.properties.roleName, roleType: raw.properties.type ?? "CustomRole", permissions: raw.properties.permissions });
    if (definition) definitions.set(definition.name, definition);
  }
  const identities = new Set([...store.resources.values()].filter((resource) => resource.type.toLowerCase() === "microsoft.managedidentity/userassignedidentities").map((resource) => resource.id.toLowerCase()));
  let groupsToExpand = 0;
  const collector = new ExposureCollector(definitions, { isIdentity: (key) => identities.has(key), onGroup: () => (groupsToExpand += 1) });
  for (const raw of store.roleAssignments.values()) {
    const assignment = toRoleAssignment({ id: raw.id, ...raw.properties });
    if (assignment && assignment.principalType.toLowerCase() !== "foreigngroup") collector.add(assignment, { state: "unknown" });
  }
  for (const raw of store.roleEligibilityScheduleInstances) {
    const { scope, roleDefinitionId, principalId, principalType } = raw.properties;
    collector.addEligibility({ id: raw.id, scope, roleDefinitionId, principalId, principalType: principalType ?? "" });
  }
  const typeOf = (id: string): string => principalTypeOf(store.directoryObject(id)?.["@odata.type"]);
  collector.addDirectoryRoles([...store.directoryRoleAssignments, ...store.directoryRoleEligibilities].map((grant) => ({ ...grant, principalType: typeOf(grant.principalId), eligible: false })));
  const pages = (count: number, size: number): number => Math.max(1, Math.ceil(count / size));
  const groups = new Set<string>();
  for (const subscription of store.subscriptions) for (const group of subscription.managementGroupAncestorsChain ?? []) groups.add(group.name.toLowerCase());
  return {
    groupsToExpand,
    groupBatches: Math.ceil(groupsToExpand / BATCH_LIMIT),
    graphListingPages: pages(store.appRoleAssignments.length, GRAPH_PAGE_SIZE) + pages(store.directoryRoleAssignments.length, DEFAULT_GRAPH_PAGE) + pages(store.directoryRoleEligibilities.length, DEFAULT_GRAPH_PAGE),
    eligibilityScopes: store.subscriptions.length + groups.size,
  };
}
