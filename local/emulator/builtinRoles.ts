import type { EstateRoleDefinition } from "./estate.js";

/** The common built-in roles, as ARM serves them (id at the root, not under a subscription). */
const BUILT_IN: Array<[string, string, string[], string[]]> = [
  ["8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner", ["*"], []],
  [
    "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Contributor",
    ["*"],
    [
      "Microsoft.Authorization/*/Delete",
      "Microsoft.Authorization/*/Write",
      "Microsoft.Authorization/elevateAccess/Action",
      "Microsoft.Blueprint/blueprintAssignments/write",
      "Microsoft.Blueprint/blueprintAssignments/delete",
    ],
  ],
  ["18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "User Access Administrator", ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"], []],
  [
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
    "Role Based Access Control Administrator",
    ["Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete", "*/read", "Microsoft.Support/*"],
    [],
  ],
  ["acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", ["*/read"], []],
  [
    "f1a07417-d97a-45cb-824c-7a7467783830",
    "Managed Identity Operator",
    ["Microsoft.ManagedIdentity/userAssignedIdentities/*/read", "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Resources/deployments/*", "Microsoft.Support/*"],
    [],
  ],
  [
    "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59",
    "Managed Identity Contributor",
    ["Microsoft.ManagedIdentity/userAssignedIdentities/read", "Microsoft.ManagedIdentity/userAssignedIdentities/write", "Microsoft.ManagedIdentity/userAssignedIdentities/delete", "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/*", "Microsoft.Authorization/*/read", "Microsoft.Resources/subscriptions/resourceGroups/read"],
    [],
  ],
  ["4633458b-17de-408a-b874-0445c86b69e6", "Key Vault Secrets User", [], []],
  ["00482a5a-887f-4fb3-b363-3b7fe8e74483", "Key Vault Administrator", ["Microsoft.Authorization/*/read", "Microsoft.KeyVault/checkNameAvailability/read", "Microsoft.KeyVault/vaults/*/read"], []],
  ["ba92f5b4-2d11-453d-a403-e96b0029c9fe", "Storage Blob Data Contributor", ["Microsoft.Storage/storageAccounts/blobServices/containers/*"], []],
  ["2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", "Storage Blob Data Reader", ["Microsoft.Storage/storageAccounts/blobServices/containers/read"], []],
  ["0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", "Storage Table Data Contributor", ["Microsoft.Storage/storageAccounts/tableServices/tables/*"], []],
  ["974c5e8b-45b9-4653-ba55-5f855dd0fb88", "Storage Queue Data Contributor", ["Microsoft.Storage/storageAccounts/queueServices/queues/*"], []],
  ["9980e02c-c2be-4d73-94e8-173b1dc7cf3c", "Virtual Machine Contributor", ["Microsoft.Compute/virtualMachines/*", "Microsoft.Network/networkInterfaces/*", "Microsoft.Authorization/*/read"], []],
  ["de139f84-1756-47ae-9be6-808fbbe84772", "Website Contributor", ["Microsoft.Web/sites/*", "Microsoft.Authorization/*/read"], []],
  ["3913510d-42f4-4e42-8a64-420c390055eb", "Monitoring Metrics Publisher", ["Microsoft.Insights/Register/Action", "Microsoft.Support/*", "Microsoft.Resources/subscriptions/resourceGroups/read"], []],
  ["d5a91429-5739-47e2-a06b-3470a27159e7", "EventGrid Data Sender", ["Microsoft.Authorization/*/read", "Microsoft.EventGrid/topics/read"], []],
  ["7f951dda-4ed3-4680-a7ca-43fe172d538d", "AcrPull", ["Microsoft.ContainerRegistry/registries/pull/read"], []],
];

export function builtInRoleDefinitions(): EstateRoleDefinition[] {
  return BUILT_IN.map(([guid, roleName, actions, notActions]) => ({
    id: `/providers/Microsoft.Authorization/roleDefinitions/${guid}`,
    name: guid,
    type: "Microsoft.Authorization/roleDefinitions",
    properties: {
      roleName,
      type: "BuiltInRole",
      description: roleName,
      permissions: [{ actions, notActions }],
      assignableScopes: ["/"],
    },
  }));
}
