/**
 * operationName → what kind of change it is. A data table, not a switch (cloud-custodian style):
 * the Event Grid subscription's filter in infra/ is checked against these keys.
 */
export type ChangeKind =
  | "role-assignment-write"
  | "role-assignment-delete"
  | "attachment-write"
  | "federated-credential-write"
  | "federated-credential-delete"
  | "identity-write"
  | "identity-delete"
  /** A write, delete or action on a resource type the guard itself is made of: only governance-tampering reads it, on the guard's own resources. */
  | "resource-change"
  /** A lock or policy assignment: governance-tampering reads it when its scope contains a guard resource. */
  | "guard-scope-write"
  /** A custom role written or deleted: governance-tampering reads it when the app's identity holds the role. */
  | "role-definition-change";

export const CHANGE_KINDS: readonly ChangeKind[] = [
  "role-assignment-write",
  "role-assignment-delete",
  "attachment-write",
  "federated-credential-write",
  "federated-credential-delete",
  "identity-write",
  "identity-delete",
  "resource-change",
  "guard-scope-write",
  "role-definition-change",
];

export interface OperationEntry {
  kind: ChangeKind;
  /** For attachment writes: the api-version to read the resource's identity block back with. */
  apiVersion?: string;
  /**
   * Cleanup may detach identities from this type: the enforcer role (infra/app/rbac/governed-subscription.bicep)
   * grants `<type>/read` and `<type>/write` for exactly these (a test checks both ways). Others are detected only.
   */
  detach?: true;
  /** Where Microsoft documents the operation name (the guard's own operations; the others are in the issue history). */
  source?: string;
}

const attachment = (apiVersion: string): OperationEntry => ({ kind: "attachment-write", apiVersion });
const detachable = (apiVersion: string): OperationEntry => ({ kind: "attachment-write", apiVersion, detach: true });
/**
 * Learn "Azure permissions for …" (the resource provider operations, by service). Event Grid's `data.operationName`
 * is the operation as these pages name it; they spell some in another case (`microsoft.web/sites/config/delete`,
 * `Microsoft.Insights/Components/Delete`), which is why every lookup here and Event Grid's StringIn compare
 * case-insensitively (Learn "Understand event filtering for Event Grid subscriptions": string comparisons are not
 * case-sensitive).
 */
const LEARN = {
  web: "https://learn.microsoft.com/azure/role-based-access-control/permissions/web-and-mobile#microsoftweb",
  storage: "https://learn.microsoft.com/azure/role-based-access-control/permissions/storage#microsoftstorage",
  keyVault: "https://learn.microsoft.com/azure/role-based-access-control/permissions/security#microsoftkeyvault",
  eventGrid: "https://learn.microsoft.com/azure/role-based-access-control/permissions/integration#microsofteventgrid",
  insights: "https://learn.microsoft.com/azure/role-based-access-control/permissions/monitor#microsoftinsights",
  logAnalytics: "https://learn.microsoft.com/azure/role-based-access-control/permissions/monitor#microsoftoperationalinsights",
  authorization: "https://learn.microsoft.com/azure/role-based-access-control/permissions/management-and-governance#microsoftauthorization",
};
const resourceChange = (source: string): OperationEntry => ({ kind: "resource-change", source });

export const OPERATIONS: Readonly<Record<string, OperationEntry>> = {
  "Microsoft.Authorization/roleAssignments/write": { kind: "role-assignment-write" },
  // A delete resolves the open findings about what was deleted (and governance-tampering reads it).
  "Microsoft.Authorization/roleAssignments/delete": { kind: "role-assignment-delete" },
  "Microsoft.ManagedIdentity/userAssignedIdentities/write": { kind: "identity-write" },
  "Microsoft.ManagedIdentity/userAssignedIdentities/delete": { kind: "identity-delete" },
  "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write": { kind: "federated-credential-write" },
  "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/delete": { kind: "federated-credential-delete" },
  "Microsoft.Compute/virtualMachines/write": detachable("2024-07-01"),
  "Microsoft.Compute/virtualMachineScaleSets/write": detachable("2024-07-01"),
  "Microsoft.Web/sites/write": detachable("2023-12-01"),
  "Microsoft.Web/sites/slots/write": detachable("2023-12-01"),
  "Microsoft.App/containerApps/write": detachable("2024-03-01"),
  "Microsoft.App/jobs/write": attachment("2024-03-01"),
  "Microsoft.ContainerInstance/containerGroups/write": attachment("2023-05-01"),
  "Microsoft.Logic/workflows/write": attachment("2019-05-01"),
  "Microsoft.DataFactory/factories/write": attachment("2018-06-01"),
  "Microsoft.Automation/automationAccounts/write": attachment("2023-11-01"),
  "Microsoft.ApiManagement/service/write": attachment("2022-08-01"),
  // The guard's own resources (governance-tampering): switching it off is a change like any other. A change
  // of any other name under `self.resources` is one too (the guard's resource groups are delivered unfiltered).
  "Microsoft.Web/sites/delete": resourceChange(LEARN.web),
  "Microsoft.Web/sites/stop/action": resourceChange(LEARN.web),
  "Microsoft.Web/sites/config/write": resourceChange(LEARN.web),
  "Microsoft.Web/sites/config/delete": resourceChange(LEARN.web),
  "Microsoft.Web/sites/functions/delete": resourceChange(LEARN.web),
  "Microsoft.Web/sites/slots/delete": resourceChange(LEARN.web),
  "Microsoft.Web/serverfarms/write": resourceChange(LEARN.web),
  "Microsoft.Web/serverfarms/delete": resourceChange(LEARN.web),
  "Microsoft.Storage/storageAccounts/write": resourceChange(LEARN.storage),
  "Microsoft.Storage/storageAccounts/delete": resourceChange(LEARN.storage),
  "Microsoft.Storage/storageAccounts/tableServices/tables/delete": resourceChange(LEARN.storage),
  "Microsoft.Storage/storageAccounts/queueServices/queues/delete": resourceChange(LEARN.storage),
  "Microsoft.Storage/storageAccounts/blobServices/containers/delete": resourceChange(LEARN.storage),
  "Microsoft.KeyVault/vaults/write": resourceChange(LEARN.keyVault),
  "Microsoft.KeyVault/vaults/delete": resourceChange(LEARN.keyVault),
  "Microsoft.KeyVault/vaults/secrets/write": resourceChange(LEARN.keyVault),
  "Microsoft.EventGrid/systemTopics/write": resourceChange(LEARN.eventGrid),
  "Microsoft.EventGrid/systemTopics/delete": resourceChange(LEARN.eventGrid),
  "Microsoft.EventGrid/systemTopics/eventSubscriptions/write": resourceChange(LEARN.eventGrid),
  "Microsoft.EventGrid/systemTopics/eventSubscriptions/delete": resourceChange(LEARN.eventGrid),
  "Microsoft.EventGrid/topics/write": resourceChange(LEARN.eventGrid),
  "Microsoft.EventGrid/topics/delete": resourceChange(LEARN.eventGrid),
  "Microsoft.Insights/dataCollectionRules/write": resourceChange(LEARN.insights),
  "Microsoft.Insights/dataCollectionRules/delete": resourceChange(LEARN.insights),
  "Microsoft.Insights/dataCollectionEndpoints/delete": resourceChange(LEARN.insights),
  "Microsoft.Insights/components/write": resourceChange(LEARN.insights),
  "Microsoft.Insights/components/delete": resourceChange(LEARN.insights),
  "Microsoft.OperationalInsights/workspaces/delete": resourceChange(LEARN.logAnalytics),
  // Outside the guard's resources, still aimed at it: a lock or a (deny) policy assignment on a scope above it,
  // and the custom roles its identity holds (the enforcer role).
  "Microsoft.Authorization/locks/write": { kind: "guard-scope-write", source: LEARN.authorization },
  "Microsoft.Authorization/policyAssignments/write": { kind: "guard-scope-write", source: LEARN.authorization },
  "Microsoft.Authorization/roleDefinitions/write": { kind: "role-definition-change", source: LEARN.authorization },
  "Microsoft.Authorization/roleDefinitions/delete": { kind: "role-definition-change", source: LEARN.authorization },
};

const BY_LOWER = new Map(Object.entries(OPERATIONS).map(([name, entry]) => [name.toLowerCase(), entry]));

/** ARM reports operation names in varying case. */
export function operationFor(operationName: string): OperationEntry | undefined {
  return BY_LOWER.get(operationName.toLowerCase());
}

/** The api-version for reading a resource of this type back (by the `…/write` operation of its type). */
export function apiVersionForType(resourceType: string): string | undefined {
  return BY_LOWER.get(`${resourceType}/write`.toLowerCase())?.apiVersion;
}

/** The api-version to detach an identity from this type with, when cleanup may detach from it at all. */
export function detachApiVersionForType(resourceType: string): string | undefined {
  const entry = BY_LOWER.get(`${resourceType}/write`.toLowerCase());
  return entry?.detach ? entry.apiVersion : undefined;
}

/** Resource types cleanup may detach identities from (`Microsoft.Compute/virtualMachines`, …). */
export function detachTargetTypes(): string[] {
  return Object.entries(OPERATIONS)
    .filter(([, entry]) => entry.detach)
    .map(([operation]) => operation.slice(0, -"/write".length));
}
