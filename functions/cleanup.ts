import { app, type InvocationContext } from "@azure/functions";
import { runWorkItem } from "../shared/cleanup/pipeline.js";
import type { ActionRecord } from "../shared/cleanup/record.js";
import { parseWorkItem } from "../shared/cleanup/workItem.js";
import { CLEANUP_QUEUE, journalTable } from "../shared/composition.js";
import { withRunDeadline } from "../shared/azure/deadline.js";
import { recordActions, telemetry } from "../shared/telemetry.js";
import { appDependencies, type DependencyProvider } from "./dependencies.js";

/**
 * One cleanup work item. A malformed item is logged and dropped. An item whose rule is no longer
 * enforced (policy changed since it was queued) is dropped: the policy of now decides. A change whose
 * outcome is unknown throws, so the host retries it (maxDequeueCount in host.json) and then moves it
 * to the poison queue; its journal entry stays pending until a run reconciles it.
 */
export function cleanupHandler(dependencies: DependencyProvider) {
  return async (message: unknown, context: InvocationContext): Promise<ActionRecord | undefined> => {
    const parsed = parseWorkItem(message);
    if (!parsed.ok) {
      context.warn(`cleanup: malformed work item ${context.invocationId} dropped: ${parsed.reason}`);
      return undefined;
    }
    const { item } = parsed;
    const { clients, policy } = await dependencies();
    const journal = journalTable(clients);
    const outcome = await telemetry().span("cleanup", { "uamiguard.runId": item.runId }, () => withRunDeadline(clients.deadlines.runMs, () => runWorkItem(item, { clients, policy, journal, leases: journal })));
    if ("dropped" in outcome) {
      context.warn(`cleanup: ${outcome.dropped}`);
      return undefined;
    }
    const { record } = outcome;
    recordActions([record]);
    const line = `cleanup ${item.runId}: ${record.status}: ${record.change}${record.reason ? ` (${record.reason})` : ""}`;
    if (record.status === "failed" || record.status === "unknown") context.error(line);
    else context.log(line);
    // The window's one critical notice (docs/guarantees.md "One budget across runs").
    if (record.budgetNotice) context.error(`cleanup ${item.runId}: critical cleanup-circuit-breaker: ${record.budgetNotice}; further actions are deferred`);
    return record;
  };
}

export const cleanup = cleanupHandler(appDependencies);

app.storageQueue("cleanup", { queueName: CLEANUP_QUEUE, connection: "AzureWebJobsStorage", handler: cleanup });
