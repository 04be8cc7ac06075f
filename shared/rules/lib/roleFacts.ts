import type { RoleAssignment, RoleDefinition } from "../../model.js";
import { roleDefinitionGuid, scopeLevel } from "../../model.js";
import type { Severity } from "../../config/policyCore.js";
import { grantsAction, type ActionPermission } from "./actions.js";
import { delegationOf, type Delegation } from "./conditions.js";
import { builtInFallbackGuids, privilegedSeverity, privilegeOfPermissions, rolePermissions, roleNameOf, ROLE_ASSIGNMENT_WRITE, ANY_RESOURCE_WRITE, type Privilege } from "./roles.js";
import { ALL_RIGHTS, ASSIGN_BIT, FEDERATE_BIT, RUN_CODE_ACTIONS, runCodeBit } from "./runCode.js";

export const ASSIGN_ACTION = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action";
export const FEDERATE_ACTION = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write";

/** What one role, under one delegation condition, amounts to (computed once per pair per sweep). */
export interface RoleFacts {
  guid: string;
  roleName: string;
  /** Whether the snapshot (or the built-in fallback) has the definition: a missing one is never "no rights". */
  known: boolean;
  /** Rights the role gives by its own actions: assign, federate and run-code bits (runCode.ts). */
  direct: number;
  /** Rights its holder can give itself by writing role assignments (the *grant* right), after the condition. */
  grant: number;
  /** What grading sees: admin (can grant anything), contributor (writes every resource type), none. */
  privilege: Privilege;
  /** The condition as evidence shows it, when it decides what may be granted: a summary, or "not understood". */
  condition?: string;
}

/** Rights bits of a set of permission entries (without the grant right). */
export function directRights(permissions: readonly ActionPermission[]): number {
  if (permissions.length === 0) return 0;
  let bits = 0;
  if (grantsAction(permissions, ASSIGN_ACTION)) bits |= ASSIGN_BIT;
  if (grantsAction(permissions, FEDERATE_ACTION)) bits |= FEDERATE_BIT;
  for (const [type, actions] of RUN_CODE_ACTIONS) if (actions.some((action) => grantsAction(permissions, action))) bits |= runCodeBit(type);
  return bits;
}

/**
 * Role facts for the roles of one snapshot. *Grant* (docs/rules/privileged-identity-exposed.md): `roleAssignments/write` lets its holder grant
 * itself Managed Identity Contributor or Contributor, so it gives every right — unless a delegation condition
 * (conditions.ts) limits the grantable roles, and then it gives what those roles give, and grades as the most
 * privileged of them (beside what the role does by its other actions).
 */
export class RoleCatalog {
  private readonly byKey = new Map<string, number>();
  readonly facts: RoleFacts[] = [];
  private grantable: Array<{ guid: string; rights: number; privilege: Privilege }> | undefined;

  constructor(readonly definitions: Map<string, RoleDefinition>) {}

  /** The index of the facts of a role under a condition (absent or blank: no condition). */
  indexOf(guid: string, condition?: string | null): number {
    const delegation = delegationOf(condition);
    const key = delegation.kind === "unconstrained" ? guid : `${guid}\u0000${condition ?? ""}`;
    let at = this.byKey.get(key);
    if (at === undefined) {
      at = this.facts.length;
      this.facts.push(this.compute(guid, delegation));
      this.byKey.set(key, at);
    }
    return at;
  }

  of(guid: string, condition?: string | null): RoleFacts {
    return this.facts[this.indexOf(guid, condition)] as RoleFacts;
  }

  /** Facts of the role an assignment names, under the assignment's condition. */
  ofAssignment(assignment: Pick<RoleAssignment, "roleDefinitionId" | "condition">): RoleFacts {
    return this.of(roleDefinitionGuid(assignment.roleDefinitionId), assignment.condition);
  }

  private compute(guid: string, delegation: Delegation): RoleFacts {
    const permissions = rolePermissions(guid, this.definitions);
    const known = this.definitions.has(guid) || builtInFallbackGuids.has(guid);
    const base = { guid, roleName: roleNameOf(guid, this.definitions), known, direct: directRights(permissions) };
    if (!grantsAction(permissions, ROLE_ASSIGNMENT_WRITE)) return { ...base, grant: 0, privilege: privilegeOfPermissions(permissions) };
    if (delegation.kind === "unconstrained") return { ...base, grant: ALL_RIGHTS, privilege: "admin" };
    if (delegation.kind === "not-understood") return { ...base, grant: ALL_RIGHTS, privilege: "admin", condition: "not understood" };
    const listed = new Set(delegation.roles);
    const grantable = this.grantableRoles().filter((role) => (delegation.kind === "allow" ? listed.has(role.guid) : !listed.has(role.guid)));
    let grant = 0;
    let privilege: Privilege = grantsAction(permissions, ANY_RESOURCE_WRITE) ? "contributor" : "none";
    for (const role of grantable) {
      grant |= role.rights;
      privilege = higher(privilege, role.privilege);
    }
    const names = delegation.roles.map((role) => roleNameOf(role, this.definitions)).sort((a, b) => a.localeCompare(b));
    const condition = delegation.kind === "allow" ? `may grant only ${names.join(", ") || "no role"}` : `may grant any role but ${names.join(", ")}`;
    return { ...base, grant, privilege, condition };
  }

  /** Every role the snapshot (and the built-in fallback) knows, with what granting it gives. */
  private grantableRoles(): Array<{ guid: string; rights: number; privilege: Privilege }> {
    if (!this.grantable) {
      const guids = new Set([...this.definitions.keys(), ...builtInFallbackGuids]);
      this.grantable = [...guids].map((guid) => {
        const permissions = rolePermissions(guid, this.definitions);
        const writes = grantsAction(permissions, ROLE_ASSIGNMENT_WRITE);
        return { guid, rights: writes ? ALL_RIGHTS : directRights(permissions), privilege: privilegeOfPermissions(permissions) };
      });
    }
    return this.grantable;
  }
}

const RANK: Record<Privilege, number> = { none: 0, contributor: 1, admin: 2 };

function higher(a: Privilege, b: Privilege): Privilege {
  return RANK[b] > RANK[a] ? b : a;
}

/** Catalogs per snapshot of definitions: rules that see one assignment at a time share them. */
const catalogs = new WeakMap<Map<string, RoleDefinition>, RoleCatalog>();

export function roleCatalogOf(definitions: Map<string, RoleDefinition>): RoleCatalog {
  let catalog = catalogs.get(definitions);
  if (!catalog) {
    catalog = new RoleCatalog(definitions);
    catalogs.set(definitions, catalog);
  }
  return catalog;
}

/**
 * docs/rules/privileged-role-broad-scope.md: grading of one assignment: admin critical and contributor high at
 * management-group, root or subscription scope, both medium at a resource group; a delegation condition grades the
 * role as the most privileged role it allows granting.
 */
export function assignmentSeverity(assignment: Pick<RoleAssignment, "roleDefinitionId" | "condition" | "scope">, definitions: Map<string, RoleDefinition>): Severity | undefined {
  // Most assignments are not privileged: decide that before parsing the scope (the hot path of a sweep).
  const privilege = roleCatalogOf(definitions).ofAssignment(assignment).privilege;
  return privilege === "none" ? undefined : privilegedSeverity(privilege, scopeLevel(assignment.scope));
}
