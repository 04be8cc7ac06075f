import type { AzureClients } from "../azure/clients.js";
import {
  readAttachments,
  readFederatedCredentials,
  readIdentities,
  readRoleDefinitions,
  streamRoleAssignments,
  type ReadOptions,
} from "../azure/estateReader.js";
import { InventoryBuilder, type Inventory } from "../inventoryBuilder.js";

/** The access-review inventory: read everything through Resource Graph, join, return. */
export async function collectInventory(clients: AzureClients, options: ReadOptions = {}): Promise<Inventory> {
  const [identities, roleDefinitions, attachments, federatedCredentials] = await Promise.all([
    readIdentities(clients, options),
    readRoleDefinitions(clients, options),
    readAttachments(clients, options),
    readFederatedCredentials(clients, options),
  ]);
  const builder = new InventoryBuilder(identities, roleDefinitions);
  builder.addAttachments(attachments);
  builder.addFederatedCredentials(federatedCredentials);
  for await (const page of streamRoleAssignments(clients, options)) builder.addRoleAssignments(page);
  return builder.build();
}
