import { severityRank, type Policy } from "../config/policy.js";
import type { LifecycleResult } from "../engine/findingLifecycle.js";
import type { Finding } from "../findings.js";
import { digestCard, findingCard } from "./teamsCard.js";
import { sentinelRow } from "./sentinelRow.js";
import { findingCloudEvent } from "./cloudEvent.js";
import type { Digest, Notice } from "./notification.js";
import type { NotificationOutbox } from "../state/outbox.js";
import type { Sink, SinkName } from "./sinks.js";

export interface NotificationPlan {
  notices: Notice[];
  /** Fingerprints whose lastNotifiedAt becomes `at`. */
  notified: string[];
}

/**
 * Pure: what to tell the sinks after a run. New findings and resolutions at or above
 * notify.minSeverity; open findings not told about for notify.renotifyAfterHours as reminders.
 */
export function planNotifications(lifecycle: LifecycleResult, policy: Policy, context: { at: Date; runId: string; mode: Notice["mode"] }): NotificationPlan {
  const at = context.at.toISOString();
  const floor = severityRank(policy.notify.minSeverity);
  const notices: Notice[] = [];
  const notified: string[] = [];
  const opened = new Set(lifecycle.opened.map((finding) => finding.fingerprint));
  for (const finding of lifecycle.opened) {
    if (severityRank(finding.severity) < floor) continue;
    notices.push({ status: "new", finding, runId: context.runId, mode: context.mode, at });
    notified.push(finding.fingerprint);
  }
  for (const record of lifecycle.resolved) {
    if (severityRank(record.severity) < floor || !record.lastNotifiedAt) continue;
    notices.push({ status: "resolved", finding: JSON.parse(record.snapshot) as Finding, runId: context.runId, mode: context.mode, at });
  }
  const renotifyMs = policy.notify.renotifyAfterHours * 3_600_000;
  if (renotifyMs > 0) {
    for (const record of lifecycle.open.values()) {
      if (opened.has(record.fingerprint) || severityRank(record.severity) < floor || !record.lastNotifiedAt) continue;
      if (context.at.getTime() - Date.parse(record.lastNotifiedAt) < renotifyMs) continue;
      notices.push({ status: "reminder", finding: JSON.parse(record.snapshot) as Finding, runId: context.runId, mode: context.mode, at });
      notified.push(record.fingerprint);
    }
  }
  return { notices, notified };
}

/** Per sink, what goes out: Teams a digest (sweep) or a card per finding (events); Sentinel and Event Grid one item per new/resolved finding. */
export function payloadsFor(sink: SinkName, notices: Notice[], digest: Digest | undefined): unknown[] {
  const lasting = notices.filter((notice) => notice.status !== "reminder");
  switch (sink) {
    case "teams":
      if (digest) return digest.notices.length > 0 || digest.resolved > 0 ? [digestCard(digest)] : [];
      return notices.map((notice) => findingCard(notice));
    case "sentinel":
      return lasting.map(sentinelRow);
    case "eventgrid":
      return lasting.map(findingCloudEvent);
  }
}

export interface DispatchResult {
  delivered: Partial<Record<SinkName, number>>;
  pending: Partial<Record<SinkName, number>>;
  errors: string[];
}

/**
 * Writes every payload to the outbox first, then lets each sink drain its own entries (older ones
 * first). Sinks run side by side: one that keeps failing delays nobody and loses nothing.
 */
export async function dispatch(sinks: Sink[], outbox: NotificationOutbox, notices: Notice[], digest: Digest | undefined, now: Date): Promise<DispatchResult> {
  for (const sink of sinks) await outbox.enqueue(sink.name, payloadsFor(sink.name, notices, digest), now);
  const result: DispatchResult = { delivered: {}, pending: {}, errors: [] };
  await Promise.all(
    sinks.map(async (sink) => {
      const entries = await outbox.pending(sink.name);
      if (entries.length === 0) return;
      const outcome = await sink.deliver(entries.map((entry) => entry.payload));
      let delivered = 0;
      for (const [index, entry] of entries.entries()) {
        if (outcome.delivered[index]) {
          await outbox.delivered(entry);
          delivered += 1;
        } else if (outcome.error) {
          await outbox.failed(entry, outcome.error);
        }
      }
      result.delivered[sink.name] = delivered;
      result.pending[sink.name] = entries.length - delivered;
      if (outcome.error) result.errors.push(`${sink.name}: ${outcome.error}`);
    }),
  );
  return result;
}
