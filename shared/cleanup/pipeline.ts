import type { QueueClient } from "@azure/storage-queue";
import pLimit from "p-limit";
import type { AzureClients } from "../azure/clients.js";
import type { Policy } from "../config/policy.js";
import { ServiceCallFailed, errorMessage, toServiceCallFailed } from "../errors.js";
import { sortFindings, summarize, type RunReport } from "../findings.js";
import { changeVisible, prepareChange, type Prepared } from "./changes.js";
import { LEASE_MS, entryIdFor, targetKeyOf, type Journal, type LeaseStore } from "./journal.js";
import type { CleanupPlan, Planned } from "./plan.js";
import type { ActionRecord } from "./record.js";
import { recordOf, type JournalEntry, type PlannedAction } from "./types.js";
import { encodeWorkItem, sealIsValid, sealWorkItem, type WorkItem } from "./workItem.js";
import { actionForRule } from "../rules/index.js";
import { idKey } from "../model.js";
import type { FindingStateStore } from "../engine/findingLifecycle.js";

/**
 * The one cleanup pipeline after planning: lease → re-read → journal → change → verify → finish, and
 * reconcile what an earlier run left pending. The sweep job, the event path, the queue trigger, the
 * CLI (`sweep`, `replay`) all come through `runCleanup` or `runWorkItem`; both end in `executeAction`.
 */

/**
 * How a run carries its actions out: in-process (CLI) or as work items for the queue trigger (app), sealed
 * with the app's work-item key (UAMI_GUARD_WORK_ITEM_KEY).
 */
export type CleanupDispatch = { kind: "inline"; concurrency: number } | { kind: "queue"; queue: QueueClient; key: Buffer };

/** How an entry point cleans up (the one options bag): built by the composition root or the CLI. */
export interface CleanupOptions {
  clients: AzureClients;
  policy: Policy;
  /** `--enforce`: every rule with an action enforces, dry run off. */
  forceEnforce: boolean;
  /** Who makes the changes (object id / app id of the token), as journaled. */
  caller: string;
  /** Where changes are written before they are made; required to act (enforce mode). */
  journal?: Journal;
  leases: LeaseStore;
  dispatch: CleanupDispatch;
  /**
   * Pending journal entries at least this old are reconciled before acting (the app: the lease; the
   * CLI with a file journal: 0). Absent: this entry point leaves reconciliation to the sweeps (events).
   */
  reconcileOlderThanMs?: number;
}

/** What executeAction needs of the options, for one run. */
export interface ActionContext {
  clients: AzureClients;
  policy: Policy;
  journal: Journal;
  leases: LeaseStore;
  runId: string;
  caller: string;
  now?: () => Date;
  /**
   * A change whose outcome is unknown (5xx/429 after retries, timeout) leaves its entry pending.
   * `throw`: the queue-trigger function rethrows so the work item is retried (then poisoned).
   * `report`: the CLI reports it failed; the next run reconciles the entry.
   */
  onUnknownOutcome: "throw" | "report";
  /** The base of maxDeletePercent over 24 hours (the last complete sweep's role assignments, else the run's). Unknown: no deletion passes. */
  roleAssignmentsSeen?: number;
}

/** The outcome of a change is unknown: the journal entry stays pending for reconciliation. */
export class OutcomeUnknown extends Error {
  override readonly name = "OutcomeUnknown";
}

/** Another run holds the target's lease: a work item is retried later rather than dropped. */
export class TargetBusy extends Error {
  override readonly name = "TargetBusy";
}

/**
 * The run report with the plan in it (a new object; the report given is not changed): the breaker
 * notice among its findings (counted in the summary) and the cleanup summary.
 */
export function withPlan<R extends RunReport>(report: R, planned: Planned, options: Pick<CleanupOptions, "journal">): R {
  const { plan, breakerNotice } = planned;
  const findings = breakerNotice ? sortFindings([...report.findings, breakerNotice]) : report.findings;
  return {
    ...report,
    findings,
    summary: breakerNotice ? summarize(findings, { identities: report.summary.identities, roleAssignments: report.summary.roleAssignments, suppressed: report.summary.suppressed }) : report.summary,
    cleanup: {
      mode: plan.mode,
      ...(options.journal ? { journal: options.journal.description } : {}),
      ...(plan.breaker ? { breaker: plan.breaker.reason } : {}),
    },
  };
}

/**
 * Carries a plan out: first reconciles what earlier runs left pending (when the options say so and
 * the run acts), then each action inline or as a work item. Returns the reconciled records, the
 * plan's own (deferred, skipped, blocked, planned) and what carrying out gave.
 */
export async function runCleanup(plan: CleanupPlan, runId: string, options: CleanupOptions): Promise<ActionRecord[]> {
  const reconciled: ActionRecord[] = [];
  if (options.journal && plan.mode === "enforce" && options.reconcileOlderThanMs !== undefined) {
    for (const entry of await reconcilePending(options.journal, options.clients, new Date(), options.reconcileOlderThanMs)) reconciled.push(reconciledRecord(entry));
  }
  if (plan.toRun.length === 0) return [...reconciled, ...plan.records];
  const done =
    options.dispatch.kind === "queue"
      ? await enqueue(plan.toRun, { runId, caller: options.caller, scope: plan.scope, ...(plan.roleAssignmentsSeen === undefined ? {} : { roleAssignmentsSeen: plan.roleAssignmentsSeen }) }, options.dispatch)
      : await executeInline(plan.toRun, runId, options, plan.roleAssignmentsSeen);
  return [...reconciled, ...plan.records, ...done];
}

/**
 * Sealed work items on the queue. A queue that does not take one fails the run (docs/guarantees.md "Nothing lost": the
 * trigger fails and its redelivery queues again; the executor finds a repeated item's journal entry).
 */
async function enqueue(actions: PlannedAction[], run: { runId: string; caller: string; scope: string; roleAssignmentsSeen?: number }, dispatch: Extract<CleanupDispatch, { kind: "queue" }>): Promise<ActionRecord[]> {
  const queue = dispatch.queue;
  const queued: ActionRecord[] = [];
  try {
    await queue.createIfNotExists();
    for (const action of actions) {
      await queue.sendMessage(encodeWorkItem(sealWorkItem({ version: 2, ...run, action }, dispatch.key)));
      queued.push(recordOf(action, "queued", `work item on ${queue.name}`));
    }
  } catch (error) {
    throw toServiceCallFailed("queueStorage", error);
  }
  return queued;
}

/** A later run's copy of a deferred item, invisible on the queue until its budget window has room. */
export async function requeueDeferred(item: WorkItem, dispatch: Extract<CleanupDispatch, { kind: "queue" }>, roomAt: Date, now: Date): Promise<void> {
  const { seal: _seal, ...rest } = item;
  const next = sealWorkItem({ ...rest, deferredSince: item.deferredSince ?? now.toISOString() }, dispatch.key);
  // Storage queues hide a message for at most 7 days; a budget window is at most 24 hours.
  const seconds = Math.min(7 * 86_400, Math.max(1, Math.ceil((roomAt.getTime() - now.getTime()) / 1000)));
  try {
    await dispatch.queue.sendMessage(encodeWorkItem(next), { visibilityTimeout: seconds });
  } catch (error) {
    throw toServiceCallFailed("queueStorage", error);
  }
}

async function executeInline(actions: PlannedAction[], runId: string, options: CleanupOptions, roleAssignmentsSeen: number | undefined): Promise<ActionRecord[]> {
  const { journal } = options;
  if (!journal || options.dispatch.kind !== "inline") throw new Error("cleanup: an enforce run needs a journal");
  // Changes to one target (two identities detached from one VM) go one after the other: each reads
  // the state the previous one left, and none is refused for holding the target's lease.
  const byTarget = new Map<string, PlannedAction[]>();
  for (const action of actions) byTarget.set(action.targetId.toLowerCase(), [...(byTarget.get(action.targetId.toLowerCase()) ?? []), action]);
  const limit = pLimit(options.dispatch.concurrency);
  const context: ActionContext = {
    clients: options.clients,
    policy: options.policy,
    journal,
    leases: options.leases,
    runId,
    caller: options.caller,
    onUnknownOutcome: "report",
    ...(roleAssignmentsSeen === undefined ? {} : { roleAssignmentsSeen }),
  };
  const done = await Promise.all(
    [...byTarget.values()].map((group) =>
      limit(async () => {
        const records: ActionRecord[] = [];
        for (const action of group) {
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
  return done.flat();
}

/** What a work item's executor needs besides the cleanup options: the key, the finding state, the base of the delete budget. */
export interface WorkItemContext {
  key: Buffer;
  findingState: FindingStateStore;
  /** Role assignments of the last complete sweep (the base of maxDeletePercent over 24 hours); absent: the run's. */
  lastSweepRoleAssignments?: number;
}

/**
 * One work item from the cleanup queue, trusted for nothing (docs/guarantees.md "Work items are sealed"): its seal must
 * be the app's, its action its rule's action, its rule in enforce mode now, and its target the subject of an
 * open finding of that rule in the finding state — else it is `rejected` (the caller poisons it and raises
 * the notice). A change whose outcome is unknown, or a target whose lease another run holds, throws
 * (OutcomeUnknown, TargetBusy) so the host retries the item.
 */
export async function runWorkItem(
  item: WorkItem,
  options: Omit<CleanupOptions, "caller" | "dispatch" | "forceEnforce">,
  context: WorkItemContext,
): Promise<{ record: ActionRecord } | { rejected: string }> {
  const why = await rejectionOf(item, options, context);
  if (why) return { rejected: why };
  if (!options.journal) throw new Error("cleanup: a work item needs a journal");
  const base = context.lastSweepRoleAssignments ?? item.roleAssignmentsSeen;
  const record = await executeAction(item.action, {
    clients: options.clients,
    policy: options.policy,
    journal: options.journal,
    leases: options.leases,
    runId: item.runId,
    caller: item.caller,
    onUnknownOutcome: "throw",
    ...(base === undefined ? {} : { roleAssignmentsSeen: base }),
  });
  return { record };
}

async function rejectionOf(item: WorkItem, options: Pick<CleanupOptions, "policy">, context: WorkItemContext): Promise<string | undefined> {
  if (!sealIsValid(item, context.key)) return "its seal is not the app's (written by someone else, or changed since)";
  const { finding, kind, targetId, identityId } = item.action;
  const ruleId = finding.ruleId;
  const expected = actionForRule(ruleId);
  if (expected !== kind) return `${kind} is not the action of ${ruleId} (${expected ?? "it has none"})`;
  if (options.policy.cleanup.dryRun || options.policy.rules[ruleId]?.mode !== "enforce") return `${ruleId} is not in enforce mode now (or cleanup.dryRun is on)`;
  const record = (await context.findingState.loadSome(item.scope, [finding.fingerprint])).get(finding.fingerprint);
  const subjectOk = record !== undefined && idKey(record.subjectId) === idKey(targetId) && (kind !== "detach-identity" || idKey(record.relatedId ?? "") === idKey(identityId ?? ""));
  if (!record || record.status !== "open" || record.ruleId !== ruleId || !subjectOk) return `${targetId} is not the subject of an open ${ruleId} finding`;
  return undefined;
}

function reconciledRecord(entry: JournalEntry): ActionRecord {
  const status = entry.status === "done" ? "done" : "failed";
  const reason = entry.status === "pending" ? `left pending by run ${entry.runId}; its state could not be read now` : `from run ${entry.runId}: ${entry.detail ?? entry.status}`;
  return recordOf(entry.action, status, reason, entry.entryId);
}

/**
 * The one executor: a cleanup action, fail-safe: hold the target's lease, re-read it from ARM (never act on the finding
 * alone), check it still warrants the change and is not protected, journal the prior state, make the
 * change, read back and verify, mark the entry done or failed.
 */
export async function executeAction(action: PlannedAction, context: ActionContext): Promise<ActionRecord> {
  const now = context.now?.() ?? new Date();
  const entryId = entryIdFor(context.runId, action.actionId);
  const holder = { runId: context.runId, entryId };
  const targetKey = targetKeyOf(action.kind, action.targetId);

  const found = await context.journal.get(context.runId, entryId);
  // docs/guarantees.md "Deferred is not dropped": a deferral is no outcome; the requeued item is judged afresh.
  const earlier = found?.status === "skipped" && found.detail?.startsWith(DEFERRED) ? undefined : found;
  if (earlier && earlier.status !== "pending") return recordOf(action, statusOfEntry(earlier), earlier.detail, entryId);

  const lease = await context.leases.acquire(targetKey, holder, now);
  if (!lease.ok) {
    if (context.onUnknownOutcome === "throw") throw new TargetBusy(`another run (${lease.heldBy}) is changing ${action.targetId}; retried later`);
    return recordOf(action, "skipped", `another run (${lease.heldBy}) is changing this target`);
  }
  // docs/guarantees.md "Leases outlive no holder": renewed while the action runs, so a slow change keeps it, and a crashed holder's expires.
  const renewal = setInterval(() => void context.leases.renew(targetKey, holder).catch(() => false), LEASE_RENEW_MS);
  renewal.unref();
  try {
    if (earlier) {
      // A retried work item whose first attempt stopped after journaling: find out what happened.
      const reconciled = await reconcileEntry(earlier, context.clients, context.journal);
      if (reconciled && reconciled.status === "done") return recordOf(action, "done", reconciled.detail, entryId);
    }
    let prepared: Prepared;
    try {
      prepared = await prepareChange(action, context);
    } catch (error) {
      // Could not read current state: unknown, so nothing is changed.
      return recordOf(action, "skipped", `current state could not be read: ${errorMessage(error)}`);
    }
    if ("skip" in prepared) return recordOf(action, "skipped", prepared.skip);

    const entry: JournalEntry = {
      entryId,
      runId: context.runId,
      kind: action.kind,
      action,
      caller: context.caller,
      status: "pending",
      prior: prepared.prior,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    };
    await context.journal.begin(entry);
    // The budget across runs is counted after this entry is written, so concurrent runs each see the
    // others' entries and together never pass it (at worst they defer one too many).
    const over = await overBudget(entry, context, now);
    if (over) {
      await context.journal.finish(entry, "skipped", `${DEFERRED} ${over.reason}`);
      const budget = over.budget ? { name: over.budget, reason: over.reason, roomAt: over.roomAt.toISOString(), raise: await raisesNotice(over.budget, entry, context, now) } : undefined;
      return { ...recordOf(action, "deferred", over.reason, entryId), ...(budget ? { budget } : {}) };
    }
    // The last word before the change: a holder whose lease lapsed (and was taken over) changes nothing.
    if (!(await context.leases.renew(targetKey, holder))) {
      await context.journal.finish(entry, "skipped", "the target's lease was lost before the change");
      if (context.onUnknownOutcome === "throw") throw new TargetBusy(`the lease on ${action.targetId} was lost; retried later`);
      return recordOf(action, "skipped", "the target's lease was lost before the change", entryId);
    }

    let outcome: "applied" | "absent";
    try {
      outcome = await prepared.change();
    } catch (error) {
      return await afterFailedChange(action, entry, error, context);
    }
    if (outcome === "absent") {
      // 204/404 to a DELETE may be the SDK's retry after a first attempt that landed and lost its answer.
      return await journalObserved(action, entry, context, "ARM answered that there was nothing to delete (204/404)");
    }
    let problem: string | undefined;
    try {
      problem = await prepared.verify();
    } catch (error) {
      problem = `could not be read back: ${errorMessage(error)}`;
    }
    // Applied either way: the entry is `done` so restore can undo it; a mismatch is reported as failed.
    await context.journal.finish(entry, "done", problem ? `applied; verification: ${problem}` : "applied and verified");
    return recordOf(action, problem ? "failed" : "done", problem ? `applied, but verification found: ${problem}` : undefined, entryId);
  } finally {
    clearInterval(renewal);
    await context.leases.release(targetKey, holder).catch(() => undefined);
  }
}

/**
 * Concurrent deferrals (a queue batch on several instances) each see the window's notice as new: one lease per
 * budget window picks the one that raises it. The others defer quietly; the notice is one finding either way.
 */
async function raisesNotice(budget: "hour" | "day", entry: JournalEntry, context: ActionContext, now: Date): Promise<boolean> {
  const size = budget === "hour" ? HOUR_MS : DAY_MS;
  const lease = await context.leases.acquire(`budget-notice|${budget}|${Math.floor(now.getTime() / size)}`, { runId: context.runId, entryId: entry.entryId }, now);
  return lease.ok;
}

/** A third of the lease: two renewals may fail before another run could take the target. */
const LEASE_RENEW_MS = Math.floor(LEASE_MS / 3);

/**
 * docs/guarantees.md "Truth of the journal": an error from the change says nothing certain about the target (a
 * 409/412/404 can be the retry of an attempt that landed and lost its answer), so the target is re-read
 * and what is observed is journaled.
 */
async function afterFailedChange(action: PlannedAction, entry: JournalEntry, error: unknown, context: ActionContext): Promise<ActionRecord> {
  const status = error instanceof ServiceCallFailed ? error.statusCode : undefined;
  const code = error instanceof ServiceCallFailed && error.code ? ` ${error.code}` : "";
  const answered =
    status === 404
      ? "gone (404)"
      : status === 409
        ? `conflict (409${code}), e.g. a lock on the scope: ${errorMessage(error)}`
        : status === 412
          ? "changed since it was read (412)"
          : errorMessage(error);
  return journalObserved(action, entry, context, answered);
}

/**
 * Re-reads the target after an uncertain answer: `done` (restorable) when the change is in place,
 * `failed` when it is not, `unknown` when the re-read fails too — the entry then stays pending for
 * reconciliation (and a work item throws, so the host retries it).
 */
async function journalObserved(action: PlannedAction, entry: JournalEntry, context: ActionContext, answered: string): Promise<ActionRecord> {
  let applied: boolean;
  try {
    applied = await changeVisible(entry, context.clients);
  } catch (readError) {
    const why = `${answered}; the re-read failed too (${errorMessage(readError)}): outcome unknown, the journal entry stays pending and the next run reconciles it`;
    if (context.onUnknownOutcome === "throw") throw new OutcomeUnknown(`entry ${entry.entryId}: ${why}`);
    return recordOf(action, "unknown", why, entry.entryId);
  }
  const finished = applied
    ? await context.journal.finish(entry, "done", `${answered}; re-read: the change is in place`)
    : await context.journal.finish(entry, "failed", `${answered}; re-read: the change was not made`);
  return recordOf(action, applied ? "done" : "failed", finished.detail, entry.entryId);
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** How a budget deferral starts its journal detail (an earlier one in the window means the notice went out). */
const DEFERRED = "deferred past a budget:";
/** Entries that count as changes made or attempted (a skipped entry changed nothing). */
const COUNTED = new Set(["pending", "done", "failed", "reverted"]);

/**
 * docs/guarantees.md "One budget across runs", counted from the journal (so every trigger and instance shares it), never
 * from a work item: cleanup.maxActionsPerHour over a rolling hour, and maxDeletePercent of the role assignments
 * over a rolling 24 hours. Restores are not counted. `roomAt`: when the window has room again (the oldest
 * counted entry leaves it). A deletion whose base is unknown waits for a sweep to give one.
 */
async function overBudget(entry: JournalEntry, context: ActionContext, now: Date): Promise<{ reason: string; budget?: "hour" | "day"; roomAt: Date } | undefined> {
  const { maxActionsPerHour, maxDeletePercent } = context.policy.cleanup;
  const recent = (await context.journal.since(new Date(now.getTime() - DAY_MS))).filter((other) => other.kind !== "restore");
  const hourAgo = now.getTime() - HOUR_MS;
  const lastHour = recent.filter((other) => COUNTED.has(other.status) && Date.parse(other.createdAt) >= hourAgo);
  const oldest = (entries: JournalEntry[], windowMs: number): Date =>
    new Date(Math.min(...entries.filter((other) => other.entryId !== entry.entryId).map((other) => Date.parse(other.createdAt)), now.getTime()) + windowMs);
  if (lastHour.length > maxActionsPerHour) {
    return { budget: "hour", reason: `cleanup.maxActionsPerHour ${maxActionsPerHour} reached: ${lastHour.length - 1} changes in the last hour`, roomAt: oldest(lastHour, HOUR_MS) };
  }
  if (entry.kind !== "delete-role-assignment") return undefined;
  const base = context.roleAssignmentsSeen;
  if (base === undefined || base === 0) return { reason: "how many role assignments there are is unknown (no complete sweep, no count from the run): no deletion passes", roomAt: new Date(now.getTime() + HOUR_MS) };
  const deletes = recent.filter((other) => other.kind === "delete-role-assignment" && other.status !== "failed" && COUNTED.has(other.status));
  if ((deletes.length * 100) / base > maxDeletePercent) {
    return { budget: "day", reason: `cleanup.maxDeletePercent ${maxDeletePercent} over 24 hours reached: ${deletes.length - 1} of ${base} role assignments deleted`, roomAt: oldest(deletes, DAY_MS) };
  }
  return undefined;
}

function statusOfEntry(entry: JournalEntry): ActionRecord["status"] {
  if (entry.status === "done" || entry.status === "reverted") return "done";
  return entry.status === "skipped" ? "skipped" : "failed";
}
/**
 * A pending entry against the real state: did its change happen? `done`/`failed` is written to the
 * journal; undefined when the state cannot be read now (the entry stays pending).
 */
export async function reconcileEntry(entry: JournalEntry, clients: AzureClients, journal: Journal): Promise<JournalEntry | undefined> {
  let applied: boolean;
  try {
    applied = await changeVisible(entry, clients);
  } catch {
    return undefined;
  }
  return applied
    ? journal.finish(entry, "done", "reconciled: the change is in place")
    : journal.finish(entry, "failed", "reconciled: the change was not made");
}

/** Pending entries left by a run that stopped (older than `olderThanMs`: younger ones may still be in flight). */
export async function reconcilePending(journal: Journal, clients: AzureClients, now: Date, olderThanMs: number): Promise<JournalEntry[]> {
  const results: JournalEntry[] = [];
  for (const entry of await journal.pending()) {
    if (now.getTime() - Date.parse(entry.updatedAt) < olderThanMs) continue;
    const reconciled = await reconcileEntry(entry, clients, journal);
    results.push(reconciled ?? entry);
  }
  return results;
}
