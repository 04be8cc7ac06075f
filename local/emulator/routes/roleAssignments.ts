import { randomUUID } from "node:crypto";
import type { EstateStore } from "../store.js";
import type { EstateRoleAssignment } from "../estate.js";
import { armError, json, type EmulatorRequest, type EmulatorResponse } from "../http.js";
import { ManagementGroupTree, parseRbacScope, type RbacScope } from "../resourceGraphScope.js";
import { callerObjectId, methodNotAllowed, paged } from "./armCommon.js";

/**
 * Role assignments through ARM (api-version 2022-04-01), as Azure CLI's recorded traffic shows them
 * (azure-cli role/tests/latest/recordings/test_role_assignment_create_update.yaml):
 * - every property is returned, absent ones as null: condition, conditionVersion, createdBy, updatedBy,
 *   delegatedManagedIdentityResourceId, description;
 * - a PUT on an existing assignment's name updates it (description, condition) and answers 201;
 * - a list at a resource group or subscription with `$filter=atScope()` includes the assignments of the
 *   management groups above it and of the root (`/`); without a filter, or with `principalId eq`,
 *   those at, above and below the scope.
 */

export const ROLE_ASSIGNMENTS = "/providers/microsoft.authorization/roleassignments";

/** An assignment as ARM answers it: properties in the recorded order, nulls for what is not set. */
export function armRoleAssignment(assignment: EstateRoleAssignment): Record<string, unknown> {
  const p = assignment.properties;
  return {
    properties: {
      roleDefinitionId: p.roleDefinitionId,
      principalId: p.principalId,
      principalType: p.principalType ?? "ServicePrincipal",
      scope: p.scope,
      condition: p.condition ?? null,
      conditionVersion: p.conditionVersion ?? null,
      createdOn: p.createdOn ?? null,
      updatedOn: p.updatedOn ?? null,
      createdBy: p.createdBy ?? null,
      updatedBy: p.updatedBy ?? null,
      delegatedManagedIdentityResourceId: p.delegatedManagedIdentityResourceId ?? null,
      description: p.description ?? null,
      ...Object.fromEntries(Object.entries(p).filter(([key]) => !ARM_KEYS.has(key))),
    },
    id: assignment.id,
    type: "Microsoft.Authorization/roleAssignments",
    name: assignment.name,
  };
}

const ARM_KEYS = new Set([
  "roleDefinitionId", "principalId", "principalType", "scope", "condition", "conditionVersion", "createdOn",
  "updatedOn", "createdBy", "updatedBy", "delegatedManagedIdentityResourceId", "description",
]);

/** `candidate` is `scope` itself or above it (a management group of its chain, the root). */
function atOrAbove(tree: ManagementGroupTree, candidate: RbacScope, candidateText: string, scope: RbacScope, scopeText: string): boolean {
  if (candidate.kind === "root") return true;
  if (candidate.kind === "managementGroup") {
    if (scope.kind === "root") return false;
    if (scope.kind === "managementGroup") return tree.atOrBelow(scope.name, candidate.name);
    return tree.chainOf(scope.id).includes(candidate.name);
  }
  return scope.kind === "subscription" && (scopeText === candidateText || scopeText.startsWith(`${candidateText}/`));
}

/** `candidate` is below `scope`. */
function below(tree: ManagementGroupTree, candidate: RbacScope, candidateText: string, scope: RbacScope, scopeText: string): boolean {
  if (scope.kind === "root") return candidate.kind !== "root";
  if (scope.kind === "managementGroup") {
    if (candidate.kind === "managementGroup") return candidate.name !== scope.name && tree.atOrBelow(candidate.name, scope.name);
    return candidate.kind === "subscription" && tree.chainOf(candidate.id).includes(scope.name);
  }
  return candidate.kind === "subscription" && candidateText.startsWith(`${scopeText}/`);
}

const normal = (scope: string): string => scope.toLowerCase().replace(/\/+$/, "") || "/";

export class RoleAssignmentRoute {
  constructor(private readonly store: EstateStore) {}

  handle(request: EmulatorRequest, at: number): EmulatorResponse {
    const scope = request.url.pathname.slice(0, at) || "/";
    const rest = request.path.slice(at + ROLE_ASSIGNMENTS.length);
    if (rest === "" || rest === "/") {
      if (request.method !== "GET") return methodNotAllowed(request);
      return this.list(request, scope);
    }
    const key = request.path;
    const existing = this.store.roleAssignments.get(key);
    switch (request.method) {
      case "GET":
        return existing ? json(200, armRoleAssignment(existing)) : armError(404, "RoleAssignmentNotFound", `The role assignment '${rest.slice(1)}' is not found.`);
      case "DELETE":
        if (!existing) return { status: 204 };
        this.store.roleAssignments.delete(key);
        this.store.touch();
        return json(200, armRoleAssignment(existing));
      case "PUT":
        return this.put(request, scope, existing);
      default:
        return methodNotAllowed(request);
    }
  }

  private list(request: EmulatorRequest, scope: string): EmulatorResponse {
    const filter = request.url.searchParams.get("$filter") ?? "";
    const principal = /principalId\s+eq\s+'([^']+)'/i.exec(filter)?.[1]?.toLowerCase();
    const assignedTo = /assignedTo\('([^']+)'\)/i.exec(filter)?.[1]?.toLowerCase();
    const atScopeOnly = /atScope\(\)/i.test(filter);
    const tree = new ManagementGroupTree(this.store);
    const wantedText = normal(scope);
    const wanted = parseRbacScope(wantedText);
    const matches = [...this.store.roleAssignments.values()].filter((assignment) => {
      const who = assignment.properties.principalId.toLowerCase();
      if (principal && who !== principal) return false;
      if (assignedTo && who !== assignedTo) return false;
      const candidateText = normal(assignment.properties.scope);
      const candidate = parseRbacScope(candidateText);
      if (atOrAbove(tree, candidate, candidateText, wanted, wantedText)) return true;
      // atScope() and assignedTo() list the scope and what is inherited from above it, not below.
      return !atScopeOnly && !assignedTo && below(tree, candidate, candidateText, wanted, wantedText);
    });
    return paged(request, matches.map(armRoleAssignment));
  }

  private put(request: EmulatorRequest, scope: string, existing: EstateRoleAssignment | undefined): EmulatorResponse {
    const properties = (request.body as { properties?: Record<string, unknown> } | null)?.properties;
    const text = (key: string): string | undefined => (typeof properties?.[key] === "string" ? (properties[key] as string) : undefined);
    const roleDefinitionId = text("roleDefinitionId");
    const principalId = text("principalId");
    if (!roleDefinitionId || !principalId) {
      return armError(400, "InvalidRequestContent", "The request content must contain properties.roleDefinitionId and properties.principalId.");
    }
    const condition = text("condition");
    if (condition !== undefined && text("conditionVersion") !== undefined && text("conditionVersion") !== "2.0") {
      return armError(400, "InvalidConditionVersion", "The condition version is not supported. Supported version is '2.0'.");
    }
    const caller = callerObjectId(request);
    const now = new Date().toISOString();
    const settable = {
      ...(text("description") !== undefined ? { description: text("description") } : {}),
      ...(condition !== undefined ? { condition, conditionVersion: text("conditionVersion") ?? "2.0" } : {}),
      ...(text("delegatedManagedIdentityResourceId") !== undefined ? { delegatedManagedIdentityResourceId: text("delegatedManagedIdentityResourceId") } : {}),
    };
    if (existing) {
      const same =
        existing.properties.principalId.toLowerCase() === principalId.toLowerCase() &&
        existing.properties.roleDefinitionId.toLowerCase() === roleDefinitionId.toLowerCase();
      if (!same) return armError(409, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.");
      const { description: _description, condition: _condition, conditionVersion: _version, delegatedManagedIdentityResourceId: _delegated, ...kept } = existing.properties;
      existing.properties = { ...kept, ...settable, updatedOn: now, ...(caller ? { updatedBy: caller } : {}) };
      this.store.touch();
      return json(201, armRoleAssignment(existing));
    }
    const duplicate = [...this.store.roleAssignments.values()].find(
      (assignment) =>
        normal(assignment.properties.scope) === normal(scope) &&
        assignment.properties.principalId.toLowerCase() === principalId.toLowerCase() &&
        assignment.properties.roleDefinitionId.toLowerCase() === roleDefinitionId.toLowerCase(),
    );
    if (duplicate) return armError(409, "RoleAssignmentExists", "The role assignment already exists.");
    if (!this.store.directory.has(principalId.toLowerCase())) {
      return armError(400, "PrincipalNotFound", `Principal ${principalId.replace(/-/g, "")} does not exist in the directory ${this.store.tenantId}. Check that you have the correct principal ID.`);
    }
    const created: EstateRoleAssignment = {
      id: request.url.pathname,
      name: request.url.pathname.split("/").pop() ?? randomUUID(),
      type: "Microsoft.Authorization/roleAssignments",
      properties: {
        scope,
        roleDefinitionId,
        principalId,
        principalType: text("principalType") ?? "ServicePrincipal",
        createdOn: now,
        updatedOn: now,
        ...(caller ? { createdBy: caller, updatedBy: caller } : {}),
        ...settable,
      },
    };
    this.store.roleAssignments.set(request.path, created);
    this.store.touch();
    return json(201, armRoleAssignment(created));
  }
}
