import type { Policy } from "../config/policy.js";
import { applyRun, type FindingRecord, type LifecycleResult } from "../engine/findingLifecycle.js";
import type { Finding, RunReport } from "../findings.js";
import type { FindingStateStore } from "../state/findingStateTable.js";
import { dispatch, planNotifications, type DispatchResult } from "./dispatcher.js";
import type { Digest } from "./notification.js";
import type { NotificationOutbox } from "./outbox.js";
import type { Sink } from "./sinks.js";

const EVENT_SCOPE = "events";

/** Sends what a run found to the configured sinks through the outbox, and records when it did. */
export class Notifier {
  constructor(
    private readonly sinks: Sink[],
    private readonly outbox: NotificationOutbox,
    private readonly state: FindingStateStore,
  ) {}

  /** After a sweep: one Teams digest, one Sentinel row and one CloudEvent per new or resolved finding. */
  async afterSweep(scope: string, lifecycle: LifecycleResult, report: RunReport, policy: Policy, now: Date): Promise<DispatchResult> {
    const plan = planNotifications(lifecycle, policy, { at: now, runId: report.runId, mode: "sweep" });
    const digest: Digest = {
      runId: report.runId,
      at: now.toISOString(),
      counts: report.summary.bySeverity,
      notices: plan.notices.filter((notice) => notice.status === "new"),
      resolved: plan.notices.filter((notice) => notice.status === "resolved").length,
      incomplete: report.incomplete.map((entry) => `${entry.check}: ${entry.reason}`),
    };
    const result = await dispatch(this.sinks, this.outbox, plan.notices, digest, now);
    await this.markNotified(scope, lifecycle, plan.notified, now, false);
    return result;
  }

  /**
   * After an event: findings not seen before (by fingerprint, across deliveries and events) go out
   * at once, a Teams card each.
   */
  async afterEvent(findings: Finding[], policy: Policy, runId: string, now: Date): Promise<DispatchResult | undefined> {
    if (findings.length === 0) return undefined;
    const previous = await this.state.loadSome(EVENT_SCOPE, findings.map((finding) => finding.fingerprint));
    // Event findings are never "resolved" by absence: only the ones in hand are considered.
    const lifecycle = applyRun(previous, findings, { now, unknownRules: new Set() });
    lifecycle.resolved.length = 0;
    const plan = planNotifications({ ...lifecycle, open: new Map() }, policy, { at: now, runId, mode: "event" });
    const result = await dispatch(this.sinks, this.outbox, plan.notices, undefined, now);
    await this.markNotified(EVENT_SCOPE, lifecycle, plan.notified, now, true);
    return result;
  }

  /**
   * After a delete event (a role assignment, a federated credential): the open findings about what
   * was deleted are resolved in every scope, and their resolution goes out as a sweep's would.
   * Returns the records resolved.
   */
  async resolveSubjects(subjectIds: string[], policy: Policy, runId: string, now: Date): Promise<FindingRecord[]> {
    const open = await this.state.openForSubjects(subjectIds);
    if (open.length === 0) return [];
    const at = now.toISOString();
    const byScope = new Map<string, FindingRecord[]>();
    for (const { scope, record } of open) {
      const closed: FindingRecord = { ...record, status: "resolved", consecutive: 0, resolvedAt: at };
      const list = byScope.get(scope);
      if (list) list.push(closed);
      else byScope.set(scope, [closed]);
    }
    const resolved = [...byScope.values()].flat();
    const plan = planNotifications({ changed: resolved, opened: [], resolved, open: new Map() }, policy, { at: now, runId, mode: "event" });
    await dispatch(this.sinks, this.outbox, plan.notices, undefined, now);
    for (const [scope, records] of byScope) await this.state.save(scope, records);
    return resolved;
  }

  /** Records lastNotifiedAt; `all` also writes the rest of the run's changes (the sweep job already has). */
  private async markNotified(scope: string, lifecycle: LifecycleResult, fingerprints: string[], now: Date, all: boolean): Promise<void> {
    const notified = new Set(fingerprints);
    const at = now.toISOString();
    const byFingerprint = new Map([...lifecycle.open.values(), ...lifecycle.changed].map((record) => [record.fingerprint, record]));
    const records = [...byFingerprint.values()]
      .filter((record) => all ? lifecycle.changed.includes(record) || notified.has(record.fingerprint) : notified.has(record.fingerprint))
      .map((record) => (notified.has(record.fingerprint) ? { ...record, lastNotifiedAt: at } : record));
    await this.state.save(scope, records);
  }
}
