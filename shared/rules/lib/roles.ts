import type { RoleAssignment, RoleDefinition, ScopeLevel } from "../../model.js";
import { roleDefinitionGuid, scopeLevel } from "../../model.js";
import { severityRank, type Severity } from "../../config/policyCore.js";
import { grantsAction, permissionsOf, type ActionPermission } from "./actions.js";

export const BUILT_IN_ROLES = {
  owner: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
  contributor: "b24988ac-6180-42a0-ab88-20f7382dd24c",
  userAccessAdministrator: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
  rbacAdministrator: "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
  managedIdentityOperator: "f1a07417-d97a-45cb-824c-7a7467783830",
  managedIdentityContributor: "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59",
} as const;

/**
 * Permissions of the built-in roles that grading and exposure turn on, used only when a sweep's snapshot
 * lacks the definition (Resource Graph and ARM both list built-in roles, so this is a fallback). Copied
 * from Microsoft's published definitions: MicrosoftDocs/azure-docs
 * articles/role-based-access-control/built-in-roles/privileged.md @0b8729eaf7eb0aabc6390cb17348d19761285f12
 * (Owner, Contributor, User Access Administrator, RBAC Administrator) and identity.md
 * @1b4e136a1da731e1ed16444eb6ce5701bcd8c0f4 (Managed Identity Operator, Managed Identity Contributor).
 */
const FALLBACK: Record<string, [string, ActionPermission[]]> = {
  [BUILT_IN_ROLES.owner]: ["Owner", [{ actions: ["*"], notActions: [] }]],
  [BUILT_IN_ROLES.contributor]: [
    "Contributor",
    [
      {
        actions: ["*"],
        notActions: [
          "Microsoft.Authorization/*/Delete",
          "Microsoft.Authorization/*/Write",
          "Microsoft.Authorization/elevateAccess/Action",
          "Microsoft.Blueprint/blueprintAssignments/write",
          "Microsoft.Blueprint/blueprintAssignments/delete",
          "Microsoft.Compute/galleries/share/action",
          "Microsoft.Purview/consents/write",
          "Microsoft.Purview/consents/delete",
          "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
          "Microsoft.Subscription/cancel/action",
          "Microsoft.Subscription/enable/action",
        ],
      },
    ],
  ],
  [BUILT_IN_ROLES.userAccessAdministrator]: ["User Access Administrator", [{ actions: ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"], notActions: [] }]],
  [BUILT_IN_ROLES.rbacAdministrator]: [
    "Role Based Access Control Administrator",
    [{ actions: ["Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete", "*/read", "Microsoft.Support/*"], notActions: [] }],
  ],
  [BUILT_IN_ROLES.managedIdentityOperator]: [
    "Managed Identity Operator",
    [
      {
        actions: [
          "Microsoft.ManagedIdentity/userAssignedIdentities/*/read",
          "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action",
          "Microsoft.Authorization/*/read",
          "Microsoft.Insights/alertRules/*",
          "Microsoft.Resources/subscriptions/resourceGroups/read",
          "Microsoft.Resources/deployments/*",
          "Microsoft.Support/*",
        ],
        notActions: [],
      },
    ],
  ],
  [BUILT_IN_ROLES.managedIdentityContributor]: [
    "Managed Identity Contributor",
    [
      {
        actions: [
          "Microsoft.ManagedIdentity/userAssignedIdentities/read",
          "Microsoft.ManagedIdentity/userAssignedIdentities/write",
          "Microsoft.ManagedIdentity/userAssignedIdentities/delete",
          "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read",
          "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
          "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/delete",
          "Microsoft.ManagedIdentity/userAssignedIdentities/revokeTokens/action",
          "Microsoft.Authorization/*/read",
          "Microsoft.Insights/alertRules/*",
          "Microsoft.Resources/subscriptions/resourceGroups/read",
          "Microsoft.Resources/deployments/*",
          "Microsoft.Support/*",
        ],
        notActions: [],
      },
    ],
  ],
};

/** The permission entries of the role an assignment names: from the snapshot, else the built-in fallback, else none. */
export function rolePermissions(guid: string, definitions: Map<string, RoleDefinition>): ActionPermission[] {
  const definition = definitions.get(guid);
  if (definition) return permissionsOf(definition);
  return FALLBACK[guid]?.[1] ?? [];
}

export const ROLE_ASSIGNMENT_WRITE = "Microsoft.Authorization/roleAssignments/write";
/**
 * An action of no real provider: only a pattern that covers every provider's writes (a bare star, or star-slash-write) grants it,
 * which is what makes a role Contributor-like (write anything, but not role assignments).
 */
const ANY_RESOURCE_WRITE = "Uamiguard.Probe/anyResourceType/write";

export type Privilege = "admin" | "contributor" | "none";

/** What a set of permission entries amounts to for grading. */
export function privilegeOfPermissions(permissions: readonly ActionPermission[]): Privilege {
  if (permissions.length === 0) return "none";
  if (grantsAction(permissions, ROLE_ASSIGNMENT_WRITE)) return "admin";
  if (grantsAction(permissions, ANY_RESOURCE_WRITE)) return "contributor";
  return "none";
}

const privilegeCache = new WeakMap<Map<string, RoleDefinition>, Map<string, Privilege>>();

/**
 * Owner, UAA, RBAC Administrator or any role that grants `roleAssignments/write`: "admin"; Contributor or any
 * role that writes every resource type: "contributor". From the role's actions minus notActions, per entry.
 */
export function privilegeOf(assignment: RoleAssignment, definitions: Map<string, RoleDefinition>): Privilege {
  const guid = roleDefinitionGuid(assignment.roleDefinitionId);
  let cache = privilegeCache.get(definitions);
  if (!cache) {
    cache = new Map();
    privilegeCache.set(definitions, cache);
  }
  let privilege = cache.get(guid);
  if (privilege === undefined) {
    privilege = privilegeOfPermissions(rolePermissions(guid, definitions));
    cache.set(guid, privilege);
  }
  return privilege;
}

/** docs/rules/privileged-role-broad-scope.md: admin roles critical and Contributor high at management-group/subscription scope; both medium at resource group. */
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

/** `a` at least as high as `b`. */
export function atLeast(a: Severity, b: Severity): boolean {
  return severityRank(a) >= severityRank(b);
}

/** The role's name from the snapshot or the built-in fallback, else its GUID. */
export function roleNameOf(guid: string, definitions: Map<string, RoleDefinition>): string {
  return definitions.get(guid)?.roleName || FALLBACK[guid]?.[0] || guid;
}

export function roleLabel(assignment: RoleAssignment, definitions: Map<string, RoleDefinition>): string {
  return roleNameOf(roleDefinitionGuid(assignment.roleDefinitionId), definitions);
}
