import { fingerprintOf, type Finding } from "./findings.js";
import { noticeRules, ruleMeta } from "./rules/index.js";

/**
 * The findings the engine raises about itself (docs/guarantees.md "Notices are findings"). Each is a rule with a
 * manifest and a page (shared/rules/<id>.ts, docs/rules/<id>.md); here they are built, in one place, so
 * their subjects are spelled one way. They are committed like any finding, in the finding state's
 * `notices` partition.
 */

/** The notice rules' ids: never switched off, never suppressed, sent whatever notify.minSeverity says. */
export const ENGINE_NOTICES: ReadonlySet<string> = new Set(noticeRules.map((rule) => rule.meta.id));

export const NOTICES_SCOPE = "notices";

function noticeFinding(ruleId: string, subjectId: string, relatedId: string | undefined, title: string, message: string, evidence: Record<string, unknown>): Finding {
  const meta = ruleMeta.get(ruleId);
  if (!meta) throw new Error(`no manifest for notice ${ruleId}`);
  const draft = { ruleId, severity: meta.severity, subjectId, ...(relatedId !== undefined ? { relatedId } : {}), title, message, evidence };
  return { ...draft, fingerprint: fingerprintOf(ruleId, subjectId, relatedId), remediation: meta.remediation(draft) };
}

/** When a window notice's window closes (it resolves at the first run after that); absent: never by time. */
export function windowEndOf(finding: { evidence: Record<string, unknown> }): number | undefined {
  const end = finding.evidence["windowEnd"];
  return typeof end === "string" && !Number.isNaN(Date.parse(end)) ? Date.parse(end) : undefined;
}

/** `expired`: a deferred action given up after 24 hours (its window is the deferral). */
export type Budget = "run" | "hour" | "day" | "expired";

/**
 * `cleanup-circuit-breaker` for one budget and one window: `cleanup-budget/run/<run id>` (the run's window is
 * the run), `cleanup-budget/hour/<hour start>`, `cleanup-budget/day/<day start>` (UTC). Every new trip has a
 * new subject, so it is notified; a second trip in the same window is the same finding.
 */
export function circuitBreakerNotice(input: {
  budget: Budget;
  runId: string;
  window: { start: Date; end: Date };
  reason: string;
  evidence: Record<string, unknown>;
}): Finding {
  const subject = `cleanup-budget/${input.budget}/${input.budget === "run" ? input.runId : input.window.start.toISOString()}`;
  const title =
    input.budget === "run"
      ? "Cleanup circuit breaker tripped: no action was taken"
      : input.budget === "expired"
        ? "Cleanup circuit breaker: a deferred action expired"
        : "Cleanup circuit breaker tripped: the budget across runs is spent";
  const message =
    input.budget === "run" || input.budget === "expired"
      ? `Run ${input.runId}: ${input.reason}. Nothing was changed.`
      : `Run ${input.runId}: ${input.reason}. Actions past it are deferred until the window (${input.window.start.toISOString()} – ${input.window.end.toISOString()}) has room.`;
  return noticeFinding("cleanup-circuit-breaker", subject, undefined, title, message, {
    budget: input.budget,
    runId: input.runId,
    reason: input.reason,
    windowStart: input.window.start.toISOString(),
    windowEnd: input.window.end.toISOString(),
    ...input.evidence,
  });
}

/** The hour (UTC) or day (UTC) a budget trip at `at` belongs to. */
export function budgetWindow(budget: "hour" | "day", at: Date): { start: Date; end: Date } {
  const size = budget === "hour" ? 3_600_000 : 86_400_000;
  const start = Math.floor(at.getTime() / size) * size;
  return { start: new Date(start), end: new Date(start + size) };
}

/** `notification-dead-lettered`: subject `outbox/<sink>/<entry key>`, related the finding it carried. */
export function deadLetterNotice(entry: { sink: string; key: string; title: string; runId: string; attempts: number; fingerprint?: string }, reason: string): Finding {
  return noticeFinding(
    "notification-dead-lettered",
    `outbox/${entry.sink}/${entry.key}`,
    entry.fingerprint,
    `A ${entry.sink} notification could not be delivered: ${entry.title.slice(0, 200)}`,
    `The ${entry.sink} notification "${entry.title.slice(0, 300)}" (run ${entry.runId}) was dead-lettered after ${entry.attempts} attempt(s): ${reason}.`,
    { sink: entry.sink, entryKey: entry.key, attempts: entry.attempts, reason, title: entry.title, runId: entry.runId, ...(entry.fingerprint ? { fingerprint: entry.fingerprint } : {}) },
  );
}

/** `cleanup-work-item-rejected`: subject the target the item named, related a hash of the message. */
export function workItemRejectedNotice(input: { targetId?: string; messageHash: string; reason: string; ruleId?: string; runId?: string }): Finding {
  const subject = input.targetId ?? `cleanup-queue/${input.messageHash}`;
  return noticeFinding(
    "cleanup-work-item-rejected",
    subject,
    input.messageHash,
    `Cleanup work item rejected: ${input.reason.slice(0, 200)}`,
    `A work item on the cleanup queue${input.targetId ? ` naming ${input.targetId}` : ""} was refused and moved to the poison queue: ${input.reason}. Nothing was changed.`,
    { reason: input.reason, messageHash: input.messageHash, ...(input.ruleId ? { claimedRule: input.ruleId } : {}), ...(input.runId ? { claimedRun: input.runId } : {}) },
  );
}

/** `event-undecided`: subject the event's resource id. */
export function eventUndecidedFinding(event: { id: string; eventTime: string; operationName: string; resourceUri: string; correlationId?: string; caller: unknown }, reason: string, attempts: number): Finding {
  return noticeFinding(
    "event-undecided",
    event.resourceUri,
    undefined,
    `Change could not be judged: ${event.operationName} on ${event.resourceUri.split("/").pop() ?? event.resourceUri}`,
    `Event ${event.id} (${event.operationName} on ${event.resourceUri} at ${event.eventTime}) could not be decided after ${attempts} deliveries: ${reason}. Look at the change yourself.`,
    {
      eventId: event.id,
      eventTime: event.eventTime,
      operationName: event.operationName,
      caller: event.caller,
      reason,
      deliveries: attempts,
      ...(event.correlationId ? { correlationId: event.correlationId } : {}),
    },
  );
}
