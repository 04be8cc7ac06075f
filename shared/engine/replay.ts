import { randomUUID } from "node:crypto";
import { sortFindings, summarize, type Finding, type RunReport } from "../findings.js";
import type { Incomplete } from "../model.js";
import { handleResourceEvent, type EventDependencies, type EventOutcome, type EventStatus } from "./eventProcessor.js";

export interface ReplayReport extends RunReport {
  events: Record<EventStatus | "received", number>;
}

/**
 * Events through the very same handler and dedupe as the Event Grid trigger, in file order.
 * A finding raised by two deliveries of one change is reported once (by fingerprint).
 */
export async function replayEvents(events: unknown[], deps: EventDependencies, onOutcome?: (outcome: EventOutcome) => void): Promise<ReplayReport> {
  const startedAt = new Date().toISOString();
  const counts: ReplayReport["events"] = { received: events.length, processed: 0, ignored: 0, duplicate: 0, malformed: 0, failed: 0 };
  const findings = new Map<string, Finding>();
  const incomplete: Incomplete[] = [];
  for (const raw of events) {
    const outcome = await handleResourceEvent(raw, deps);
    counts[outcome.status] += 1;
    onOutcome?.(outcome);
    for (const finding of outcome.findings) if (!findings.has(finding.fingerprint)) findings.set(finding.fingerprint, finding);
    incomplete.push(...outcome.incomplete);
    if (outcome.status === "malformed") incomplete.push({ check: `event ${outcome.eventId}`, reason: `malformed event dropped: ${outcome.reason ?? ""}`, affected: 1 });
  }
  const list = sortFindings([...findings.values()]);
  return {
    runId: `replay-${randomUUID()}`,
    mode: "replay",
    startedAt,
    finishedAt: new Date().toISOString(),
    summary: summarize(list, { identities: 0, roleAssignments: 0, suppressed: 0 }),
    findings: list,
    incomplete,
    actions: [],
    events: counts,
  };
}
