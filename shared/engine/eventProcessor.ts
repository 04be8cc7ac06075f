import type { AzureClients } from "../azure/clients.js";
import type { Policy } from "../config/policy.js";
import { ServiceCallFailed, errorMessage, statusCodeOf } from "../errors.js";
import { FindingCollector, isRuleEnabled, sortFindings, type Finding } from "../findings.js";
import type { Incomplete } from "../model.js";
import { subscriptionOf } from "../model.js";
import { actionForRule, eventRules, ruleMeta } from "../rules/index.js";
import { operationFor, type ChangeKind, type OperationEntry } from "../events/operations.js";
import { whyNoFinding } from "../rules/lib/quiet.js";
import { eventMatters, ownResourcePrefix } from "../rules/lib/guard.js";
import { parseResourceEvent, SYSTEM_TOPIC_EVENT_TYPES, type ResourceEvent } from "../events/resourceEvent.js";
import type { AttachmentBaselineStore, DeliveryRecordStore, GradedIdentityStore, IdentityCatalogStore } from "../state/eventStores.js";
import type { Notifier } from "../notify/notifier.js";
import { recordEvent, recordOutbox } from "../telemetry.js";
import type { SelfRoleAssignmentStore } from "../state/selfRoleAssignments.js";
import { countRoleAssignments } from "../azure/armActions.js";
import { cleanupMode, planCleanup } from "../cleanup/plan.js";
import type { CleanupOptions } from "../cleanup/pipeline.js";
import type { ActionRecord } from "../cleanup/record.js";
import type { Journal } from "../cleanup/journal.js";
import { eventUndecidedFinding, NOTICES_SCOPE } from "../notices.js";
import { EVENT_SCOPE, type FindingStateStore } from "./findingLifecycle.js";
import { gatherFacts } from "./eventFacts.js";
import { commitRun } from "./runCommit.js";
import { cleanupGuard } from "../desiredState/approval.js";
import type { SourceRead } from "../desiredState/model.js";

/** The event subscription's retry policy (infra/app/eventgrid.bicep), which the app counts deliveries against. */
export interface DeliveryPolicy {
  /** maxDeliveryAttempts (1–30; infra's default 10). */
  maxAttempts: number;
  /** eventTimeToLiveInMinutes (infra's default 1440). */
  ttlMinutes: number;
}

export interface EventDependencies {
  clients: AzureClients;
  policy: Policy;
  dedupe: DeliveryRecordStore;
  baseline: AttachmentBaselineStore;
  catalog: IdentityCatalogStore;
  /** The finding state: which event findings are new, and what a work item's executor checks. */
  findingState: FindingStateStore;
  /** The graded identities of the last sweep (identity-assign-right-granted); absent: that rule sees none. */
  graded?: GradedIdentityStore;
  /** The app's own role assignments as of the last sweep (governance-tampering); absent: not known. */
  selfAssignments?: SelfRoleAssignmentStore;
  /** Sends new event findings at once (a Teams card each); absent: findings are only committed and returned. */
  notifier?: Notifier;
  /** The app's cleanup: actions of enforced rules go to the cleanup queue. Absent: findings only. */
  cleanup?: CleanupOptions;
  /** The journal, read for restores of the last 24 hours: their own writes are approved. */
  journal?: Journal;
  /** The policy's desired-state sources, read (and cached) when asked: approvals (`desiredState.approves`) and the cleanup's guard. */
  desiredState?: () => Promise<SourceRead[]>;
  /** Absent: one delivery (replay), which is then the last. */
  delivery?: DeliveryPolicy;
  now?: () => Date;
}

export type EventStatus = "processed" | "ignored" | "duplicate" | "malformed" | "failed";

export interface EventOutcome {
  eventId: string;
  status: EventStatus;
  reason?: string;
  findings: Finding[];
  incomplete: Incomplete[];
  actions?: ActionRecord[];
  /** Fingerprints of open findings this event resolved (a delete of what they were about). */
  resolved?: string[];
}

/** What the host knows of this delivery, when it knows anything (a Functions retry policy's retryContext). */
export interface DeliveryContext {
  lastAttempt?: boolean;
}

/** An operation the table does not name, on the guard's own resources. */
const GUARD_RESOURCE_CHANGE: OperationEntry = { kind: "resource-change" };
/** Kinds only governance-tampering reads. */
const GUARD_ONLY = new Set<ChangeKind>(["resource-change", "guard-scope-write", "role-definition-change"]);
const SYSTEM_TYPES = new Set(SYSTEM_TOPIC_EVENT_TYPES.map((type) => type.toLowerCase()));

/** A check an event rule needs failed: the event cannot be decided now (transient, unlike malformed). */
class Undecided extends Error {
  override readonly name = "Undecided";
}

/**
 * One event, end to end: parse (malformed → dropped), filter (not ours → ignored), gather the facts its
 * change kind needs (eventFacts.ts: read back from ARM), evaluate the pure event rules, plan cleanup, and
 * commit (runCommit.ts): outbox, finding state, work items, notices, and last the baseline. The delivery
 * record (event dedupe) is written when there is something to commit, and forgotten when the commit fails,
 * so the redelivery reports the same findings again. A transient failure fails the trigger until the last
 * delivery, which is acknowledged with an `event-undecided` finding.
 */
export async function handleResourceEvent(raw: unknown, deps: EventDependencies, delivery: DeliveryContext = {}): Promise<EventOutcome> {
  const outcome = await handleEvent(raw, deps, delivery);
  recordEvent(outcome, deps.policy);
  return outcome;
}

async function handleEvent(raw: unknown, deps: EventDependencies, delivery: DeliveryContext): Promise<EventOutcome> {
  const parsed = parseResourceEvent(raw);
  if (!parsed.ok) return { eventId: parsed.id, status: "malformed", reason: parsed.reason, findings: [], incomplete: [] };
  const event = parsed.event;
  const outcome = (status: EventStatus, reason?: string): EventOutcome => ({ eventId: event.id, status, ...(reason ? { reason } : {}), findings: [], incomplete: [] });
  if (!SYSTEM_TYPES.has(event.eventType.toLowerCase())) return outcome("ignored", `event type ${event.eventType}`);
  if (event.status.toLowerCase() !== "succeeded") return outcome("ignored", `status ${event.status}`);
  // docs/rules/governance-tampering.md: any operation on the guard's own resources counts, named in the table or not.
  const operation = operationFor(event.operationName) ?? (ownResourcePrefix(event.resourceUri, deps.policy) ? GUARD_RESOURCE_CHANGE : undefined);
  if (!operation) return outcome("ignored", `operation ${event.operationName}`);
  if (!eventMatters(operation, event.resourceUri, deps.policy) || (GUARD_ONLY.has(operation.kind) && !isRuleEnabled(deps.policy, "governance-tampering"))) {
    return outcome("ignored", `${event.operationName} outside the guard's resources`);
  }
  if (deps.dedupe.recordedHere(event.id)) return outcome("duplicate");
  const now = deps.now?.() ?? new Date();
  let recorded = false;
  try {
    const gathered = await gatherFacts(event, operation, { ...deps, now });
    const rules = eventRules.filter((rule) => rule.changes.includes(operation.kind) && isRuleEnabled(deps.policy, rule.meta.id));
    // docs/guarantees.md "Nothing lost": a check a rule needs and could not make leaves the event undecided, never quietly clean.
    const needed = new Set(rules.flatMap((rule) => rule.meta.needs));
    const unmet = gathered.incomplete.filter((entry) => (needed as Set<string>).has(entry.check));
    if (unmet.length > 0) throw new Undecided(unmet.map((entry) => entry.reason).join("; "));
    const collector = new FindingCollector(deps.policy, ruleMeta as Map<string, never>, now);
    for (const rule of rules) for (const draft of rule.evaluate(gathered.facts, deps.policy)) collector.add(draft);
    let findings = collector.sorted();
    const runId = `event-${event.id}`;
    const planned = deps.cleanup ? await planEventCleanup(findings, event, runId, deps, deps.cleanup, now) : undefined;
    if (planned?.breakerNotice) findings = sortFindings([...findings, planned.breakerNotice]);
    if ((findings.length > 0 || gathered.deleted) && !(recorded = await deps.dedupe.record(event.id, now))) return outcome("duplicate");
    const committed = await commitRun(
      {
        runId,
        mode: "event",
        now,
        policy: deps.policy,
        state: { scope: EVENT_SCOPE, inHand: true },
        findings,
        ...(gathered.deleted ? { resolvedSubjects: gathered.deleted } : {}),
        ...(planned ? { plan: planned.plan } : {}),
        after: gathered.after,
      },
      { findings: deps.findingState, ...(deps.notifier ? { notifier: deps.notifier } : {}), ...(deps.cleanup ? { cleanup: deps.cleanup } : {}) },
    );
    const incomplete = [...gathered.incomplete, ...(committed.notifications?.errors ?? []).map((error) => ({ check: "notification", reason: `${error} (kept in the outbox)`, affected: 1 }))];
    recordOutbox(committed.notifications?.pending);
    const raised = committed.notices.filter((notice) => !findings.some((finding) => finding.fingerprint === notice.fingerprint));
    const reported = sortFindings([...findings, ...raised]);
    return {
      eventId: event.id,
      status: "processed",
      // Why nothing was found, for `replay --verbose` and the host's log.
      ...(reported.length === 0 ? { reason: whyNoFinding(gathered.facts, deps.policy, rules.map((rule) => rule.meta.id)) } : {}),
      findings: reported,
      incomplete,
      ...(committed.actions.length > 0 ? { actions: committed.actions } : {}),
      ...(committed.resolved.length > 0 ? { resolved: committed.resolved.map((record) => record.fingerprint) } : {}),
    };
  } catch (error) {
    if (recorded) await deps.dedupe.forget(event.id).catch(() => undefined);
    // docs/guarantees.md "Poison never loops": what a redelivery cannot change is acknowledged and logged.
    if (!(error instanceof Undecided) && isPermanent(error)) return outcome("malformed", `permanent failure, not redelivered: ${errorMessage(error)}`);
    return undecidedOrFailed(event, error, deps, delivery, now);
  }
}

/**
 * A transient failure: the trigger fails, and Event Grid delivers the event again — unless this was the last
 * delivery, which is acknowledged with an `event-undecided` finding, committed and notified like any other.
 */
async function undecidedOrFailed(event: ResourceEvent, error: unknown, deps: EventDependencies, delivery: DeliveryContext, now: Date): Promise<EventOutcome> {
  const reason = errorMessage(error);
  const failed: EventOutcome = { eventId: event.id, status: "failed", reason, findings: [], incomplete: [{ check: `event ${event.id}`, reason, affected: 1 }] };
  let deliveries: number;
  let firstFailedAt: Date;
  try {
    ({ failures: deliveries, firstFailedAt } = await deps.dedupe.failedDelivery(event.id, now));
  } catch {
    // Storage is down too: nothing can be remembered, so Event Grid's own retries (then its dead-letter) decide.
    return failed;
  }
  if (!isLastDelivery(deliveries, firstFailedAt, now, deps.delivery, delivery)) return failed;
  const undecided = eventUndecidedFinding(event, reason, deliveries);
  try {
    if (!(await deps.dedupe.record(event.id, now))) return { ...failed, status: "duplicate", reason: "another delivery decided it" };
    const committed = await commitRun(
      { runId: `event-${event.id}`, mode: "event", now, policy: deps.policy, state: { scope: NOTICES_SCOPE, inHand: true }, findings: [undecided] },
      { findings: deps.findingState, ...(deps.notifier ? { notifier: deps.notifier } : {}) },
    );
    recordOutbox(committed.notifications?.pending);
    return { eventId: event.id, status: "processed", reason: `undecided after ${deliveries} deliveries: ${reason}`, findings: [undecided], incomplete: failed.incomplete };
  } catch (commitError) {
    await deps.dedupe.forget(event.id).catch(() => undefined);
    return { ...failed, reason: `${reason}; and the undecided finding could not be committed: ${errorMessage(commitError)}` };
  }
}

/**
 * Event Grid's retry schedule for a delivery that failed (Learn "Event Grid message delivery and retry":
 * 10 s, 30 s, 1 min, 5 min, 10 min, 30 min, 1 h, 3 h, 6 h, then every 12 h), bounded by the event
 * subscription's maxDeliveryAttempts and eventTimeToLiveInMinutes. This delivery is the last when no other
 * will follow: the count is reached, or the next one would come after the time to live. The time to live is
 * counted from the first failed delivery the app saw (Event Grid counts from publishing, a little earlier:
 * an event's own eventTime is not trusted for it, a replayed or skewed one would end its retries at once).
 */
const RETRY_SCHEDULE_MS = [10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000, 10_800_000, 21_600_000];
const LATER_RETRY_MS = 43_200_000;

export function isLastDelivery(deliveries: number, firstFailedAt: Date, now: Date, policy: DeliveryPolicy | undefined, delivery: DeliveryContext = {}): boolean {
  if (delivery.lastAttempt) return true;
  if (!policy) return true;
  if (deliveries >= policy.maxAttempts) return true;
  const nextDelay = RETRY_SCHEDULE_MS[deliveries - 1] ?? LATER_RETRY_MS;
  return now.getTime() + nextDelay - firstFailedAt.getTime() > policy.ttlMinutes * 60_000;
}

/**
 * 400 (bad request), 404 (not found), 414/431 (URI or headers too long) from ARM for the event's own resource
 * answer the same on every redelivery. 429, 5xx, a timeout (no status) and anything from storage (a 404 on
 * an outbox entry another instance took, a 400 from a queue) are transient: the trigger fails and Event
 * Grid redelivers.
 */
const PERMANENT_STATUSES = new Set([400, 404, 414, 431]);

function isPermanent(error: unknown): boolean {
  const status = statusCodeOf(error);
  return error instanceof ServiceCallFailed && error.service === "arm" && status !== undefined && PERMANENT_STATUSES.has(status);
}

/**
 * One event is one run for docs/guarantees.md "Cleanup actions": its enforced findings become work items unless the
 * breaker trips; maxDeletePercent is judged against the role assignments there are now.
 */
async function planEventCleanup(findings: Finding[], event: ResourceEvent, runId: string, deps: EventDependencies, cleanup: CleanupOptions, now: Date) {
  if (cleanupMode(deps.policy, cleanup.forceEnforce) === "off") return undefined;
  const deletes = findings.some((finding) => actionForRule(finding.ruleId) === "delete-role-assignment");
  const subscription = subscriptionOf(event.resourceUri);
  const roleAssignmentsSeen = deletes ? await countRoleAssignments(deps.clients, subscription ? [subscription] : []).catch(() => undefined) : 0;
  const declared = deps.desiredState ? cleanupGuard(await deps.desiredState()) : undefined;
  return planCleanup(findings, deps.policy, { forceEnforce: cleanup.forceEnforce, consecutive: () => 1, roleAssignmentsSeen, now, runId, scope: EVENT_SCOPE, ...(declared ? { declared } : {}) });
}
