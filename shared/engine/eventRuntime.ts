import type { AzureClients } from "../azure/clients.js";
import type { Policy } from "../config/policy.js";
import { AttachmentBaselineStore, EventDedupeStore, IdentityCatalogStore } from "../state/eventStores.js";
import type { EventDependencies } from "./eventProcessor.js";

export const TABLES = {
  findings: "uamiguardfindings",
  dedupe: "uamiguardevents",
  baseline: "uamiguardbaseline",
  identities: "uamiguardidentities",
} as const;

/** The stores the event path uses, on the target's Table storage. */
export function eventDependencies(clients: AzureClients, policy: Policy): EventDependencies {
  return {
    clients,
    policy,
    dedupe: new EventDedupeStore(clients.table(TABLES.dedupe)),
    baseline: new AttachmentBaselineStore(clients.table(TABLES.baseline)),
    catalog: new IdentityCatalogStore(clients.table(TABLES.identities)),
  };
}
