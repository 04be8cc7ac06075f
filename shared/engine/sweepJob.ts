import type { AzureClients } from "../azure/clients.js";
import type { Policy } from "../config/policy.js";
import type { AttachmentBaselineStore, DeliveryRecordStore, GradedIdentityStore, IdentityCatalogStore } from "../state/eventStores.js";
import type { AttachedResource, GradedIdentity, Identity } from "../model.js";
import type { SweepIndex } from "../rules/lib/sweepIndex.js";
import type { Notifier } from "../notify/notifier.js";
import type { SelfRoleAssignment, SelfRoleAssignmentStore } from "../state/selfRoleAssignments.js";
import type { DispatchResult } from "../notify/dispatcher.js";
import { sweepScopeKey } from "../state/findingStateTable.js";
import { planCleanup } from "../cleanup/plan.js";
import { sortFindings, type RunReport } from "../findings.js";
import { withPlan, type CleanupOptions } from "../cleanup/pipeline.js";
import { rulesWithUnknowns, sightingsFrom, type FindingStateStore, type LifecycleResult } from "./findingLifecycle.js";
import { commitRun } from "./runCommit.js";
import { recordSweep } from "../telemetry.js";
import { CHECK_AFFECTS } from "../rules/index.js";
import { runSweep, type SweepOptions } from "./sweep.js";
import { cleanupGuard } from "../desiredState/approval.js";
import type { SourceRead } from "../desiredState/model.js";

export interface SweepJobResult {
  report: RunReport;
  lifecycle: LifecycleResult;
  notifications?: DispatchResult;
}

/** A sweep plus finding state: what the timer function (and the CLI) runs. */
export interface SweepJobStores {
  findings: FindingStateStore;
  /** Refreshed from what the sweep read, so event handling compares against current attachments. */
  baseline?: AttachmentBaselineStore;
  catalog?: IdentityCatalogStore;
  /** The graded identities, for identity-assign-right-granted. */
  graded?: GradedIdentityStore;
  /** The app's own role assignments, for governance-tampering on their delete events. */
  selfAssignments?: SelfRoleAssignmentStore;
  dedupe?: DeliveryRecordStore;
  notifier?: Notifier;
}

const DEDUPE_RETENTION_MS = 48 * 3_600_000;

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


/**
 * One sweep, trigger to cleanup: read the estate and run the rules; plan cleanup from the findings and the
 * finding state (the breaker notice joins the findings); then the run commit (runCommit.ts) — outbox,
 * finding state, cleanup, notices, and last the event path's stores (baseline, identity catalog).
 */
export async function runSweepJob(
  clients: AzureClients,
  policy: Policy,
  stores: SweepJobStores,
  options: SweepOptions & { cleanup?: CleanupOptions } = {},
): Promise<SweepJobResult> {
  const now = options.now ?? new Date();
  const scope = sweepScopeKey(options.subscriptions ?? []);
  let read: { identities: Identity[]; attachments: AttachedResource[] } | undefined;
  let graded: { identities: GradedIdentity[]; subscriptions: Set<string> } | undefined;
  let selfRoleAssignments: SelfRoleAssignment[] = [];
  let desired: SourceRead[] | undefined;
  let report = await runSweep(clients, policy, {
    ...options,
    now,
    onInventory: (identities, attachments) => (read = { identities, attachments }),
    ...(stores.graded ? { collectExposure: true, onIndex: (index: SweepIndex) => (graded = gradedIdentities(index)) } : {}),
    onSelfRoleAssignments: (assignments) => (selfRoleAssignments = assignments),
    onDesiredState: (sources) => (desired = sources),
  });
  // Read after the sweep, not beside it: at a million role assignments the partition holds ~290,000 records, and the
  // sweep's peak is most of the heap. Without snapshots (~3 KB each): the commit reads those its notices need.
  const previous = await stores.findings.load(scope, { snapshots: false });
  const { cleanup } = options;
  const planned = cleanup
    ? planCleanup(report.findings, policy, {
        forceEnforce: cleanup.forceEnforce,
        ...sightingsFrom(previous),
        roleAssignmentsSeen: report.summary.roleAssignments,
        now,
        runId: report.runId,
        scope,
        ...(desired ? { declared: cleanupGuard(desired) } : {}),
      })
    : undefined;
  if (planned && cleanup) report = withPlan(report, planned, cleanup);
  const complete = report.incomplete.length === 0;
  const after: Array<() => Promise<unknown>> = [];
  const snapshot = read;
  if (snapshot) {
    after.push(() => stores.baseline?.setMany(snapshot.attachments.map((resource) => [resource.id, resource.userAssignedIdentityIds])) ?? Promise.resolve());
    after.push(() => stores.catalog?.putMany(catalogEntries(snapshot.identities, snapshot.attachments)) ?? Promise.resolve());
  }
  const gradedNow = graded;
  if (gradedNow) after.push(() => stores.graded?.replace(gradedNow.identities, gradedNow.subscriptions) ?? Promise.resolve());
  after.push(() => stores.selfAssignments?.putMany(selfRoleAssignments, now) ?? Promise.resolve());
  // The base of the 24-hour delete budget for work items: the role assignments of the last complete sweep.
  if (complete) after.push(() => stores.catalog?.putSweepStats({ roleAssignments: report.summary.roleAssignments, at: now.toISOString() }) ?? Promise.resolve());
  after.push(() => stores.dedupe?.purge(new Date(now.getTime() - DEDUPE_RETENTION_MS)) ?? Promise.resolve());
  const committed = await commitRun(
    {
      runId: report.runId,
      mode: "sweep",
      now,
      policy,
      state: { scope, previous, unknownRules: rulesWithUnknowns(report.incomplete, CHECK_AFFECTS) },
      findings: report.findings,
      ...(planned ? { plan: planned.plan } : {}),
      report,
      after,
    },
    { findings: stores.findings, ...(stores.notifier ? { notifier: stores.notifier } : {}), ...(cleanup ? { cleanup } : {}) },
  );
  if (planned) report = { ...report, actions: committed.actions };
  const raised = committed.notices.filter((notice) => !report.findings.some((finding) => finding.fingerprint === notice.fingerprint));
  if (raised.length > 0) report = { ...report, findings: sortFindings([...report.findings, ...raised]) };
  recordSweep(report, policy, committed.notifications?.pending);
  return { report, lifecycle: committed.lifecycle, ...(committed.notifications ? { notifications: committed.notifications } : {}) };
}

/** The identity catalog: each identity's principal and the resources it was attached to when the sweep read them. */
function catalogEntries(identities: Identity[], attachments: AttachedResource[]) {
  const usedBy = new Map<string, string[]>();
  for (const resource of attachments) {
    for (const identityId of resource.userAssignedIdentityIds) {
      const key = identityId.toLowerCase();
      usedBy.set(key, [...(usedBy.get(key) ?? []), resource.id]);
    }
  }
  return identities.map((identity) => ({ identityId: identity.id, principalId: identity.principalId, clientId: identity.clientId, attachedTo: usedBy.get(identity.id.toLowerCase()) ?? [] }));
}
