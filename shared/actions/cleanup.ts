import type { QueueClient } from "@azure/storage-queue";
import pLimit from "p-limit";
import type { AzureClients } from "../azure/clients.js";
import type { Policy } from "../config/policy.js";
import { errorMessage, toServiceCallFailed } from "../errors.js";
import type { Finding } from "../findings.js";
import { executeAction } from "./executor.js";
import type { ClaimStore, Journal } from "./journal.js";
import { circuitBreakerNotice, planCleanup, type CleanupPlan, type PlanOptions } from "./plan.js";
import { recordOf, type ActionRecord, type PlannedAction } from "./types.js";
import { encodeWorkItem } from "./workItem.js";

export const CLEANUP_QUEUE = "uamiguard-cleanup";

/** How a run carries its actions out: in-process (CLI) or as work items for the queue trigger (app). */
export type CleanupDispatch = { kind: "inline"; concurrency: number } | { kind: "queue"; queue: QueueClient };

export interface CleanupRun {
  clients: AzureClients;
  policy: Policy;
  runId: string;
  caller: string;
  journal?: Journal;
  claims?: ClaimStore;
  dispatch: CleanupDispatch;
}

export interface CleanupResult {
  plan: CleanupPlan;
  actions: ActionRecord[];
  /** The critical `cleanup-circuit-breaker` notice, when the breaker tripped in enforce mode. */
  notice?: Finding;
}

/** Plans the run's actions; the breaker notice is raised only when the run was going to act. */
export function planRun(findings: Finding[], policy: Policy, options: PlanOptions, runId: string, subjectId: string): { plan: CleanupPlan; notice?: Finding } {
  const plan = planCleanup(findings, policy, options);
  const notice = plan.breaker && plan.mode === "enforce" ? circuitBreakerNotice(plan.breaker, policy, runId, subjectId) : undefined;
  return { plan, ...(notice ? { notice } : {}) };
}

/** Carries out what the plan says to run, after its records (deferred, skipped, blocked, planned). */
export async function carryOut(plan: CleanupPlan, run: CleanupRun): Promise<ActionRecord[]> {
  if (plan.toRun.length === 0) return plan.records;
  if (run.dispatch.kind === "queue") {
    const queue = run.dispatch.queue;
    try {
      await queue.createIfNotExists();
    } catch (error) {
      throw toServiceCallFailed("queueStorage", error);
    }
    const queued: ActionRecord[] = [];
    for (const action of plan.toRun) {
      try {
        await queue.sendMessage(encodeWorkItem({ version: 1, runId: run.runId, caller: run.caller, action }));
        queued.push(recordOf(action, "queued", `work item on ${CLEANUP_QUEUE}`));
      } catch (error) {
        queued.push(recordOf(action, "failed", `not queued: ${toServiceCallFailed("queueStorage", error).message}`));
      }
    }
    return [...plan.records, ...queued];
  }
  const { journal, claims } = run;
  if (!journal || !claims) throw new Error("cleanup: an enforce run needs a journal");
  // Changes to one target (two identities detached from one VM) go one after the other: each reads
  // the state the previous one left, and none is refused for holding the target's claim.
  const byTarget = new Map<string, PlannedAction[]>();
  for (const action of plan.toRun) byTarget.set(action.targetId.toLowerCase(), [...(byTarget.get(action.targetId.toLowerCase()) ?? []), action]);
  const limit = pLimit(run.dispatch.concurrency);
  const context = { clients: run.clients, policy: run.policy, journal, claims, runId: run.runId, caller: run.caller, onUnknownOutcome: "report" as const };
  const done = await Promise.all(
    [...byTarget.values()].map((actions) =>
      limit(async () => {
        const records: ActionRecord[] = [];
        for (const action of actions) {
          try {
            records.push(await executeAction(action, context));
          } catch (error) {
            // The journal itself failed (the entry is written before the change, so nothing was changed
            // without one): report it and go on; a pending entry is reconciled by the next run.
            records.push(recordOf(action, "failed", `not carried out: ${errorMessage(error)}`));
          }
        }
        return records;
      }),
    ),
  );
  return [...plan.records, ...done.flat()];
}
