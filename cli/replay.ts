import { InputError } from "../shared/errors.js";
import { readJsonFile } from "../shared/config/validation.js";
import { eventDependencies } from "../shared/composition.js";
import { cleanupGuard } from "../shared/desiredState/approval.js";
import { replayEvents, type ReplayReport } from "../shared/engine/replay.js";
import { loadPolicy, type Severity } from "../shared/config/policy.js";
import { ruleIds } from "../shared/rules/index.js";
import { cleanupMode, planCleanup } from "../shared/cleanup/plan.js";
import { sortFindings } from "../shared/findings.js";
import { withPlan } from "../shared/cleanup/pipeline.js";
import { commitRun } from "../shared/engine/runCommit.js";
import { EVENT_SCOPE } from "../shared/engine/findingLifecycle.js";
import { countRoleAssignments } from "../shared/azure/armActions.js";
import { seedEventStores } from "../local/seed.js";
import { cliCleanup } from "./cleanup.js";
import type { Run } from "./runtime.js";
import type { OutputFormat } from "./output.js";

export interface ReplayCommandOptions {
  events: string;
  estate?: string;
  policy?: string;
  output: OutputFormat;
  failOn?: Severity;
  notify?: boolean;
  state?: string;
  capture?: string;
  enforce?: boolean;
  journal?: string;
  saveEstate?: string;
}

/** A JSON array of events, as Event Grid delivers a batch, or one event object (a CloudEvent in structured mode, a docs example). */
export function readEventsFile(path: string): unknown[] {
  const parsed = readJsonFile(path, `events ${path}`);
  if (Array.isArray(parsed)) return parsed;
  if (parsed !== null && typeof parsed === "object") return [parsed];
  throw new InputError(`events ${path}: must be a JSON array of events, or one event object (got ${parsed === null ? "null" : typeof parsed})`);
}

/** `uami-guard replay`: the events file through the event handler and dedupe, then cleanup of its findings as one run. */
export async function replay(run: Run, options: ReplayCommandOptions): Promise<ReplayReport> {
  const events = readEventsFile(options.events);
  const policy = loadPolicy(options.policy ?? run.settings.UAMI_GUARD_POLICY, ruleIds);
  const cleanup = await cliCleanup(run, policy, options);
  try {
    const deps = eventDependencies(run.clients, policy, { notify: Boolean(options.notify) });
    // The estate seeds the baseline once; with --state a later run continues from what it left.
    if (run.estate && (await deps.baseline.isEmpty())) await seedEventStores(run.estate, deps);
    run.progress.begin("replaying events", events.length);
    const report = await replayEvents(events, deps, (outcome) => {
      run.progress.advance();
      if (outcome.status === "malformed") run.progress.note(`event ${outcome.eventId}: malformed, dropped: ${outcome.reason ?? ""}`);
      if (outcome.status === "failed") run.progress.note(`event ${outcome.eventId}: failed: ${outcome.reason ?? ""}`);
      if (outcome.status === "processed" || outcome.status === "ignored" || outcome.status === "duplicate") {
        const found = outcome.findings.length;
        const why = outcome.reason ?? (outcome.status === "duplicate" ? "its id was handled before (Event Grid delivers at least once)" : undefined);
        run.progress.verbose(`event ${outcome.eventId}: ${outcome.status}, ${found === 0 ? "no finding" : `${found} finding${found === 1 ? "" : "s"}`}${why ? `: ${why}` : ""}`);
      }
    });
    run.progress.end();
    if (cleanupMode(policy, Boolean(options.enforce)) === "off") return report;
    // maxDeletePercent is judged against the role assignments there are now (unknown: no deletion).
    const roleAssignmentsSeen = await countRoleAssignments(run.clients, run.subscriptions).catch((error: unknown) => {
      run.progress.note(`role assignments could not be counted (${error instanceof Error ? error.message : String(error)}): no deletion this run`);
      return undefined;
    });
    const now = new Date();
    const declared = deps.desiredState ? cleanupGuard(await deps.desiredState()) : undefined;
    const planned = planCleanup(report.findings, policy, { forceEnforce: cleanup.options.forceEnforce, consecutive: () => 1, roleAssignmentsSeen, now, runId: report.runId, scope: EVENT_SCOPE, ...(declared ? { declared } : {}) });
    const planReport = withPlan(report, planned, cleanup.options);
    // The events committed their findings; this run commits its cleanup (and the notices it raises) the same way.
    const committed = await commitRun(
      { runId: report.runId, mode: "replay", now, policy, state: { scope: EVENT_SCOPE, inHand: true }, findings: planned.breakerNotice ? [planned.breakerNotice] : [], plan: planned.plan },
      { findings: deps.findingState, ...(deps.notifier ? { notifier: deps.notifier } : {}), cleanup: cleanup.options },
    );
    const raised = committed.notices.filter((notice) => !planReport.findings.some((finding) => finding.fingerprint === notice.fingerprint));
    return { ...planReport, actions: committed.actions, ...(raised.length > 0 ? { findings: sortFindings([...planReport.findings, ...raised]) } : {}) };
  } finally {
    cleanup.close();
  }
}
