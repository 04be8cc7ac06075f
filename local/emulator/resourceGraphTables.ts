import type { EstateStore } from "./store.js";
import type { EstateRoleDefinition } from "./estate.js";
import type { Row, Scan } from "./kql/index.js";
import {
  authorizationScopeTest,
  inRequestScope,
  parseRbacScope,
  subscriptionIn,
  type AuthorizationScopeFilter,
  type ManagementGroupTree,
  type RequestScope,
} from "./resourceGraphScope.js";

/**
 * The rows of the Resource Graph tables, made from the estate as Resource Graph shapes them (Learn
 * "Explore your Azure resources with Resource Graph"): every column present, `type` in lower case,
 * the `resources` table's `resourceGroup` in lower case, empty strings for absent scalar fields.
 * Rows are made as they are scanned (a million role assignments are never held twice).
 */

const RESOURCE_GROUP = /\/resourcegroups\/([^/]+)/i;

function resourceGroupIn(id: string): string {
  return RESOURCE_GROUP.exec(id)?.[1] ?? "";
}

function baseRow(tenantId: string, fields: Partial<Row> & { id: string; name: string; type: string }): Row {
  return {
    id: fields.id,
    name: fields.name,
    type: fields.type,
    tenantId,
    kind: fields["kind"] ?? "",
    location: fields["location"] ?? "",
    resourceGroup: fields["resourceGroup"] ?? "",
    subscriptionId: fields["subscriptionId"] ?? "",
    managedBy: fields["managedBy"] ?? "",
    sku: fields["sku"] ?? null,
    plan: fields["plan"] ?? null,
    properties: fields["properties"] ?? null,
    tags: fields["tags"] ?? {},
    identity: fields["identity"] ?? null,
    zones: fields["zones"] ?? null,
    extendedLocation: fields["extendedLocation"] ?? null,
  };
}

/** Role definitions in Resource Graph's casing (Actions, NotActions, …; Microsoft's sample queries read those), made once per definition. */
const graphPropertiesOf = new WeakMap<EstateRoleDefinition, Record<string, unknown>>();
function roleDefinitionProperties(definition: EstateRoleDefinition): Record<string, unknown> {
  let properties = graphPropertiesOf.get(definition);
  if (!properties) {
    const { permissions, ...rest } = definition.properties;
    properties = {
      ...rest,
      type: definition.properties.type ?? "CustomRole",
      permissions: permissions.map((permission) => ({
        Actions: permission.actions,
        NotActions: permission.notActions,
        DataActions: permission.dataActions,
        NotDataActions: permission.notDataActions,
        ...(permission.condition !== undefined ? { Condition: permission.condition } : {}),
      })),
    };
    graphPropertiesOf.set(definition, properties);
  }
  return properties;
}

/** A role definition's own scope: the part of its id before /providers/Microsoft.Authorization (the root for built-in roles). */
function definitionScope(id: string): string {
  const at = id.toLowerCase().indexOf("/providers/microsoft.authorization/roledefinitions/");
  return at <= 0 ? "/" : id.slice(0, at);
}

export function scanFor(store: EstateStore, tree: ManagementGroupTree, scope: RequestScope, filter: AuthorizationScopeFilter): Scan {
  const tenantId = store.tenantId;
  const authorized = authorizationScopeTest(scope, tree, filter);
  const scans: Record<string, (push: (row: Row) => void) => void> = {
    resources: (push) => {
      for (const resource of store.resources.values()) {
        const subscriptionId = subscriptionIn(resource.id);
        if (!inRequestScope(scope, tree, subscriptionId)) continue;
        const fields = resource as Record<string, unknown>;
        push({
          id: resource.id,
          name: resource.name,
          type: resource.type.toLowerCase(),
          tenantId,
          kind: resource.kind ?? "",
          location: resource.location ?? "",
          resourceGroup: resourceGroupIn(resource.id).toLowerCase(),
          subscriptionId,
          managedBy: fields["managedBy"] ?? "",
          sku: fields["sku"] ?? null,
          plan: fields["plan"] ?? null,
          properties: resource.properties ?? null,
          tags: resource.tags ?? {},
          identity: resource.identity ?? null,
          zones: fields["zones"] ?? null,
          extendedLocation: fields["extendedLocation"] ?? null,
        });
      }
    },
    authorizationresources: (push) => {
      for (const assignment of store.roleAssignments.values()) {
        const rbac = parseRbacScope(assignment.properties.scope);
        if (!authorized(rbac)) continue;
        push(
          baseRow(tenantId, {
            id: assignment.id,
            name: assignment.name,
            type: "microsoft.authorization/roleassignments",
            subscriptionId: rbac.kind === "subscription" ? rbac.id : "",
            resourceGroup: resourceGroupIn(assignment.properties.scope).toLowerCase(),
            properties: assignment.properties,
          }),
        );
      }
      for (const definition of store.roleDefinitions.values()) {
        const own = definitionScope(definition.id);
        const rbac = parseRbacScope(own);
        if (!authorized(rbac)) continue;
        push(
          baseRow(tenantId, {
            id: definition.id,
            name: definition.name,
            type: "microsoft.authorization/roledefinitions",
            subscriptionId: rbac.kind === "subscription" ? rbac.id : "",
            properties: roleDefinitionProperties(definition),
          }),
        );
      }
    },
    resourcecontainers: (push) => {
      for (const subscription of store.subscriptions) {
        const subscriptionId = subscription.subscriptionId.toLowerCase();
        if (!inRequestScope(scope, tree, subscriptionId)) continue;
        push(
          baseRow(tenantId, {
            id: `/subscriptions/${subscription.subscriptionId}`,
            name: subscription.displayName ?? subscription.subscriptionId,
            type: "microsoft.resources/subscriptions",
            subscriptionId: subscription.subscriptionId,
            properties: { managementGroupAncestorsChain: subscription.managementGroupAncestorsChain ?? [], state: "Enabled" },
          }),
        );
      }
      for (const group of store.resourceGroups()) {
        if (!inRequestScope(scope, tree, group.subscriptionId.toLowerCase())) continue;
        push(
          baseRow(tenantId, {
            id: `/subscriptions/${group.subscriptionId}/resourceGroups/${group.name}`,
            name: group.name,
            type: "microsoft.resources/subscriptions/resourcegroups",
            resourceGroup: group.name,
            subscriptionId: group.subscriptionId,
            properties: { provisioningState: "Succeeded" },
          }),
        );
      }
      for (const group of store.managementGroups()) {
        if (!inRequestScope(scope, tree, "", group.name.toLowerCase())) continue;
        push(
          baseRow(tenantId, {
            id: `/providers/Microsoft.Management/managementGroups/${group.name}`,
            name: group.name,
            type: "microsoft.management/managementgroups",
            properties: { displayName: group.displayName ?? group.name },
          }),
        );
      }
    },
  };
  return (table, push) => scans[table]?.(push);
}
