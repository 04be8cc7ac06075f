import type { AzureClients } from "../azure/clients.js";
import type { Policy } from "../config/policy.js";
import type { AttachmentBaselineStore, DeliveryRecordStore, GradedIdentityStore, IdentityCatalogStore } from "../state/eventStores.js";
import type { AttachedResource, GradedIdentity, Identity } from "../model.js";
import type { SweepIndex } from "../rules/lib/sweepIndex.js";
import type { Notifier } from "../notify/notifier.js";
import type { SelfRoleAssignmentStore } from "../state/selfRoleAssignments.js";
import type { DispatchResult } from "../notify/dispatcher.js";
import { sweepScopeKey } from "../state/findingStateTable.js";
import { budgetNotice, planCleanup } from "../cleanup/plan.js";
import { sortFindings, type RunReport } from "../findings.js";
import { runCleanup, withPlan, type CleanupOptions } from "../cleanup/pipeline.js";
import { commitSweep, rulesWithUnknowns, sightingsFrom, type FindingStateStore, type LifecycleResult } from "./findingLifecycle.js";
import { recordSweep } from "../telemetry.js";
import { CHECK_AFFECTS } from "../rules/index.js";
import { runSweep, type SweepOptions } from "./sweep.js";

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
 * One sweep, trigger to cleanup: read the estate and run the rules; plan cleanup from the findings
 * and the finding state (the breaker notice joins the findings); commit the finding lifecycle and
 * notify; refresh the event path's stores; then carry the plan out.
 */
export async function runSweepJob(
  clients: AzureClients,
  policy: Policy,
  stores: SweepJobStores,
  options: SweepOptions & { cleanup?: CleanupOptions } = {},
): Promise<SweepJobResult> {
  const now = options.now ?? new Date();
  const scope = sweepScopeKey(options.subscriptions ?? []);
  const previous = await stores.findings.load(scope);
  let read: { identities: Identity[]; attachments: AttachedResource[] } | undefined;
  let graded: { identities: GradedIdentity[]; subscriptions: Set<string> } | undefined;
  let selfRoleAssignments: string[] = [];
  let report = await runSweep(clients, policy, {
    ...options,
    now,
    onInventory: (identities, attachments) => (read = { identities, attachments }),
    ...(stores.graded ? { collectExposure: true, onIndex: (index: SweepIndex) => (graded = gradedIdentities(index)) } : {}),
    onSelfRoleAssignments: (ids) => (selfRoleAssignments = ids),
  });
  const { cleanup } = options;
  const planned = cleanup
    ? planCleanup(report.findings, policy, { forceEnforce: cleanup.forceEnforce, ...sightingsFrom(previous), roleAssignmentsSeen: report.summary.roleAssignments, now, runId: report.runId, scope })
    : undefined;
  if (planned && cleanup) report = withPlan(report, planned, cleanup);
  const notifier = stores.notifier;
  const sweptReport = report;
  const { lifecycle, notifications } = await commitSweep(
    stores.findings,
    scope,
    previous,
    report.findings,
    { now, unknownRules: rulesWithUnknowns(report.incomplete, CHECK_AFFECTS) },
    notifier ? (changes) => notifier.afterSweep(changes, sweptReport, policy, now) : undefined,
  );
  if (read) {
    await stores.baseline?.setMany(read.attachments.map((resource) => [resource.id, resource.userAssignedIdentityIds]));
    await stores.catalog?.putMany(read.identities.map((identity) => ({ identityId: identity.id, principalId: identity.principalId, clientId: identity.clientId })));
  }
  if (graded) await stores.graded?.replace(graded.identities, graded.subscriptions);
  await stores.selfAssignments?.putMany(selfRoleAssignments, now);
  await stores.dedupe?.purge(new Date(now.getTime() - DEDUPE_RETENTION_MS));
  if (planned && cleanup) {
    const actions = await runCleanup(planned.plan, report.runId, cleanup);
    const notice = budgetNotice(actions, policy, report.runId, scope);
    report = { ...report, actions, ...(notice ? { findings: sortFindings([...report.findings, notice]) } : {}) };
  }
  recordSweep(report, policy, notifications?.pending);
  return { report, lifecycle, ...(notifications ? { notifications } : {}) };
}
