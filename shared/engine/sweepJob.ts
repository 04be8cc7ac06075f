import type { AzureClients } from "../azure/clients.js";
import type { Policy } from "../config/policy.js";
import type { RunReport } from "../findings.js";
import type { FindingStateStore } from "../state/findingStateTable.js";
import type { AttachmentBaselineStore, EventDedupeStore, GradedIdentityStore, IdentityCatalogStore } from "../state/eventStores.js";
import type { AttachedResource, GradedIdentity, Identity } from "../model.js";
import type { SweepIndex } from "../rules/lib/sweepIndex.js";
import type { Notifier } from "../notify/notifier.js";
import type { DispatchResult } from "../notify/dispatcher.js";
import { sweepScopeKey } from "../state/findingStateTable.js";
import { applyRun, rulesWithUnknowns, type LifecycleResult } from "./findingLifecycle.js";
import { CHECK_AFFECTS, runSweep, type SweepOptions } from "./sweep.js";
import { planActions, takeActions, type ActionSettings } from "../actions/runActions.js";
import type { FindingRecord } from "./findingLifecycle.js";

export interface SweepJobResult {
  report: RunReport;
  lifecycle: LifecycleResult;
  notifications?: DispatchResult;
}

/** A sweep plus finding state: what the timer function (and the CLI with --state) runs. */
export interface SweepJobStores {
  findings: FindingStateStore;
  /** Refreshed from what the sweep read, so event handling compares against current attachments. */
  baseline?: AttachmentBaselineStore;
  catalog?: IdentityCatalogStore;
  /** The graded identities, for identity-assign-right-granted. */
  graded?: GradedIdentityStore;
  dedupe?: EventDedupeStore;
  notifier?: Notifier;
}

const DEDUPE_RETENTION_MS = 48 * 3_600_000;

/** What the finding state says of a finding seen in this run: its confirmations and its first sighting. */
export function sightingsFrom(previous: Map<string, FindingRecord>): { consecutive: (fingerprint: string) => number; firstSeen: (fingerprint: string) => string | undefined } {
  const open = (fingerprint: string): FindingRecord | undefined => {
    const before = previous.get(fingerprint);
    return before?.status === "open" ? before : undefined;
  };
  // The same arithmetic as applyRun: an open record counts on, anything else starts at 1.
  return { consecutive: (fingerprint) => (open(fingerprint)?.consecutive ?? 0) + 1, firstSeen: (fingerprint) => open(fingerprint)?.firstSeen };
}

/** The critical/high identities of a sweep, with what the event rule needs to judge a new grant over them. */
export function gradedIdentities(index: SweepIndex): { identities: GradedIdentity[]; subscriptions: Set<string> } {
  const identities: GradedIdentity[] = [];
  const collector = index.inventory.exposure;
  for (const identity of collector ? index.inventory.identities : []) {
    const graded = collector?.gradeOf(identity);
    if (!graded) continue;
    identities.push({
      identityId: identity.id,
      principalId: identity.principalId,
      grade: graded.grade === "critical" ? "critical" : "high",
      gradeScopes: graded.scopes,
      managementGroups: [...index.scopeTree.groupsOf(identity.subscriptionId)],
    });
  }
  return { identities, subscriptions: index.inventory.subscriptionsInScope };
}

export async function runSweepJob(
  clients: AzureClients,
  policy: Policy,
  stores: SweepJobStores,
  options: SweepOptions & { actions?: ActionSettings } = {},
): Promise<SweepJobResult> {
  const now = options.now ?? new Date();
  const scope = sweepScopeKey(options.subscriptions ?? []);
  const previous = await stores.findings.load(scope);
  let read: { identities: Identity[]; attachments: AttachedResource[] } | undefined;
  let graded: { identities: GradedIdentity[]; subscriptions: Set<string> } | undefined;
  const report = await runSweep(clients, policy, {
    ...options,
    now,
    onInventory: (identities, attachments) => (read = { identities, attachments }),
    ...(stores.graded ? { collectExposure: true, onIndex: (index: SweepIndex) => (graded = gradedIdentities(index)) } : {}),
  });
  const plan = options.actions
    ? planActions(report, policy, options.actions, { ...sightingsFrom(previous), roleAssignmentsSeen: report.summary.roleAssignments, now }, scope)
    : undefined;
  const lifecycle = applyRun(previous, report.findings, { now, unknownRules: rulesWithUnknowns(report.incomplete, CHECK_AFFECTS) });
  await stores.findings.save(scope, lifecycle.changed);
  if (read) {
    await stores.baseline?.setMany(read.attachments.map((resource) => [resource.id, resource.userAssignedIdentityIds]));
    await stores.catalog?.putMany(read.identities.map((identity) => ({ identityId: identity.id, principalId: identity.principalId, clientId: identity.clientId })));
  }
  if (graded) await stores.graded?.replace(graded.identities, graded.subscriptions);
  await stores.dedupe?.purge(new Date(now.getTime() - DEDUPE_RETENTION_MS));
  const notifications = await stores.notifier?.afterSweep(scope, lifecycle, report, policy, now);
  if (plan && options.actions) await takeActions(report, plan, clients, policy, options.actions);
  return { report, lifecycle, ...(notifications ? { notifications } : {}) };
}
