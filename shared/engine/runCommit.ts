import type { Policy } from "../config/policy.js";
import type { Finding, RunReport } from "../findings.js";
import { ENGINE_NOTICES, NOTICES_SCOPE, budgetWindow, circuitBreakerNotice, deadLetterNotice, windowEndOf } from "../notices.js";
import type { Notifier } from "../notify/notifier.js";
import { recordsToTell, type DispatchResult } from "../notify/dispatcher.js";
import type { Notice } from "../notify/notification.js";
import { runCleanup, type CleanupOptions } from "../cleanup/pipeline.js";
import type { CleanupPlan } from "../cleanup/plan.js";
import type { ActionRecord } from "../cleanup/record.js";
import { applyRun, findingOfRecord, lacksFinding, stampNotified, type FindingRecord, type FindingStateStore, type LifecycleResult } from "./findingLifecycle.js";

/**
 * The one place that orders a run's commit (docs/guarantees.md "Nothing lost"), for every run type — sweep, event,
 * replay, work item — in every host:
 *
 *   1. the finding lifecycle of the run (pure): new, seen again, resolved;
 *   2. the outbox: the notices those changes mean, written before anything says they were sent (each keyed
 *      by what it says, so a redelivery writes nothing twice);
 *   3. the finding state, once;
 *   4. the cleanup: the journal and the changes (CLI), or sealed work items on the queue (app) — after the
 *      finding state, which a work item's executor checks; budget notices it raises are committed like (1–3);
 *   5. the notices out: what is due in the outbox is sent; what a sink refused for good is dead-lettered and
 *      raises its own notice;
 *   6. last, only when all of that succeeded, what later runs compare against (`after`: the attachment
 *      baseline, the identity catalog).
 *
 * A step that fails throws: the trigger fails and its redelivery reports the same findings, idempotently.
 * A sink that fails does not: its notices wait in the outbox, with backoff.
 */

/** How the run's findings change the finding state of their partition. */
export type StateChange =
  /** A sweep: the whole partition was read; a finding it did not see again is resolved unless a check it needs failed. */
  | { scope: string; previous: Map<string, FindingRecord>; unknownRules: Set<string> }
  /** An event or a work item: only the findings in hand; nothing is resolved by absence. */
  | { scope: string; inHand: true };

export interface RunToCommit {
  runId: string;
  mode: Notice["mode"];
  now: Date;
  policy: Policy;
  state: StateChange;
  /** The run's findings; the engine's notices among them (a tripped breaker) go to the notices partition. */
  findings: Finding[];
  /** Ids whose open findings are resolved, in every partition (a delete ARM confirmed). */
  resolvedSubjects?: string[];
  /** The cleanup plan of the run, carried out at step 4 with `cleanup`. */
  plan?: CleanupPlan;
  /** A sweep's report: its new and resolved findings go out as one Teams digest. */
  report?: RunReport;
  /** What later runs compare against, written at step 6. */
  after?: Array<() => Promise<unknown>>;
}

export interface CommitStores {
  findings: FindingStateStore;
  notifier?: Notifier;
  cleanup?: CleanupOptions;
}

export interface Committed {
  lifecycle: LifecycleResult;
  /** Records resolved by `resolvedSubjects`. */
  resolved: FindingRecord[];
  actions: ActionRecord[];
  /** The engine's notices this run committed (breaker, budget, dead letters). */
  notices: Finding[];
  notifications?: DispatchResult;
}

export async function commitRun(run: RunToCommit, stores: CommitStores): Promise<Committed> {
  const { now, policy, runId } = run;
  const own = run.findings.filter((finding) => !ENGINE_NOTICES.has(finding.ruleId));
  const raised = run.findings.filter((finding) => ENGINE_NOTICES.has(finding.ruleId));

  // 1. Lifecycle (pure, after the reads it needs).
  const transitioned = await transition(run.state, own, stores.findings, now);
  const lifecycle = stores.notifier ? await withSnapshots(transitioned, run.state.scope, stores.findings, policy, now) : transitioned;
  const deleted = run.resolvedSubjects?.length ? await resolveSubjects(stores.findings, run.resolvedSubjects, now) : [];
  // A sweep also closes the window notices whose window has ended.
  const notices = await noticeTransition(stores.findings, raised, now, "previous" in run.state);
  const deletedLifecycle: LifecycleResult = { changed: [], opened: [], resolved: deleted.map((entry) => entry.record), open: new Map() };

  // 2. Outbox.
  const context = { runId, now, engineNotices: ENGINE_NOTICES };
  const planned = stores.notifier
    ? [
        stores.notifier.plan(lifecycle, policy, { ...context, mode: run.mode, ...(run.report ? { report: run.report } : {}) }),
        stores.notifier.plan(deletedLifecycle, policy, { ...context, mode: run.mode }),
        stores.notifier.plan(notices, policy, { ...context, mode: run.mode }),
      ]
    : [];
  for (const plan of planned) await stores.notifier?.enqueue(plan, now);
  const notified = planned.flatMap((plan) => plan.notified);

  // 3. Finding state, once.
  await stores.findings.save(run.state.scope, stampNotified(lifecycle.changed, notified, now));
  const byScope = new Map<string, FindingRecord[]>();
  for (const { scope, record } of deleted) byScope.set(scope, [...(byScope.get(scope) ?? []), record]);
  for (const [scope, records] of byScope) await stores.findings.save(scope, records);
  if (notices.changed.length > 0) await stores.findings.save(NOTICES_SCOPE, stampNotified(notices.changed, notified, now));

  // 4. Cleanup: after the finding state a work item is checked against.
  const actions = run.plan ? (stores.cleanup ? await runCleanup(run.plan, runId, stores.cleanup) : run.plan.records) : [];
  const budget = budgetNotices(actions, runId, now);
  const committedNotices = [...notices.opened, ...budget];
  if (budget.length > 0) await commitNotices(budget, run, stores);

  // 5. Notices out; a dead letter is a notice of its own (one round: a dead letter about a dead letter is only logged).
  let notifications: DispatchResult | undefined;
  if (stores.notifier) {
    const sent = await stores.notifier.dispatch(policy.notify.maxAttempts, now);
    notifications = sent.result;
    const dead = sent.deadLetters.filter((letter) => letter.entry.ruleId !== "notification-dead-lettered").map((letter) => deadLetterNotice(letter.entry, letter.reason));
    if (dead.length > 0) {
      await commitNotices(dead, run, stores);
      committedNotices.push(...dead);
      const again = await stores.notifier.dispatch(policy.notify.maxAttempts, now);
      notifications = mergeDispatch(notifications, again.result);
    }
  }

  // 6. What later runs compare against.
  for (const write of run.after ?? []) await write();
  return { lifecycle, resolved: deleted.map((entry) => entry.record), actions, notices: committedNotices, ...(notifications ? { notifications } : {}) };
}

/**
 * Notices raised by a run that has nothing else to commit (a rejected work item, a deferral in the queue
 * trigger): the same steps, 1 to 5, for the notices alone.
 */
export async function commitNoticesOnly(notices: Finding[], run: Pick<RunToCommit, "runId" | "mode" | "now" | "policy">, stores: CommitStores): Promise<Committed> {
  return commitRun({ ...run, state: { scope: NOTICES_SCOPE, inHand: true }, findings: notices }, stores);
}

async function transition(state: StateChange, findings: Finding[], store: FindingStateStore, now: Date): Promise<LifecycleResult> {
  if ("previous" in state) return applyRun(state.previous, findings, { now, unknownRules: state.unknownRules });
  if (findings.length === 0) return { changed: [], opened: [], resolved: [], open: new Map() };
  const previous = await store.loadSome(state.scope, findings.map((finding) => finding.fingerprint));
  return { ...applyRun(previous, findings, { now, unknownRules: new Set() }), resolved: [], open: new Map() };
}

/**
 * A sweep reads its partition without snapshots (`LoadOptions`): the records its notices tell about that came
 * without one — a resolution, a reminder of a finding not seen again — get theirs first, and only those.
 */
async function withSnapshots(lifecycle: LifecycleResult, scope: string, store: FindingStateStore, policy: Policy, now: Date): Promise<LifecycleResult> {
  const { resolved, reminders } = recordsToTell(lifecycle, policy, { at: now, always: ENGINE_NOTICES });
  const missing = [...resolved, ...reminders].filter(lacksFinding).map((record) => record.fingerprint);
  if (missing.length === 0) return lifecycle;
  const read = await store.loadSome(scope, missing);
  const withSnapshot = (record: FindingRecord): FindingRecord => {
    const snapshot = lacksFinding(record) ? read.get(record.fingerprint)?.snapshot : undefined;
    return snapshot === undefined ? record : { ...record, snapshot };
  };
  // Only reminders change in `open`: without any, a sweep's ~290,000 open records are not gone through again. `changed`
  // keeps the records as read: saved without a snapshot, each keeps the stored one.
  const open = reminders.length === 0 ? lifecycle.open : new Map(lifecycle.open);
  for (const record of reminders) open.set(record.fingerprint, withSnapshot(record));
  return { ...lifecycle, resolved: lifecycle.resolved.map(withSnapshot), open };
}

/** Open findings about what was deleted, in every partition, resolved. */
async function resolveSubjects(store: FindingStateStore, subjectIds: string[], now: Date): Promise<Array<{ scope: string; record: FindingRecord }>> {
  const open = (await store.openForSubjects?.(subjectIds)) ?? [];
  const at = now.toISOString();
  return open.map(({ scope, record }) => ({ scope, record: { ...record, status: "resolved", consecutive: 0, resolvedAt: at } }));
}

/**
 * The engine's notices in their partition: the ones raised now (in hand), and — on a sweep — the window
 * notices whose window has closed, resolved (docs/guarantees.md "Notices are findings").
 */
async function noticeTransition(store: FindingStateStore, raised: Finding[], now: Date, closeWindows: boolean): Promise<LifecycleResult> {
  const inHand = await transition({ scope: NOTICES_SCOPE, inHand: true }, raised, store, now);
  if (!closeWindows) return inHand;
  const raisedNow = new Set(raised.map((finding) => finding.fingerprint));
  const closed: FindingRecord[] = [];
  for (const record of (await store.load(NOTICES_SCOPE)).values()) {
    if (record.status !== "open" || raisedNow.has(record.fingerprint)) continue;
    const end = windowEndOf(findingOfRecord(record));
    if (end !== undefined && end <= now.getTime()) closed.push({ ...record, status: "resolved", consecutive: 0, resolvedAt: now.toISOString() });
  }
  return { ...inHand, changed: [...inHand.changed, ...closed], resolved: closed };
}

async function commitNotices(notices: Finding[], run: Pick<RunToCommit, "runId" | "mode" | "now" | "policy">, stores: CommitStores): Promise<void> {
  const lifecycle = await transition({ scope: NOTICES_SCOPE, inHand: true }, notices, stores.findings, run.now);
  const planned = stores.notifier?.plan(lifecycle, run.policy, { runId: run.runId, now: run.now, mode: run.mode, engineNotices: ENGINE_NOTICES });
  if (planned) await stores.notifier?.enqueue(planned, run.now);
  await stores.findings.save(NOTICES_SCOPE, stampNotified(lifecycle.changed, planned?.notified ?? [], run.now));
}

/** One critical notice per budget window a deferral of this run fell in (the window of `now`). */
export function budgetNotices(actions: ActionRecord[], runId: string, now: Date): Finding[] {
  const windows = new Map<string, Finding>();
  for (const action of actions) {
    if (action.status !== "deferred" || !action.budget?.raise) continue;
    const window = budgetWindow(action.budget.name, now);
    const deferred = actions.filter((other) => other.status === "deferred" && other.budget?.name === action.budget?.name).length;
    const notice = circuitBreakerNotice({ budget: action.budget.name, runId, window, reason: action.budget.reason, evidence: { deferred } });
    windows.set(notice.fingerprint, notice);
  }
  return [...windows.values()];
}

function mergeDispatch(a: DispatchResult, b: DispatchResult): DispatchResult {
  const sum = (x: Partial<Record<string, number>>, y: Partial<Record<string, number>>): Partial<Record<string, number>> => {
    const out: Partial<Record<string, number>> = { ...x };
    for (const [key, value] of Object.entries(y)) out[key] = (out[key] ?? 0) + (value ?? 0);
    return out;
  };
  return { delivered: sum(a.delivered, b.delivered), pending: b.pending, errors: [...a.errors, ...b.errors] };
}
