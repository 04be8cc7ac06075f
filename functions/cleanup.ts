import type { InvocationContext } from "@azure/functions";
import { requeueDeferred, runWorkItem } from "../shared/cleanup/pipeline.js";
import type { ActionRecord } from "../shared/cleanup/record.js";
import { messageHash, parseWorkItem, type WorkItem } from "../shared/cleanup/workItem.js";
import { CLEANUP_POISON_QUEUE, CLEANUP_QUEUE, findingStateStore, journalTable, notifierFor } from "../shared/composition.js";
import { IdentityCatalogStore } from "../shared/state/eventStores.js";
import { TABLES } from "../shared/composition.js";
import { withRunDeadline } from "../shared/azure/deadline.js";
import { budgetNotices, commitNoticesOnly } from "../shared/engine/runCommit.js";
import { circuitBreakerNotice, workItemRejectedNotice } from "../shared/notices.js";
import { recordActions, telemetry } from "../shared/telemetry.js";
import { appDependencies, workItemKeyFor, type DependencyProvider } from "./dependencies.js";

const DEFERRAL_LIMIT_MS = 24 * 3_600_000;

/**
 * One cleanup work item, trusted for nothing: an item that is malformed, not sealed by the app, or not backed
 * by the policy and the finding state of now is moved to the poison queue and raises a critical
 * cleanup-work-item-rejected notice. An item a budget deferred is queued again, invisible until its window has
 * room (expiring after 24 hours with a notice). A change whose outcome is unknown throws, so the host retries
 * it (maxDequeueCount in host.json) and then moves it to the poison queue; its journal entry stays pending.
 */
export function cleanupHandler(dependencies: DependencyProvider, options: { notify: boolean } = { notify: true }) {
  return async (message: unknown, context: InvocationContext): Promise<ActionRecord | undefined> => {
    const provided = await dependencies();
    const { clients, policy } = provided;
    const key = workItemKeyFor(provided);
    const notifier = options.notify ? notifierFor(clients) : undefined;
    const stores = { findings: findingStateStore(clients), ...(notifier ? { notifier } : {}) };
    const now = new Date();
    const runId = `work-item-${context.invocationId}`;
    const notify = (notices: Parameters<typeof commitNoticesOnly>[0]) => commitNoticesOnly(notices, { runId, mode: "work-item", now, policy }, stores);
    const reject = async (reason: string, target?: string, item?: WorkItem): Promise<undefined> => {
      const poison = clients.queue(CLEANUP_POISON_QUEUE);
      await poison.createIfNotExists();
      await poison.sendMessage(Buffer.from(typeof message === "string" ? message : JSON.stringify(message ?? null), "utf8").toString("base64"));
      const hash = messageHash(message);
      await notify([workItemRejectedNotice({ ...(target ? { targetId: target } : {}), messageHash: hash, reason, ...(item ? { ruleId: item.action.finding.ruleId, runId: item.runId } : {}) })]);
      context.error(`cleanup: work item ${hash} rejected and moved to ${CLEANUP_POISON_QUEUE}: ${reason}`);
      return undefined;
    };
    const parsed = parseWorkItem(message);
    if (!parsed.ok) return reject(`not a work item: ${parsed.reason}`, parsed.target);
    const { item } = parsed;
    const journal = journalTable(clients);
    const stats = await new IdentityCatalogStore(clients.table(TABLES.identities)).sweepStats();
    const outcome = await telemetry().span("cleanup", { "uamiguard.runId": item.runId }, () =>
      withRunDeadline(clients.deadlines.runMs, () =>
        runWorkItem(item, { clients, policy, journal, leases: journal }, { key, findingState: stores.findings, ...(stats ? { lastSweepRoleAssignments: stats.roleAssignments } : {}) }),
      ),
    );
    if ("rejected" in outcome) return reject(outcome.rejected, item.action.targetId, item);
    const { record } = outcome;
    recordActions([record]);
    const line = `cleanup ${item.runId}: ${record.status}: ${record.change}${record.reason ? ` (${record.reason})` : ""}`;
    if (record.status === "failed" || record.status === "unknown") context.error(line);
    else context.log(line);
    if (record.status === "deferred") {
      const since = Date.parse(item.deferredSince ?? now.toISOString());
      if (now.getTime() - since >= DEFERRAL_LIMIT_MS) {
        const window = { start: new Date(since), end: now };
        await notify([circuitBreakerNotice({ budget: "expired", runId: item.runId, window, reason: `${record.change}: still deferred after 24 hours (${record.reason ?? ""}); not carried out`, evidence: { target: record.target } })]);
        context.error(`cleanup ${item.runId}: critical cleanup-circuit-breaker: ${record.change} expired after 24 hours deferred`);
      } else {
        // docs/guarantees.md "Deferred is not dropped": back on the queue, invisible until the window has room.
        await requeueDeferred(item, { kind: "queue", queue: clients.queue(CLEANUP_QUEUE), key }, new Date(record.budget?.roomAt ?? now.getTime() + 3_600_000), now);
      }
      const notices = budgetNotices([record], item.runId, now);
      if (notices.length > 0) {
        const committed = await notify(notices);
        for (const notice of committed.notices) context.error(`cleanup ${item.runId}: critical cleanup-circuit-breaker ${notice.subjectId}: ${notice.message}`);
      }
    }
    return record;
  };
}

export const cleanup = cleanupHandler(appDependencies);
