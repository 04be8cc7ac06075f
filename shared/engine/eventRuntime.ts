import type { AzureClients } from "../azure/clients.js";
import type { Policy } from "../config/policy.js";
import { AttachmentBaselineStore, EventDedupeStore, GradedIdentityStore, IdentityCatalogStore } from "../state/eventStores.js";
import { TableFindingStateStore } from "../state/findingStateTable.js";
import { NotificationOutbox } from "../notify/outbox.js";
import { Notifier } from "../notify/notifier.js";
import { configuredSinks } from "../notify/sinks.js";
import type { EventDependencies } from "./eventProcessor.js";
import type { SweepJobStores } from "./sweepJob.js";
import { TableJournal } from "../state/journalTable.js";
import { CLEANUP_QUEUE } from "../actions/cleanup.js";
import { CLAIM_LEASE_MS } from "../actions/journal.js";
import type { ActionSettings } from "../actions/runActions.js";

export const TABLES = {
  findings: "uamiguardfindings",
  dedupe: "uamiguardevents",
  baseline: "uamiguardbaseline",
  identities: "uamiguardidentities",
  outbox: "uamiguardoutbox",
  journal: "uamiguardjournal",
} as const;

/** The notifier for the target's configured sinks (undefined when none is configured). */
export function notifierFor(clients: AzureClients): Notifier | undefined {
  const sinks = configuredSinks(clients);
  if (sinks.length === 0) return undefined;
  return new Notifier(sinks, new NotificationOutbox(clients.table(TABLES.outbox)), new TableFindingStateStore(clients.table(TABLES.findings)));
}

/** The stores the event path uses, on the target's Table storage. */
export function eventDependencies(clients: AzureClients, policy: Policy, options: { notify?: boolean } = {}): EventDependencies {
  const notifier = options.notify ? notifierFor(clients) : undefined;
  return {
    ...(notifier ? { notifier } : {}),
    clients,
    policy,
    dedupe: new EventDedupeStore(clients.table(TABLES.dedupe)),
    baseline: new AttachmentBaselineStore(clients.table(TABLES.baseline)),
    catalog: new IdentityCatalogStore(clients.table(TABLES.identities)),
    graded: new GradedIdentityStore(clients.table(TABLES.identities)),
  };
}

/** The stores a sweep job writes (finding state, and the event path's baseline, catalog and dedupe). */
export function sweepJobStores(clients: AzureClients, policy: Policy, options: { notify: boolean }): SweepJobStores {
  const { baseline, catalog, graded, dedupe } = eventDependencies(clients, policy);
  const notifier = options.notify ? notifierFor(clients) : undefined;
  return { findings: new TableFindingStateStore(clients.table(TABLES.findings)), baseline, catalog, dedupe, ...(graded ? { graded } : {}), ...(notifier ? { notifier } : {}) };
}

/** The app's cleanup: journal and claims in the journal table, actions as work items on the cleanup queue. */
export function queuedActions(clients: AzureClients, caller: string): ActionSettings {
  const journal = new TableJournal(clients.table(TABLES.journal));
  return {
    forceEnforce: false,
    caller,
    journal,
    claims: journal,
    dispatch: { kind: "queue", queue: clients.queue(CLEANUP_QUEUE) },
    // Younger pending entries may belong to work items still being processed on another instance.
    reconcileOlderThanMs: CLAIM_LEASE_MS,
  };
}
