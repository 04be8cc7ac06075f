import type { AzureClients } from "../azure/clients.js";
import { getDirectoryObjectsByIds, GET_BY_IDS_LIMIT } from "../azure/directory.js";
import { defaultPolicy, type Policy } from "../config/policy.js";
import {
  readAttachments,
  readIdentities,
  readRoleDefinitions,
  readSubscriptions,
  streamRoleAssignments,
  type ReadOptions,
} from "../azure/estateReader.js";
import { listFederatedCredentials } from "../azure/federatedCredentials.js";
import { InventoryBuilder, type Inventory } from "../inventoryBuilder.js";
import { ServiceCallFailed } from "../errors.js";
import type { Incomplete } from "../model.js";
import { completePrivilege, eligibilityScopes, groupExpanderFor, readEligibilities, readEntra } from "./privilegeReads.js";

/**
 * The access-review inventory: read everything through Resource Graph and each identity's federated
 * credentials through ARM, join, grade, and work out who can act as each graded identity (`policy` gives
 * the exclusions). Evidence with a gap is no evidence: an identity whose credentials could not be listed
 * fails the inventory. Exposure holders are looked up in Microsoft Graph so a deleted one is left out as
 * the sweep leaves it out; a failed lookup leaves them in (unknown, not deleted).
 */
export async function collectInventory(clients: AzureClients, options: ReadOptions & { policy?: Policy; now?: Date } = {}): Promise<Inventory> {
  const policy = options.policy ?? defaultPolicy();
  const gaps: Incomplete[] = [];
  const entraRead = readEntra(clients, gaps);
  const identitiesRead = readIdentities(clients, options);
  const [identities, roleDefinitions, attachments, subscriptions, listing] = await Promise.all([
    identitiesRead,
    readRoleDefinitions(clients, options),
    readAttachments(clients, options),
    readSubscriptions(clients, options),
    identitiesRead.then((read) => listFederatedCredentials(clients, read, { ...(options.signal ? { signal: options.signal } : {}) })),
  ]);
  const [failure] = listing.failed;
  if (failure) {
    throw new ServiceCallFailed("arm", undefined, `arm: federated credentials of ${listing.failed.length} identities could not be listed (first: ${failure.identityId}: ${failure.reason})`);
  }
  const eligibilitiesRead = readEligibilities(clients, eligibilityScopes(subscriptions, options.subscriptions), options.now ?? new Date(), gaps);
  const builder = new InventoryBuilder(identities, roleDefinitions, policy);
  builder.addAttachments(attachments);
  builder.addFederatedCredentials(listing.credentials);
  for await (const page of streamRoleAssignments(clients, options)) builder.addRoleAssignments(page);
  const [entra, eligibilities] = await Promise.all([entraRead, eligibilitiesRead]);
  await completePrivilege(builder.exposure, groupExpanderFor(clients, () => builder.exposure, options.signal), { entra, eligibilities }, gaps);
  const [gap] = gaps;
  if (gap) throw new ServiceCallFailed(gap.check === "role-eligibility" ? "arm" : "graph", undefined, `${gap.check}: ${gap.reason}`);
  const holders = builder.exposureHolders(policy, subscriptions);
  for (let at = 0; at < holders.length; at += GET_BY_IDS_LIMIT) {
    const batch = holders.slice(at, at + GET_BY_IDS_LIMIT);
    const found = await getDirectoryObjectsByIds(clients.graph, batch).catch(() => undefined);
    if (!found) continue;
    const byId = new Map(found.map((object) => [object.id.toLowerCase(), object]));
    for (const id of batch) {
      const object = byId.get(id.toLowerCase());
      builder.exposure.setStatus(id, object ? { state: "found", object } : { state: "missing" });
    }
  }
  return builder.build(policy, subscriptions);
}
