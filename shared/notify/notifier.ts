import type { CorePolicy } from "../config/policyCore.js";
import type { LifecycleResult } from "../engine/findingLifecycle.js";
import type { RunReport } from "../findings.js";
import { dispatchDue, outboxDrafts, planNotifications, type DeadLetter, type DispatchResult } from "./dispatcher.js";
import type { Digest, Notice } from "./notification.js";
import type { NotificationOutbox } from "../state/outbox.js";
import type { Sink } from "./sinks.js";

/** What a run will tell the sinks: its notices (their outbox entries are made as they are written), and the fingerprints they notify. */
export interface PlannedNotices {
  notices: Notice[];
  notified: string[];
  /** A sweep's: Teams gets it instead of a card per finding. */
  digest?: Digest;
  /** Rules whose notices are keyed without the run (the engine's notices about itself). */
  runWide: ReadonlySet<string>;
}

/**
 * Notices whose outbox entries are made and written together. The first sweep of a tenant of a million role
 * assignments has ~290,000 new findings: a Sentinel row and a CloudEvent each, with the finding's evidence, made
 * all at once (then each entity's JSON) are more than the app's heap.
 */
export const ENQUEUE_CHUNK = 500;

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
    return { notices: plan.notices, notified: plan.notified, ...(digest ? { digest } : {}), runWide: context.engineNotices };
  }

  /**
   * Written before the finding state that says they were sent: a failure in between loses nothing. A part at a
   * time (`ENQUEUE_CHUNK` notices): an entry already written is left as it is, so a run that fails half way writes
   * the rest on its redelivery.
   */
  async enqueue(planned: PlannedNotices, now: Date): Promise<void> {
    for (let start = 0; start === 0 || start < planned.notices.length; start += ENQUEUE_CHUNK) {
      const notices = planned.notices.slice(start, start + ENQUEUE_CHUNK);
      await this.outbox.enqueue(outboxDrafts(this.sinks, notices, planned.digest, { runWide: planned.runWide, withDigest: start === 0 }), now);
    }
  }

  /** Sends what is due in every sink (this run's notices and whatever earlier runs left). */
  async dispatch(maxAttempts: number, now: Date): Promise<{ result: DispatchResult; deadLetters: DeadLetter[] }> {
    return dispatchDue(this.sinks, this.outbox, maxAttempts, now);
  }
}
