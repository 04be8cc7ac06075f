import type { CorePolicy } from "../config/policyCore.js";
import type { LifecycleResult } from "../engine/findingLifecycle.js";
import type { RunReport } from "../findings.js";
import { dispatchDue, outboxDrafts, planNotifications, type DeadLetter, type DispatchResult } from "./dispatcher.js";
import type { Digest, Notice } from "./notification.js";
import type { NotificationOutbox, OutboxDraft } from "../state/outbox.js";
import type { Sink } from "./sinks.js";

/** What a run will tell the sinks: the outbox entries to write, and the fingerprints they notify. */
export interface PlannedNotices {
  drafts: OutboxDraft[];
  notified: string[];
  notices: Notice[];
}

/**
 * The sinks and their outbox. The run commit (engine/runCommit.ts) asks it what a lifecycle means for the
 * sinks (pure), has it write that to the outbox, and later has it send what is due. It keeps no finding
 * state (engine/findingLifecycle.ts does).
 */
export class Notifier {
  constructor(
    private readonly sinks: Sink[],
    private readonly outbox: NotificationOutbox,
  ) {}

  /**
   * The notices of a lifecycle. `report`: a sweep's, summed up in one Teams digest (one Sentinel row and one
   * CloudEvent per new or resolved finding); without it (an event) a Teams card per finding.
   */
  plan(
    lifecycle: LifecycleResult,
    policy: Pick<CorePolicy, "notify">,
    context: { runId: string; now: Date; mode: Notice["mode"]; report?: RunReport; engineNotices: ReadonlySet<string> },
  ): PlannedNotices {
    const plan = planNotifications(lifecycle, policy, { at: context.now, runId: context.runId, mode: context.mode, always: context.engineNotices });
    const report = context.report;
    const digest: Digest | undefined = report
      ? {
          runId: context.runId,
          at: context.now.toISOString(),
          counts: report.summary.bySeverity,
          notices: plan.notices.filter((notice) => notice.status === "new" && !context.engineNotices.has(notice.finding.ruleId)),
          minSeverity: policy.notify.minSeverity,
          resolved: plan.notices.filter((notice) => notice.status === "resolved" && !context.engineNotices.has(notice.finding.ruleId)).length,
          incomplete: report.incomplete.map((entry) => `${entry.check}: ${entry.reason}`),
        }
      : undefined;
    return { drafts: outboxDrafts(this.sinks, plan.notices, digest, { runWide: context.engineNotices }), notified: plan.notified, notices: plan.notices };
  }

  /** Written before the finding state that says they were sent: a failure in between loses nothing. */
  async enqueue(planned: PlannedNotices, now: Date): Promise<void> {
    await this.outbox.enqueue(planned.drafts, now);
  }

  /** Sends what is due in every sink (this run's notices and whatever earlier runs left). */
  async dispatch(maxAttempts: number, now: Date): Promise<{ result: DispatchResult; deadLetters: DeadLetter[] }> {
    return dispatchDue(this.sinks, this.outbox, maxAttempts, now);
  }
}
