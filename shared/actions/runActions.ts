import type { AzureClients } from "../azure/clients.js";
import type { Policy } from "../config/policy.js";
import { sortFindings, summarize, type Finding, type RunReport } from "../findings.js";
import { carryOut, planRun, type CleanupDispatch } from "./cleanup.js";
import { reconcilePending } from "./executor.js";
import type { ClaimStore, Journal } from "./journal.js";
import type { CleanupPlan, PlanOptions } from "./plan.js";
import { recordOf, type ActionRecord, type JournalEntry } from "./types.js";

/** How one run (sweep, replay, event) may act: set up by the CLI or the Functions app. */
export interface ActionSettings {
  /** `--enforce`: every rule with an action enforces, dry run off. */
  forceEnforce: boolean;
  caller: string;
  journal?: Journal;
  claims?: ClaimStore;
  dispatch: CleanupDispatch;
  /** Pending journal entries at least this old are reconciled before acting (the app: the claim lease; the CLI: 0). */
  reconcileOlderThanMs: number;
}

/** What a run reports about cleanup beside its `actions`. */
export interface CleanupSummary {
  mode: CleanupPlan["mode"];
  journal?: string;
  breaker?: string;
}

/** A finding added after the rules ran (the breaker notice): the summary counts it too. */
export function addFinding(report: RunReport, finding: Finding): void {
  report.findings = sortFindings([...report.findings, finding]);
  report.summary = summarize(report.findings, { identities: report.summary.identities, roleAssignments: report.summary.roleAssignments, suppressed: report.summary.suppressed });
}

/** Plans the run's actions and adds the breaker notice to its findings (before finding state and notifications). */
export function planActions(report: RunReport, policy: Policy, settings: ActionSettings, counts: Omit<PlanOptions, "forceEnforce">, subjectId: string): CleanupPlan {
  const { plan, notice } = planRun(report.findings, policy, { ...counts, forceEnforce: settings.forceEnforce }, report.runId, subjectId);
  if (notice) addFinding(report, notice);
  report.cleanup = {
    mode: plan.mode,
    ...(settings.journal ? { journal: settings.journal.description } : {}),
    ...(plan.breaker ? { breaker: plan.breaker.reason } : {}),
  };
  return plan;
}

/** Reconciles what earlier runs left pending, then carries the plan out; the records go to `report.actions`. */
export async function takeActions(report: RunReport, plan: CleanupPlan, clients: AzureClients, policy: Policy, settings: ActionSettings): Promise<void> {
  const reconciled: ActionRecord[] = [];
  if (settings.journal && plan.mode === "enforce") {
    for (const entry of await reconcilePending(settings.journal, clients, new Date(), settings.reconcileOlderThanMs)) reconciled.push(reconciledRecord(entry));
  }
  const actions = await carryOut(plan, {
    clients,
    policy,
    runId: report.runId,
    caller: settings.caller,
    dispatch: settings.dispatch,
    ...(settings.journal ? { journal: settings.journal } : {}),
    ...(settings.claims ? { claims: settings.claims } : {}),
  });
  report.actions = [...reconciled, ...actions];
}

function reconciledRecord(entry: JournalEntry): ActionRecord {
  const status = entry.status === "done" ? "done" : "failed";
  const reason = entry.status === "pending" ? `left pending by run ${entry.runId}; its state could not be read now` : `from run ${entry.runId}: ${entry.detail ?? entry.status}`;
  return recordOf(entry.action, status, reason, entry.entryId);
}
