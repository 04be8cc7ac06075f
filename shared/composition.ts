import type { AzureClients, AzureTarget } from "./azure/clients.js";
import type { Policy } from "./config/policy.js";
import type { AppSettings } from "./config/settings.js";
import { LEASE_MS } from "./cleanup/journal.js";
import type { CleanupOptions } from "./cleanup/pipeline.js";
import type { DeliveryPolicy, EventDependencies } from "./engine/eventProcessor.js";
import type { SweepJobStores } from "./engine/sweepJob.js";
import { NotificationOutbox } from "./state/outbox.js";
import { Notifier } from "./notify/notifier.js";
import { configuredSinks, type SinkEndpoints } from "./notify/sinks.js";
import { AttachmentBaselineStore, DeliveryRecordStore, GradedIdentityStore, IdentityCatalogStore } from "./state/eventStores.js";
import { TableFindingStateStore } from "./state/findingStateTable.js";
import { TableJournal } from "./state/journalTable.js";
import { SelfRoleAssignmentStore } from "./state/selfRoleAssignments.js";
import { readDesiredStateSources } from "./engine/desiredStateSources.js";
import type { SourceRead } from "./desiredState/model.js";
import { CLEANUP_QUEUE } from "./cleanupQueue.js";

/**
 * The composition root: the one place that names every table and queue and builds the stores,
 * sinks and cleanup options on them. Triggers (functions/), `serve` and the CLI ask here; nothing
 * else constructs a store on a table by name.
 */

export const TABLES = {
  findings: "uamiguardfindings",
  dedupe: "uamiguardevents",
  baseline: "uamiguardbaseline",
  identities: "uamiguardidentities",
  outbox: "uamiguardoutbox",
  journal: "uamiguardjournal",
} as const;

export { CLEANUP_QUEUE, CLEANUP_POISON_QUEUE } from "./cleanupQueue.js";

/** The finding state (table `uamiguardfindings`): one instance per run, written once per run. */
export function findingStateStore(clients: AzureClients): TableFindingStateStore {
  return new TableFindingStateStore(clients.table(TABLES.findings));
}

/** The journal table, which is also the lease store. */
export function journalTable(clients: AzureClients): TableJournal {
  return new TableJournal(clients.table(TABLES.journal));
}

/** The emulator's DCR immutable id: any well-formed value, the emulator keeps what it receives. */
export const EMULATOR_DCR_ID = "dcr-00000000000000000000000000000000";

/** Where notifications go for this target: the emulator's own sinks, or the app settings'. */
export function sinkEndpointsFor(target: AzureTarget): SinkEndpoints {
  if (target.kind === "emulator") {
    return {
      teamsWebhookUrl: `${target.url}/teams/workflows/uami-guard`,
      logsIngestion: { endpoint: `${target.url}/ingestion`, dcrImmutableId: EMULATOR_DCR_ID, stream: "Custom-UamiGuardFindings" },
      eventGrid: { endpoint: `${target.url}/eventgrid/api/events` },
    };
  }
  const settings = target.settings;
  const sinks: SinkEndpoints = {};
  if (settings.TEAMS_WEBHOOK_URL) sinks.teamsWebhookUrl = settings.TEAMS_WEBHOOK_URL;
  if (settings.LOGS_INGESTION_ENDPOINT && settings.LOGS_INGESTION_DCR_ID) {
    sinks.logsIngestion = { endpoint: settings.LOGS_INGESTION_ENDPOINT, dcrImmutableId: settings.LOGS_INGESTION_DCR_ID, stream: settings.LOGS_INGESTION_STREAM };
  }
  if (settings.EVENTGRID_TOPIC_ENDPOINT) {
    sinks.eventGrid = { endpoint: settings.EVENTGRID_TOPIC_ENDPOINT, ...(settings.EVENTGRID_TOPIC_KEY ? { key: settings.EVENTGRID_TOPIC_KEY } : {}) };
  }
  return sinks;
}

/** The notifier for the target's configured sinks (undefined when none is configured). */
export function notifierFor(clients: AzureClients): Notifier | undefined {
  const sinks = configuredSinks(clients, sinkEndpointsFor(clients.origin));
  if (sinks.length === 0) return undefined;
  return new Notifier(sinks, new NotificationOutbox(clients.table(TABLES.outbox)));
}

/**
 * The stores the event path uses, on the target's Table storage. `delivery`: the event subscription's retry
 * policy the app counts deliveries against (absent: one delivery, as replay makes).
 */
export function eventDependencies(clients: AzureClients, policy: Policy, options: { notify?: boolean; delivery?: DeliveryPolicy } = {}): EventDependencies {
  const notifier = options.notify ? notifierFor(clients) : undefined;
  return {
    ...(notifier ? { notifier } : {}),
    ...(options.delivery ? { delivery: options.delivery } : {}),
    findingState: findingStateStore(clients),
    clients,
    policy,
    dedupe: new DeliveryRecordStore(clients.table(TABLES.dedupe)),
    baseline: new AttachmentBaselineStore(clients.table(TABLES.baseline)),
    catalog: new IdentityCatalogStore(clients.table(TABLES.identities)),
    journal: journalTable(clients),
    ...(policy.desiredState.sources.length > 0 ? { desiredState: desiredStateReader(clients, policy) } : {}),
    graded: new GradedIdentityStore(clients.table(TABLES.identities)),
    // The app's own role assignments live in the identities table, in a partition of their own.
    selfAssignments: new SelfRoleAssignmentStore(clients.table(TABLES.identities)),
  };
}

/** The event subscription's retry policy as the app settings give it (infra sets both from one parameter). */
export function deliveryPolicyOf(settings: Pick<AppSettings, "UAMI_GUARD_EVENT_MAX_DELIVERY_ATTEMPTS" | "UAMI_GUARD_EVENT_TTL_MINUTES">): DeliveryPolicy {
  return { maxAttempts: settings.UAMI_GUARD_EVENT_MAX_DELIVERY_ATTEMPTS, ttlMinutes: settings.UAMI_GUARD_EVENT_TTL_MINUTES };
}

/** How long the event path keeps the desired-state sources it read: a pipeline publishes after each apply, events come in bursts. */
const DESIRED_STATE_CACHE_MS = 60_000;

/** The policy's desired-state sources for the event path, read at most once a minute per process (an unreadable read is not kept). */
export function desiredStateReader(clients: AzureClients, policy: Policy): () => Promise<SourceRead[]> {
  let cached: { at: number; sources: Promise<SourceRead[]> } | undefined;
  return () => {
    const now = Date.now();
    if (!cached || now - cached.at > DESIRED_STATE_CACHE_MS) {
      const sources = readDesiredStateSources(policy.desiredState.sources, clients);
      cached = { at: now, sources };
      void sources.then((read) => {
        if (read.some((source) => !source.ok) && cached?.sources === sources) cached = undefined;
      });
    }
    return cached.sources;
  };
}

/** The stores a sweep job writes (finding state, and the event path's baseline, catalog and dedupe). */
export function sweepJobStores(clients: AzureClients, policy: Policy, options: { notify: boolean }): SweepJobStores {
  const { baseline, catalog, graded, dedupe, selfAssignments } = eventDependencies(clients, policy);
  const notifier = options.notify ? notifierFor(clients) : undefined;
  return { findings: findingStateStore(clients), baseline, catalog, dedupe, ...(graded ? { graded } : {}), ...(selfAssignments ? { selfAssignments } : {}), ...(notifier ? { notifier } : {}) };
}

/**
 * The app's cleanup: journal and leases in the journal table, actions as work items on the cleanup
 * queue. `reconcile`: the sweep reconciles pending entries older than a lease (younger ones may be
 * work items in flight on another instance); the event path leaves that to the sweeps.
 */
export function appCleanup(clients: AzureClients, policy: Policy, caller: string, options: { reconcile: boolean; key: Buffer }): CleanupOptions {
  const journal = journalTable(clients);
  return {
    clients,
    policy,
    forceEnforce: false,
    caller,
    journal,
    leases: journal,
    dispatch: { kind: "queue", queue: clients.queue(CLEANUP_QUEUE), key: options.key },
    ...(options.reconcile ? { reconcileOlderThanMs: LEASE_MS } : {}),
  };
}
