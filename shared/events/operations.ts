/**
 * operationName → what kind of change it is. A data table, not a switch (cloud-custodian style):
 * the Event Grid subscription's filter in infra/ is checked against these keys.
 */
export type ChangeKind =
  | "role-assignment-write"
  | "role-assignment-delete"
  | "attachment-write"
  | "federated-credential-write"
  | "identity-write"
  | "identity-delete"
  /** A write, delete or stop of a resource type the guard itself is made of: only governance-tampering reads it. */
  | "resource-change";

export const CHANGE_KINDS: readonly ChangeKind[] = [
  "role-assignment-write",
  "role-assignment-delete",
  "attachment-write",
  "federated-credential-write",
  "identity-write",
  "identity-delete",
  "resource-change",
];

export interface OperationEntry {
  kind: ChangeKind;
  /** For attachment writes: the api-version to read the resource's identity block back with. */
  apiVersion?: string;
}

const attachment = (apiVersion: string): OperationEntry => ({ kind: "attachment-write", apiVersion });
const resourceChange: OperationEntry = { kind: "resource-change" };

export const OPERATIONS: Readonly<Record<string, OperationEntry>> = {
  "Microsoft.Authorization/roleAssignments/write": { kind: "role-assignment-write" },
  "Microsoft.ManagedIdentity/userAssignedIdentities/write": { kind: "identity-write" },
  "Microsoft.ManagedIdentity/userAssignedIdentities/delete": { kind: "identity-delete" },
  "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write": { kind: "federated-credential-write" },
  "Microsoft.Compute/virtualMachines/write": attachment("2024-07-01"),
  "Microsoft.Compute/virtualMachineScaleSets/write": attachment("2024-07-01"),
  "Microsoft.Web/sites/write": attachment("2023-12-01"),
  "Microsoft.Web/sites/slots/write": attachment("2023-12-01"),
  "Microsoft.App/containerApps/write": attachment("2024-03-01"),
  "Microsoft.App/jobs/write": attachment("2024-03-01"),
  "Microsoft.ContainerInstance/containerGroups/write": attachment("2023-05-01"),
  "Microsoft.Logic/workflows/write": attachment("2019-05-01"),
  "Microsoft.DataFactory/factories/write": attachment("2018-06-01"),
  "Microsoft.Automation/automationAccounts/write": attachment("2023-11-01"),
  "Microsoft.ApiManagement/service/write": attachment("2022-08-01"),
  // The guard's own resources (governance-tampering): switching it off is a change like any other.
  "Microsoft.Authorization/roleAssignments/delete": { kind: "role-assignment-delete" },
  "Microsoft.Web/sites/delete": resourceChange,
  "Microsoft.Web/sites/stop/action": resourceChange,
  "Microsoft.Web/sites/config/write": resourceChange,
  "Microsoft.Storage/storageAccounts/write": resourceChange,
  "Microsoft.Storage/storageAccounts/delete": resourceChange,
  "Microsoft.KeyVault/vaults/write": resourceChange,
  "Microsoft.KeyVault/vaults/delete": resourceChange,
  "Microsoft.EventGrid/systemTopics/write": resourceChange,
  "Microsoft.EventGrid/systemTopics/delete": resourceChange,
  "Microsoft.EventGrid/systemTopics/eventSubscriptions/write": resourceChange,
  "Microsoft.EventGrid/systemTopics/eventSubscriptions/delete": resourceChange,
  "Microsoft.EventGrid/topics/write": resourceChange,
  "Microsoft.EventGrid/topics/delete": resourceChange,
  "Microsoft.Insights/dataCollectionRules/write": resourceChange,
  "Microsoft.Insights/dataCollectionRules/delete": resourceChange,
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
