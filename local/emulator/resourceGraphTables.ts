import type { EstateStore } from "./store.js";
import type { EstateResource, EstateRoleAssignment, EstateRoleDefinition } from "./estate.js";
import type { Row, Scan, ScanHints } from "./kql/index.js";
import {
  authorizationScopeTest,
  inRequestScope,
  parseRbacScope,
  subscriptionIn,
  type AuthorizationScopeFilter,
  type ManagementGroupTree,
  type RbacScope,
  type RequestScope,
} from "./resourceGraphScope.js";

/**
 * The rows of the Resource Graph tables, made from the estate as Resource Graph shapes them (Learn
 * "Explore your Azure resources with Resource Graph"): every column present, `type` in lower case,
 * the `resources` table's `resourceGroup` in lower case, empty strings for absent scalar fields.
 * Rows are made as they are scanned (a million role assignments are never held twice), only for the
 * types a query's first `where` can keep and with only the columns it reads (ScanHints).
 */

/** Which costly columns a scan computes (the others are cheap references); a column no one reads is left empty. */
interface Needs {
  type: boolean;
  resourceGroup: boolean;
}

interface Source<T> {
  /** The lower-case type of every row of this source, when they share one. */
  type?: string;
  items: () => Iterable<T>;
  typeOf: (item: T) => string;
  /** In the request's scope; may keep what it parsed for `row` of the same item. */
  visible: (item: T) => boolean;
  /** The row, every column present (one object shape for the whole scan). */
  row: (item: T, needs: Needs) => Row;
}

const RESOURCE_GROUP = /\/resourcegroups\/([^/]+)/i;
const resourceGroupIn = (id: string): string => RESOURCE_GROUP.exec(id)?.[1] ?? "";

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

function sourcesOf(store: EstateStore, tree: ManagementGroupTree, scope: RequestScope, filter: AuthorizationScopeFilter): Record<string, Array<Source<never>>> {
  const tenantId = store.tenantId;
  const authorized = authorizationScopeTest(scope, tree, filter);
  // A tenant-wide query sees every grant: no scope to parse per row.
  const everything = scope.kind === "tenant";
  let subscription = "";
  let rbac: RbacScope = { kind: "root" };
  const resources: Source<EstateResource> = {
    items: () => store.resources.values(),
    typeOf: (resource) => resource.type.toLowerCase(),
    visible: (resource) => inRequestScope(scope, tree, (subscription = subscriptionIn(resource.id))),
    row: (resource, needs) => {
      const fields = resource as Record<string, unknown>;
      return {
        id: resource.id,
        name: resource.name,
        type: needs.type ? resource.type.toLowerCase() : "",
        tenantId,
        kind: resource.kind ?? "",
        location: resource.location ?? "",
        resourceGroup: needs.resourceGroup ? resourceGroupIn(resource.id).toLowerCase() : "",
        subscriptionId: subscription,
        managedBy: fields["managedBy"] ?? "",
        sku: fields["sku"] ?? null,
        plan: fields["plan"] ?? null,
        properties: resource.properties ?? null,
        tags: resource.tags ?? {},
        identity: resource.identity ?? null,
        zones: fields["zones"] ?? null,
        extendedLocation: fields["extendedLocation"] ?? null,
      };
    },
  };
  /** A row of a table whose items have no location, tags, identity or sku (authorization resources, containers). */
  const bareRow = (type: string, id: string, name: string, resourceGroup: string, subscriptionId: string, properties: unknown): Row => ({
    id,
    name,
    type,
    tenantId,
    kind: "",
    location: "",
    resourceGroup,
    subscriptionId,
    managedBy: "",
    sku: null,
    plan: null,
    properties,
    tags: {},
    identity: null,
    zones: null,
    extendedLocation: null,
  });
  const authorization = (type: string, id: string, name: string, scopeText: string, resourceGroup: string, properties: unknown): Row =>
    bareRow(type, id, name, resourceGroup, everything ? subscriptionIn(scopeText) : rbac.kind === "subscription" ? rbac.id : "", properties);
  const assignments: Source<EstateRoleAssignment> = {
    type: "microsoft.authorization/roleassignments",
    items: () => store.roleAssignments.values(),
    typeOf: () => "microsoft.authorization/roleassignments",
    visible: (assignment) => everything || authorized((rbac = parseRbacScope(assignment.properties.scope))),
    row: (assignment, needs) =>
      authorization(
        "microsoft.authorization/roleassignments",
        assignment.id,
        assignment.name,
        assignment.properties.scope,
        needs.resourceGroup ? resourceGroupIn(assignment.properties.scope).toLowerCase() : "",
        assignment.properties,
      ),
  };
  const definitions: Source<EstateRoleDefinition> = {
    type: "microsoft.authorization/roledefinitions",
    items: () => store.roleDefinitions.values(),
    typeOf: () => "microsoft.authorization/roledefinitions",
    visible: (definition) => everything || authorized((rbac = parseRbacScope(definitionScope(definition.id)))),
    row: (definition) => authorization("microsoft.authorization/roledefinitions", definition.id, definition.name, definitionScope(definition.id), "", roleDefinitionProperties(definition)),
  };
  type Container = { id: string; name: string; resourceGroup: string; subscriptionId: string; managementGroup?: string; properties: unknown };
  const container = (type: string, items: () => Iterable<Container>): Source<Container> => ({
    type,
    items,
    typeOf: () => type,
    visible: (item) => inRequestScope(scope, tree, item.subscriptionId.toLowerCase(), item.managementGroup),
    row: (item) => bareRow(type, item.id, item.name, item.resourceGroup, item.subscriptionId, item.properties),
  });
  const subscriptions = container("microsoft.resources/subscriptions", () =>
    store.subscriptions.map((entry) => ({
      id: `/subscriptions/${entry.subscriptionId}`,
      name: entry.displayName ?? entry.subscriptionId,
      resourceGroup: "",
      subscriptionId: entry.subscriptionId,
      properties: { managementGroupAncestorsChain: entry.managementGroupAncestorsChain ?? [], state: "Enabled" },
    })),
  );
  const resourceGroups = container("microsoft.resources/subscriptions/resourcegroups", () =>
    store.resourceGroups().map((group) => ({
      id: `/subscriptions/${group.subscriptionId}/resourceGroups/${group.name}`,
      name: group.name,
      resourceGroup: group.name,
      subscriptionId: group.subscriptionId,
      properties: { provisioningState: "Succeeded" },
    })),
  );
  const managementGroups = container("microsoft.management/managementgroups", () =>
    store.managementGroups().map((group) => ({
      id: `/providers/Microsoft.Management/managementGroups/${group.name}`,
      name: group.name,
      resourceGroup: "",
      subscriptionId: "",
      managementGroup: group.name.toLowerCase(),
      properties: { displayName: group.displayName ?? group.name },
    })),
  );
  return {
    resources: [resources],
    authorizationresources: [assignments, definitions],
    resourcecontainers: [subscriptions, resourceGroups, managementGroups],
  } as unknown as Record<string, Array<Source<never>>>;
}

export function scanFor(store: EstateStore, tree: ManagementGroupTree, scope: RequestScope, filter: AuthorizationScopeFilter): Scan {
  const tables = sourcesOf(store, tree, scope, filter);
  return (table: string, push: (row: Row) => void, hints: ScanHints = {}) => {
    const needs: Needs = { type: !hints.columns || hints.columns.includes("type"), resourceGroup: !hints.columns || hints.columns.includes("resourceGroup") };
    const types = hints.types;
    for (const source of tables[table] ?? []) {
      if (types && source.type !== undefined && !types.has(source.type)) continue;
      for (const item of source.items()) {
        if (types && source.type === undefined && !types.has(source.typeOf(item))) continue;
        if (source.visible(item)) push(source.row(item, needs));
      }
    }
  };
}
