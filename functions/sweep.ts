import type { InvocationContext, Timer } from "@azure/functions";
import { runSweepJob } from "../shared/engine/sweepJob.js";
import { appCleanup, sweepJobStores } from "../shared/composition.js";
import { actingIdentity } from "../shared/azure/caller.js";
import { withRunDeadline } from "../shared/azure/deadline.js";
import { telemetry } from "../shared/telemetry.js";
import { appDependencies, workItemKeyFor, type DependencyProvider } from "./dependencies.js";

/** The scheduled sweep: findings, finding state (first/last seen, confirmations, resolution). */
export function sweepHandler(dependencies: DependencyProvider, options: { notify: boolean } = { notify: true }) {
  return async (timer: Timer, context: InvocationContext): Promise<void> => {
    const runId = `sweep-${context.invocationId}`;
    await telemetry().span("sweep", { "uamiguard.runId": runId }, () => runSweepFunction(dependencies, options, timer, context, runId));
  };
}

async function runSweepFunction(dependencies: DependencyProvider, options: { notify: boolean }, timer: Timer, context: InvocationContext, runId: string): Promise<void> {
  const provided = await dependencies();
  const { clients, policy, settings } = provided;
  if (timer.isPastDue) context.warn("sweep: timer is past due; running now");
  const stores = sweepJobStores(clients, policy, options);
  const cleanup = appCleanup(clients, policy, await actingIdentity(clients), { reconcile: true, key: workItemKeyFor(provided) });
  const { report, lifecycle, notifications } = await withRunDeadline(clients.deadlines.runMs, () =>
    runSweepJob(clients, policy, stores, { subscriptions: settings.UAMI_GUARD_SUBSCRIPTIONS, runId, cleanup }),
  );
  const { summary } = report;
  context.log(
    `sweep ${report.runId}: ${summary.findings} findings (${summary.bySeverity.critical} critical, ${summary.bySeverity.high} high), ` +
      `${lifecycle.opened.length} new, ${lifecycle.resolved.length} resolved, ${summary.suppressed} suppressed, ` +
      `${summary.identities} identities, ${summary.roleAssignments} role assignments`,
  );
  for (const entry of report.incomplete) context.warn(`sweep ${report.runId}: incomplete ${entry.check}: ${entry.reason}`);
  for (const error of notifications?.errors ?? []) context.warn(`sweep ${report.runId}: notification pending: ${error}`);
  if (report.cleanup?.breaker) context.error(`sweep ${report.runId}: cleanup circuit breaker tripped, no action taken: ${report.cleanup.breaker}`);
  for (const notice of report.findings.filter((finding) => finding.ruleId === "cleanup-circuit-breaker")) context.error(`sweep ${report.runId}: critical cleanup-circuit-breaker ${notice.subjectId}: ${notice.message}`);
  const counts = new Map<string, number>();
  for (const action of report.actions) counts.set(action.status, (counts.get(action.status) ?? 0) + 1);
  if (counts.size > 0) context.log(`sweep ${report.runId}: cleanup (${report.cleanup?.mode ?? "off"}): ${[...counts].map(([status, count]) => `${count} ${status}`).join(", ")}`);
}

export const sweep = sweepHandler(appDependencies);
