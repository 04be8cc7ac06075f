import { app, type InvocationContext } from "@azure/functions";
import { executeAction } from "../shared/actions/executor.js";
import { CLEANUP_QUEUE } from "../shared/actions/cleanup.js";
import type { ActionRecord } from "../shared/actions/types.js";
import { parseWorkItem } from "../shared/actions/workItem.js";
import { TABLES } from "../shared/engine/eventRuntime.js";
import { withRunDeadline } from "../shared/azure/deadline.js";
import { TableJournal } from "../shared/state/journalTable.js";
import { appDependencies, type DependencyProvider } from "./dependencies.js";

/**
 * One cleanup work item. A malformed item is logged and dropped. An item whose rule is no longer
 * enforced (policy changed since it was queued) is dropped: the policy of now decides. A change whose
 * outcome is unknown throws, so the host retries it (maxDequeueCount in host.json) and then moves it
 * to `uamiguard-cleanup-poison`; its journal entry stays pending until a run reconciles it.
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
    const ruleId = item.action.finding.ruleId;
    if (policy.cleanup.dryRun || policy.rules[ruleId]?.mode !== "enforce") {
      context.warn(`cleanup: ${ruleId} is not enforced by the current policy; work item for ${item.action.targetId} (run ${item.runId}) dropped`);
      return undefined;
    }
    const journal = new TableJournal(clients.table(TABLES.journal));
    const record = await withRunDeadline(clients.deadlines.runMs, () =>
      executeAction(item.action, { clients, policy, journal, claims: journal, runId: item.runId, caller: item.caller, onUnknownOutcome: "throw" }),
    );
    const line = `cleanup ${item.runId}: ${record.status}: ${record.change}${record.reason ? ` (${record.reason})` : ""}`;
    if (record.status === "failed") context.error(line);
    else context.log(line);
    return record;
  };
}

export const cleanup = cleanupHandler(appDependencies);

app.storageQueue("cleanup", { queueName: CLEANUP_QUEUE, connection: "AzureWebJobsStorage", handler: cleanup });
