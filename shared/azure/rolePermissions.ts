import type { RolePermission } from "../model.js";

/**
 * Role definition permissions in either casing. ARM's role definition GET answers `actions`,
 * `notActions`, `dataActions`, `notDataActions` (azure-rest-api-specs
 * specification/authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/examples/GetRoleDefinitionById.json);
 * Resource Graph's `authorizationresources` rows carry `Actions`, `NotActions`, `DataActions`,
 * `NotDataActions` (Microsoft's sample query, MicrosoftDocs/azure-docs
 * articles/governance/includes/resource-graph/query/authorization-resources-role-definitions-actions-list.md),
 * and KQL property names are case-sensitive, so the key is matched without regard to case.
 */
export function toRolePermissions(value: unknown): RolePermission[] {
  if (!Array.isArray(value)) return [];
  const permissions: RolePermission[] = [];
  for (const entry of value) {
    if (!entry || typeof entry !== "object") continue;
    const byLower = new Map<string, unknown>();
    for (const [key, list] of Object.entries(entry as Record<string, unknown>)) byLower.set(key.toLowerCase(), list);
    permissions.push({
      actions: strings(byLower.get("actions")),
      notActions: strings(byLower.get("notactions")),
      dataActions: strings(byLower.get("dataactions")),
      notDataActions: strings(byLower.get("notdataactions")),
    });
  }
  return permissions;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

