import type { ActionKind } from "../model.js";

/**
 * What a run reports about cleanup: the leaf of shared/cleanup/, imported by findings.ts for the run
 * report, so it imports only model types (findings.ts ↔ cleanup would otherwise be a cycle). Which rule
 * takes which action is each rule's `meta.action` (ACTION_FOR_RULE in shared/rules/index.ts).
 */

export type { ActionKind } from "../model.js";

export type CleanupMode = "off" | "dry-run" | "enforce";

/**
 * An action as a run reports it (`actions` in the findings document). `planned` is a dry run;
 * `deferred` waits for more confirmations; `blocked` is the circuit breaker; `queued` went to the
 * cleanup queue (the app); `done`/`failed`/`skipped` come from carrying it out; `unknown` is a change
 * whose answer was lost and whose target could not be re-read (its journal entry stays pending).
 */
export type ActionStatus = "planned" | "deferred" | "blocked" | "queued" | "done" | "failed" | "skipped" | "unknown";

export interface ActionRecord {
  actionId: string;
  action: ActionKind;
  ruleId: string;
  fingerprint: string;
  subjectId: string;
  relatedId?: string;
  target: string;
  change: string;
  status: ActionStatus;
  reason?: string;
  /** The journal entry that records the change (absent when nothing was changed or written). */
  entryId?: string;
  /**
   * A deferral past a budget across runs (docs/guarantees.md "One budget across runs"): which budget, why, and when its
   * window has room again (a work item waits on the queue until then). The run raises the window's
   * cleanup-circuit-breaker notice from it.
   */
  budget?: { name: "hour" | "day"; reason: string; roomAt: string; raise: boolean };
}

/** What a run reports about cleanup beside its `actions`: the mode, the journal, a tripped breaker. */
export interface CleanupSummary {
  mode: CleanupMode;
  journal?: string;
  breaker?: string;
}
