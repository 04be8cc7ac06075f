import type { Policy } from "../config/policy.js";
import type { LifecycleResult, Notified } from "../engine/findingLifecycle.js";
import type { RunReport } from "../findings.js";
import { dispatch, planNotifications, type DispatchResult } from "./dispatcher.js";
import type { Digest } from "./notification.js";
import type { NotificationOutbox } from "../state/outbox.js";
import type { Sink } from "./sinks.js";

/**
 * Sends what a run found to the configured sinks through the outbox, and reports what it sent. It
 * plans from the lifecycle it is given and keeps no finding state (engine/findingLifecycle.ts does).
 */
export class Notifier {
  constructor(
    private readonly sinks: Sink[],
    private readonly outbox: NotificationOutbox,
  ) {}

  /** After a sweep: one Teams digest, one Sentinel row and one CloudEvent per new or resolved finding. */
  async afterSweep(lifecycle: LifecycleResult, report: RunReport, policy: Policy, now: Date): Promise<Notified<DispatchResult>> {
    const plan = planNotifications(lifecycle, policy, { at: now, runId: report.runId, mode: "sweep" });
    const digest: Digest = {
      runId: report.runId,
      at: now.toISOString(),
      counts: report.summary.bySeverity,
      notices: plan.notices.filter((notice) => notice.status === "new"),
      minSeverity: policy.notify.minSeverity,
      resolved: plan.notices.filter((notice) => notice.status === "resolved").length,
      incomplete: report.incomplete.map((entry) => `${entry.check}: ${entry.reason}`),
    };
    return { result: await dispatch(this.sinks, this.outbox, plan.notices, digest, now), notified: plan.notified };
  }

  /** After an event: the findings new in this lifecycle go out at once, a Teams card each. */
  async afterEvent(lifecycle: LifecycleResult, policy: Policy, runId: string, now: Date): Promise<Notified<DispatchResult>> {
    const plan = planNotifications(lifecycle, policy, { at: now, runId, mode: "event" });
    return { result: await dispatch(this.sinks, this.outbox, plan.notices, undefined, now), notified: plan.notified };
  }
}
