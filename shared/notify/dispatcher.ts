import { createHash } from "node:crypto";
import pLimit from "p-limit";
import { severityRank, type CorePolicy } from "../config/policyCore.js";
import { findingOfRecord, type FindingRecord, type LifecycleResult } from "../engine/findingLifecycle.js";
import type { Finding } from "../findings.js";
import { digestCard, findingCard } from "./teamsCard.js";
import { sentinelRow } from "./sentinelRow.js";
import { findingCloudEvent } from "./cloudEvent.js";
import type { Digest, Notice } from "./notification.js";
import type { NotificationOutbox, OutboxDraft, OutboxEntry, OutboxLane } from "../state/outbox.js";
import type { Delivery, Sink, SinkName } from "./sinks.js";

export interface NotificationPlan {
  notices: Notice[];
  /** Fingerprints whose lastNotifiedAt becomes `at`. */
  notified: string[];
}

type PlanContext = { at: Date; runId: string; mode: Notice["mode"]; always?: ReadonlySet<string> };

/**
 * The records of a lifecycle a plan tells about: resolutions of what was told, and reminders of what is still open
 * and was last told about renotifyAfterHours ago or more. Their findings come from the records (`findingOfRecord`):
 * the run commit first reads the snapshots of those it read without one.
 */
export function recordsToTell(lifecycle: LifecycleResult, policy: Pick<CorePolicy, "notify">, context: Pick<PlanContext, "at" | "always">): { resolved: FindingRecord[]; reminders: FindingRecord[] } {
  const wanted = wantedBy(policy, context.always);
  const resolved = lifecycle.resolved.filter((record) => wanted(record.ruleId, record.severity) && record.lastNotifiedAt);
  const reminders: FindingRecord[] = [];
  const renotifyMs = policy.notify.renotifyAfterHours * 3_600_000;
  if (renotifyMs > 0) {
    const opened = new Set(lifecycle.opened.map((finding) => finding.fingerprint));
    for (const record of lifecycle.open.values()) {
      if (opened.has(record.fingerprint) || !wanted(record.ruleId, record.severity) || !record.lastNotifiedAt) continue;
      if (context.at.getTime() - Date.parse(record.lastNotifiedAt) < renotifyMs) continue;
      reminders.push(record);
    }
  }
  return { resolved, reminders };
}

function wantedBy(policy: Pick<CorePolicy, "notify">, always: ReadonlySet<string> | undefined): (ruleId: string, severity: Finding["severity"]) => boolean {
  const floor = severityRank(policy.notify.minSeverity);
  return (ruleId, severity) => always?.has(ruleId) === true || severityRank(severity) >= floor;
}

/**
 * Pure: what to tell the sinks after a run. New findings and resolutions at or above
 * notify.minSeverity; open findings not told about for notify.renotifyAfterHours as reminders.
 * `always`: rules whose notices go out whatever notify.minSeverity says (the engine's own notices).
 */
export function planNotifications(lifecycle: LifecycleResult, policy: Pick<CorePolicy, "notify">, context: PlanContext): NotificationPlan {
  const at = context.at.toISOString();
  const wanted = wantedBy(policy, context.always);
  const notices: Notice[] = [];
  const notified: string[] = [];
  for (const finding of lifecycle.opened) {
    if (!wanted(finding.ruleId, finding.severity)) continue;
    notices.push({ status: "new", finding, runId: context.runId, mode: context.mode, at });
    notified.push(finding.fingerprint);
  }
  const { resolved, reminders } = recordsToTell(lifecycle, policy, context);
  for (const record of resolved) notices.push({ status: "resolved", finding: findingOfRecord(record), runId: context.runId, mode: context.mode, at });
  for (const record of reminders) {
    notices.push({ status: "reminder", finding: findingOfRecord(record), runId: context.runId, mode: context.mode, at });
    notified.push(record.fingerprint);
  }
  return { notices, notified };
}

/** Per sink, what goes out: Teams a digest (sweep) or a card per finding (events); Sentinel and Event Grid one item per new/resolved finding. */
export function payloadsFor(sink: SinkName, notices: Notice[], digest: Digest | undefined): unknown[] {
  return draftsFor(sink, notices, digest, undefined, true).map((draft) => draft.payload);
}

/**
 * The outbox entries of a run's notices, each keyed by what it says — the notice's identity, not the time it
 * was written — so writing them again (the redelivery of an event whose commit failed) adds nothing. A notice
 * the engine raises about itself (`identity`) is keyed without the run: two instances raising the same
 * notice at once write it once. `digest`: a sweep's (Teams gets it instead of a card per finding); the digest's
 * own entry is left out with `withDigest: false` (the notices of one sweep written a part at a time: notifier.ts).
 */
export function outboxDrafts(sinks: readonly Sink[], notices: Notice[], digest: Digest | undefined, options: { runWide?: ReadonlySet<string>; withDigest?: boolean } = {}): OutboxDraft[] {
  return sinks.flatMap((sink) => draftsFor(sink.name, notices, digest, options.runWide, options.withDigest ?? true));
}

function draftsFor(sink: SinkName, notices: Notice[], digest: Digest | undefined, runWide: ReadonlySet<string> | undefined, withDigest: boolean): OutboxDraft[] {
  const keyOf = (notice: Notice): string => `${notice.finding.fingerprint}|${notice.status}${runWide?.has(notice.finding.ruleId) ? "" : `|${notice.runId}`}`;
  const draft = (notice: Notice, payload: unknown): OutboxDraft => ({
    sink,
    key: outboxKey(sink, keyOf(notice)),
    payload,
    runId: notice.runId,
    title: `${notice.status}: ${notice.finding.title}`,
    fingerprint: notice.finding.fingerprint,
    ruleId: notice.finding.ruleId,
    lane: laneOf(notice, runWide),
  });
  const lasting = notices.filter((notice) => notice.status !== "reminder");
  switch (sink) {
    case "teams": {
      // A sweep's own findings go in its digest; the engine's notices about itself get a card each, as in an event.
      const carded = digest ? notices.filter((notice) => runWide?.has(notice.finding.ruleId)) : notices;
      const cards = carded.map((notice) => draft(notice, findingCard(notice)));
      if (!digest || !withDigest || (digest.notices.length === 0 && digest.resolved === 0)) return cards;
      return [{ sink, key: outboxKey(sink, `digest|${digest.runId}`), payload: digestCard(digest), runId: digest.runId, title: `sweep ${digest.runId} digest`, lane: "prompt" }, ...cards];
    }
    case "sentinel":
      return lasting.map((notice) => draft(notice, sentinelRow(notice)));
    case "eventgrid":
      return lasting.map((notice) => draft(notice, findingCloudEvent(notice)));
  }
}

/**
 * A sweep's notice about one of its findings waits in the bulk lane; everything else — an event's, a replay's, a work
 * item's, the engine's notices about itself, a sweep's digest — in the prompt lane, sent first (state/outbox.ts).
 */
function laneOf(notice: Notice, runWide: ReadonlySet<string> | undefined): OutboxLane {
  return notice.mode === "sweep" && !runWide?.has(notice.finding.ruleId) ? "bulk" : "prompt";
}

function outboxKey(sink: SinkName, identity: string): string {
  return createHash("sha256").update(`${sink}\n${identity}`).digest("hex").slice(0, 40);
}

export interface DispatchResult {
  delivered: Partial<Record<SinkName, number>>;
  /** Entries this dispatch took and did not deliver (they wait in the outbox). */
  pending: Partial<Record<SinkName, number>>;
  errors: string[];
}

/** An entry that will not be sent again, and why. */
export interface DeadLetter {
  entry: OutboxEntry;
  reason: string;
}

/** How long a claimed entry is held: longer than any send takes (a Teams card, a Logs Ingestion upload). */
const CLAIM_MS = 2 * 60_000;
const BACKOFF_BASE_MS = 30_000;
const BACKOFF_MAX_MS = 3_600_000;

/** The wait before the next attempt after `attempts` failed ones: 30 s, doubling, at most an hour. */
export function backoffMs(attempts: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
}

/**
 * Table calls one sink's dispatch has in flight at once (claims, then deletes and put-backs): 500 one after another
 * are seconds at a few milliseconds each, before the first notice of the batch goes out.
 */
const TABLE_CALLS_AT_ONCE = 16;

type Settled = { delivered: boolean; error?: string; deadLetter?: DeadLetter };

/**
 * Sends what is due: each sink takes a bounded batch of its due entries (its prompt lane first: state/outbox.ts),
 * claims each (an entry another instance claimed first is skipped: losing that race is no error) and delivers them.
 * Delivered entries go, deferred ones are released, failed ones wait out their backoff or — a permanent answer, or
 * `maxAttempts` reached — are dead-lettered. Sinks run side by side: one that keeps failing delays nobody.
 * Storage failing throws (the run fails and its redelivery dispatches again); a sink failing never does.
 */
export async function dispatchDue(sinks: readonly Sink[], outbox: NotificationOutbox, maxAttempts: number, now: Date): Promise<{ result: DispatchResult; deadLetters: DeadLetter[] }> {
  const result: DispatchResult = { delivered: {}, pending: {}, errors: [] };
  const deadLetters: DeadLetter[] = [];
  await Promise.all(
    sinks.map(async (sink) => {
      const limit = pLimit(TABLE_CALLS_AT_ONCE);
      const due = await outbox.due(sink.name, now, sink.batchLimit);
      const held = await Promise.all(due.map((entry) => limit(() => outbox.claim(entry, now, CLAIM_MS))));
      const claimed = held.filter((entry): entry is OutboxEntry => entry !== undefined);
      if (claimed.length === 0) return;
      const deliveries = await sink.deliver(claimed.map((entry) => entry.payload));
      const settle = async (entry: OutboxEntry, delivery: Delivery): Promise<Settled> => {
        if (delivery.status === "delivered") {
          await outbox.delivered(entry);
          return { delivered: true };
        }
        if (delivery.status === "deferred") {
          await outbox.release(entry, now);
          return { delivered: false };
        }
        if (delivery.permanent || entry.attempts + 1 >= maxAttempts) {
          const reason = delivery.permanent ? `${delivery.error} (refused for good)` : `${delivery.error} (attempt ${entry.attempts + 1} of ${maxAttempts})`;
          const moved = await outbox.deadLetter(entry, reason, now);
          return { delivered: false, error: `${sink.name}: ${reason}; dead-lettered`, ...(moved ? { deadLetter: { entry: { ...entry, attempts: entry.attempts + 1 }, reason } } : {}) };
        }
        await outbox.retryLater(entry, delivery.error, new Date(now.getTime() + backoffMs(entry.attempts + 1)));
        return { delivered: false, error: `${sink.name}: ${delivery.error}` };
      };
      const settled = await Promise.all(claimed.map((entry, index) => limit(() => settle(entry, deliveries[index] ?? { status: "deferred" }))));
      for (const outcome of settled) {
        if (outcome.error) result.errors.push(outcome.error);
        if (outcome.deadLetter) deadLetters.push(outcome.deadLetter);
      }
      const delivered = settled.filter((outcome) => outcome.delivered).length;
      result.delivered[sink.name] = delivered;
      result.pending[sink.name] = claimed.length - delivered;
    }),
  );
  return { result, deadLetters };
}
