import type { Policy } from "./config/policy.js";
import type { Finding, RunReport } from "./findings.js";
import type { Incomplete } from "./model.js";
import type { ActionRecord } from "./cleanup/record.js";

/**
 * The telemetry port (README.md "Watching the guard itself"): what the engine and the triggers report about the guard
 * itself. No-op until an adapter is installed (shared/azure/telemetry.ts, when
 * APPLICATIONINSIGHTS_CONNECTION_STRING is set), so rules and engine never see an SDK and a run
 * without telemetry pays nothing.
 */
export interface GuardMetrics {
  /** `uamiguard.events` (counter; `status`). */
  event(status: string): void;
  /** `uamiguard.findings` (counter; `ruleId`, `severity`, `mode`). */
  finding(ruleId: string, severity: string, mode: string): void;
  /** `uamiguard.sweep.duration` (histogram, ms). */
  sweepDuration(milliseconds: number): void;
  /** `uamiguard.incomplete` (counter; `check`). */
  incomplete(check: string): void;
  /** `uamiguard.actions` (counter; `action`, `status`). */
  action(action: string, status: string): void;
  /** `uamiguard.outbox.pending` (gauge; `sink`). */
  outboxPending(sink: string, entries: number): void;
  /** `uamiguard.breaker.trips` (counter). */
  breakerTrip(): void;
}

export interface Telemetry {
  metrics: GuardMetrics;
  /** Runs `work` inside a span (a request in Application Insights) carrying `attributes`. */
  span<T>(name: string, attributes: Record<string, string>, work: () => Promise<T>): Promise<T>;
  /** Sends what is buffered (the CLI and `serve` flush before they exit). */
  flush(): Promise<void>;
}

const NO_METRICS: GuardMetrics = {
  event: () => undefined,
  finding: () => undefined,
  sweepDuration: () => undefined,
  incomplete: () => undefined,
  action: () => undefined,
  outboxPending: () => undefined,
  breakerTrip: () => undefined,
};

export const NO_TELEMETRY: Telemetry = { metrics: NO_METRICS, span: (_name, _attributes, work) => work(), flush: async () => undefined };

let installed: Telemetry = NO_TELEMETRY;

/** The process's telemetry (the no-op one unless an adapter was installed). */
export function telemetry(): Telemetry {
  return installed;
}

/** Installs the adapter, once, at start-up; returns the one it replaced. */
export function installTelemetry(next: Telemetry): Telemetry {
  const previous = installed;
  installed = next;
  return previous;
}

/** The notice a tripped breaker raises (shared/cleanup/plan.ts CIRCUIT_BREAKER_RULE_ID; not imported: plan.ts is not a leaf). */
const BREAKER_RULE_ID = "cleanup-circuit-breaker";

function modeOf(policy: Policy, ruleId: string): string {
  return policy.rules[ruleId]?.mode ?? "audit";
}

function recordFindings(findings: Finding[], incomplete: Incomplete[], actions: ActionRecord[], policy: Policy): void {
  const { metrics } = telemetry();
  for (const finding of findings) {
    metrics.finding(finding.ruleId, finding.severity, modeOf(policy, finding.ruleId));
    if (finding.ruleId === BREAKER_RULE_ID) metrics.breakerTrip();
  }
  // Event checks are named per event id (`event <id>`): counted under one name.
  for (const entry of incomplete) metrics.incomplete(entry.check.startsWith("event ") ? "event" : entry.check);
  recordActions(actions);
}

/** A finished sweep: duration, findings, incomplete checks, actions, breaker, and the outbox left behind. */
export function recordSweep(report: RunReport, policy: Policy, pending?: Partial<Record<string, number>>): void {
  const duration = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
  if (Number.isFinite(duration)) telemetry().metrics.sweepDuration(Math.max(0, duration));
  recordFindings(report.findings, report.incomplete, report.actions, policy);
  recordOutbox(pending);
}

/** One event's outcome. */
export function recordEvent(outcome: { status: string; findings: Finding[]; incomplete: Incomplete[]; actions?: ActionRecord[] }, policy: Policy): void {
  telemetry().metrics.event(outcome.status);
  recordFindings(outcome.findings, outcome.incomplete, outcome.actions ?? [], policy);
}

export function recordActions(actions: ActionRecord[]): void {
  for (const action of actions) telemetry().metrics.action(action.action, action.status);
}

export function recordOutbox(pending: Partial<Record<string, number>> | undefined): void {
  for (const [sink, entries] of Object.entries(pending ?? {})) telemetry().metrics.outboxPending(sink, entries ?? 0);
}
