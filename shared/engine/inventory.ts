import type { AzureClients } from "../azure/clients.js";
import {
  readAttachments,
  readIdentities,
  readRoleDefinitions,
  streamRoleAssignments,
  type ReadOptions,
} from "../azure/estateReader.js";
import { listFederatedCredentials } from "../azure/federatedCredentials.js";
import { InventoryBuilder, type Inventory } from "../inventoryBuilder.js";
import { ServiceCallFailed } from "../errors.js";

/**
 * The access-review inventory: read everything through Resource Graph and each identity's federated
 * credentials through ARM, join, return. Evidence with a gap is no evidence: an identity whose
 * credentials could not be listed fails the inventory.
 */
export async function collectInventory(clients: AzureClients, options: ReadOptions = {}): Promise<Inventory> {
  const identitiesRead = readIdentities(clients, options);
  const [identities, roleDefinitions, attachments, listing] = await Promise.all([
    identitiesRead,
    readRoleDefinitions(clients, options),
    readAttachments(clients, options),
    identitiesRead.then((read) => listFederatedCredentials(clients, read, { ...(options.signal ? { signal: options.signal } : {}) })),
  ]);
  const [failure] = listing.failed;
  if (failure) {
    throw new ServiceCallFailed("arm", undefined, `arm: federated credentials of ${listing.failed.length} identities could not be listed (first: ${failure.identityId}: ${failure.reason})`);
  }
  const builder = new InventoryBuilder(identities, roleDefinitions);
  builder.addAttachments(attachments);
  builder.addFederatedCredentials(listing.credentials);
  for await (const page of streamRoleAssignments(clients, options)) builder.addRoleAssignments(page);
  return builder.build();
}
