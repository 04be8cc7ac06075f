/**
 * Every Resource Graph query the project sends, in one place. Each projects `id` (Resource Graph pages
 * with $skipToken only then) and orders by it, so pages are stable; the one aggregate (a count)
 * answers in a single row. `type` is compared with =~: Resource Graph answers it in lower case.
 * Federated identity credentials are not in any Resource Graph table: they are listed through ARM
 * (federatedCredentials.ts). test/unit/queries.test.ts runs each through Microsoft's Kusto language
 * service against the declared Resource Graph schema.
 */
export const QUERIES = {
  identities: `resources
| where type =~ 'microsoft.managedidentity/userassignedidentities'
| project id, name, type, subscriptionId, resourceGroup, location, tags,
    principalId = tostring(properties.principalId), clientId = tostring(properties.clientId),
    tenantId = tostring(properties.tenantId)
| order by id asc`,

  attachments: `resources
| where isnotnull(identity.userAssignedIdentities)
| project id, name, type, subscriptionId, resourceGroup, tags,
    identityType = tostring(identity.type), userAssignedIdentities = identity.userAssignedIdentities
| order by id asc`,

  roleAssignments: `authorizationresources
| where type =~ 'microsoft.authorization/roleassignments'
| project id, scope = tostring(properties.scope), roleDefinitionId = tostring(properties.roleDefinitionId),
    principalId = tostring(properties.principalId), principalType = tostring(properties.principalType),
    createdOn = tostring(properties.createdOn), condition = tostring(properties.condition)
| order by id asc`,

  roleDefinitions: `authorizationresources
| where type =~ 'microsoft.authorization/roledefinitions'
| project id, name, roleName = tostring(properties.roleName), roleType = tostring(properties.type),
    permissions = properties.permissions
| order by id asc`,

  // Management groups above each subscription, nearest first: Learn "Resource Graph sample queries for
  // management groups" (resourcecontainers, properties.managementGroupAncestorsChain[].name).
  subscriptions: `resourcecontainers
| where type =~ 'microsoft.resources/subscriptions'
| project id, subscriptionId, name, managementGroupAncestorsChain = properties.managementGroupAncestorsChain
| order by id asc`,

  // One row: how many role assignments there are (the base of cleanup.maxDeletePercent for event runs).
  roleAssignmentCount: `authorizationresources
| where type =~ 'microsoft.authorization/roleassignments'
| summarize count_ = count()`,
} as const;

export type QueryName = keyof typeof QUERIES;

/**
 * Queries of role assignments and definitions: narrowed to subscriptions they must still see what is
 * inherited from the management groups above and the tenant root (Learn "Resource Graph query
 * language": the default AtScopeAndBelow returns nothing from above).
 */
export const INHERITING_QUERIES: ReadonlySet<QueryName> = new Set<QueryName>(["roleAssignments", "roleDefinitions"]);
