import type { RoleAssignment, RoleDefinition, ScopeLevel } from "../../model.js";
import { roleDefinitionGuid, scopeLevel } from "../../model.js";
import type { Severity } from "../../config/policy.js";

export const BUILT_IN_ROLES = {
  owner: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
  contributor: "b24988ac-6180-42a0-ab88-20f7382dd24c",
  userAccessAdministrator: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
  rbacAdministrator: "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
} as const;

const ADMIN_ROLES = new Set<string>([BUILT_IN_ROLES.owner, BUILT_IN_ROLES.userAccessAdministrator, BUILT_IN_ROLES.rbacAdministrator]);
const ADMIN_ACTIONS = new Set(["*", "microsoft.authorization/*", "microsoft.authorization/roleassignments/write"]);

export type Privilege = "admin" | "contributor" | "none";

/** Owner, UAA, RBAC Administrator or a custom role that can grant access: "admin"; Contributor: "contributor". */
export function privilegeOf(assignment: RoleAssignment, definitions: Map<string, RoleDefinition>): Privilege {
  const guid = roleDefinitionGuid(assignment.roleDefinitionId);
  if (ADMIN_ROLES.has(guid)) return "admin";
  if (guid === BUILT_IN_ROLES.contributor) return "contributor";
  const definition = definitions.get(guid);
  if (definition && definition.roleType.toLowerCase() === "customrole") {
    // Every permission entry counts, as the adapters read it from either casing (`Actions` in Resource Graph, `actions` in ARM).
    for (const permission of definition.permissions) {
      if (permission.actions.some((action) => ADMIN_ACTIONS.has(action.toLowerCase()))) return "admin";
    }
  }
  return "none";
}

/** RULES.md grading: admin roles critical and Contributor high at management-group/subscription scope; both medium at resource group. */
export function privilegedSeverity(privilege: Privilege, level: ScopeLevel): Severity | undefined {
  if (privilege === "none" || level === "resource") return undefined;
  if (level === "resourceGroup") return "medium";
  return privilege === "admin" ? "critical" : "high";
}

export function assignmentSeverity(assignment: RoleAssignment, definitions: Map<string, RoleDefinition>): Severity | undefined {
  // Most assignments are not privileged: decide that before parsing the scope (the hot path of a sweep).
  const privilege = privilegeOf(assignment, definitions);
  return privilege === "none" ? undefined : privilegedSeverity(privilege, scopeLevel(assignment.scope));
}

export function roleLabel(assignment: RoleAssignment, definitions: Map<string, RoleDefinition>): string {
  const guid = roleDefinitionGuid(assignment.roleDefinitionId);
  return definitions.get(guid)?.roleName ?? guid;
}
