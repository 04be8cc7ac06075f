/**
 * The tables the emulator's query endpoints declare to the Kusto language service, with their columns
 * and types. A query naming a table or column not declared here is refused as the service refuses it.
 *
 * Resource Graph (Learn "Understanding the Azure Resource Graph query language", "Resource Graph
 * tables"; MicrosoftDocs/azure-docs articles/governance/resource-graph/concepts/query-language.md):
 * `Resources` is the default table, `ResourceContainers` holds subscriptions, resource groups and
 * management groups, `AuthorizationResources` role assignments and role definitions. Every Resource
 * Graph table has the same columns — the fields of an ARM resource as Resource Graph flattens them:
 * - id, kind, location, managedBy, name, plan, properties, resourceGroup, sku, subscriptionId, tags,
 *   type: the example row of Learn "Explore your Azure resources with Resource Graph"
 *   (articles/governance/resource-graph/concepts/explore-resources.md, commit 012ad308577ca7a4bcf96132a0e71b2819fa4a98);
 * - tenantId, identity, zones, extendedLocation: the other top-level fields of an ARM resource
 *   (GenericResource in azure-rest-api-specs specification/resources/.../resources.json: identity,
 *   extendedLocation; zones of zonal resources) that Resource Graph returns beside them; uami-guard's
 *   own attachment query reads `identity`.
 * Types: strings for the scalar fields, `dynamic` for the JSON ones (`properties.x.y`, `tags['k']`).
 * Table names are case-sensitive in KQL; Learn's samples use both `Resources` and `resources`, so
 * each table answers to both spellings (and nothing else).
 *
 * Log Analytics: the managed-identity sign-in table the sweep reads for last use, columns as Learn
 * "Azure Monitor Logs reference — AADManagedIdentitySignInLogs" documents them.
 */

export type ColumnType = "string" | "long" | "int" | "real" | "bool" | "datetime" | "timespan" | "dynamic" | "guid";

export interface TableSchema {
  /** The names a query may use for this table; the first is the canonical one. */
  names: readonly string[];
  columns: ReadonlyArray<readonly [name: string, type: ColumnType]>;
}

const ARM_RESOURCE_COLUMNS: TableSchema["columns"] = [
  ["id", "string"],
  ["name", "string"],
  ["type", "string"],
  ["tenantId", "string"],
  ["kind", "string"],
  ["location", "string"],
  ["resourceGroup", "string"],
  ["subscriptionId", "string"],
  ["managedBy", "string"],
  ["sku", "dynamic"],
  ["plan", "dynamic"],
  ["properties", "dynamic"],
  ["tags", "dynamic"],
  ["identity", "dynamic"],
  ["zones", "dynamic"],
  ["extendedLocation", "dynamic"],
];

export const RESOURCES: TableSchema = { names: ["resources", "Resources"], columns: ARM_RESOURCE_COLUMNS };
export const RESOURCE_CONTAINERS: TableSchema = { names: ["resourcecontainers", "ResourceContainers"], columns: ARM_RESOURCE_COLUMNS };
export const AUTHORIZATION_RESOURCES: TableSchema = { names: ["authorizationresources", "AuthorizationResources"], columns: ARM_RESOURCE_COLUMNS };

/** The Resource Graph tables the emulator serves. */
export const RESOURCE_GRAPH_TABLES: readonly TableSchema[] = [RESOURCES, RESOURCE_CONTAINERS, AUTHORIZATION_RESOURCES];

/** Learn "AADManagedIdentitySignInLogs" (Azure Monitor Logs table reference), the columns a sign-in query reads. */
export const MANAGED_IDENTITY_SIGN_INS: TableSchema = {
  names: ["AADManagedIdentitySignInLogs"],
  columns: [
    ["TimeGenerated", "datetime"],
    ["Id", "string"],
    ["ServicePrincipalId", "string"],
    ["ServicePrincipalName", "string"],
    ["AppId", "string"],
    ["ResourceIdentity", "string"],
    ["ResourceDisplayName", "string"],
    ["ResultType", "string"],
    ["IPAddress", "string"],
    ["CorrelationId", "string"],
    ["TenantId", "string"],
    ["Type", "string"],
  ],
};

export const LOG_ANALYTICS_TABLES: readonly TableSchema[] = [MANAGED_IDENTITY_SIGN_INS];

/** The table a name refers to (any of its spellings), if it is one of these. */
export function tableNamed(tables: readonly TableSchema[], name: string): TableSchema | undefined {
  return tables.find((table) => table.names.includes(name));
}
