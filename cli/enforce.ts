import type { Policy } from "../shared/config/policy.js";
import { InputError } from "../shared/errors.js";
import type { RunReport } from "../shared/findings.js";
import { actingIdentity } from "../shared/azure/caller.js";
import { restore, type RestoreResult } from "../shared/actions/restore.js";
import { planActions, takeActions } from "../shared/actions/runActions.js";
import { sweepScopeKey } from "../shared/state/findingStateTable.js";
import { renderTable, type Column } from "./format.js";
import { restoreJournal, type CliActions } from "./actions.js";
import type { Run } from "./runtime.js";

/**
 * A sweep without --state: confirmations come from the orphan sightings the --journal file kept from
 * earlier runs (none: this is the first sighting), and this run's sightings are added to it.
 */
export async function sweepActionsWithoutState(report: RunReport, run: Run, policy: Policy, actions: CliActions): Promise<void> {
  const previous = actions.file?.previousSightings() ?? new Map<string, number>();
  const consecutive = (fingerprint: string): number => (previous.get(fingerprint) ?? 0) + 1;
  const plan = planActions(report, policy, actions.settings, { consecutive, roleAssignmentsSeen: report.summary.roleAssignments, now: new Date() }, sweepScopeKey(run.subscriptions));
  if (plan.mode === "off") return;
  await takeActions(report, plan, run.clients, policy, actions.settings);
  const orphans = new Map(report.findings.filter((finding) => finding.ruleId === "orphaned-role-assignment").map((finding) => [finding.fingerprint, consecutive(finding.fingerprint)]));
  actions.file?.recordSightings(report.runId, orphans);
}

export interface RestoreCommandOptions {
  journal?: string;
  run?: string;
  entry?: string;
  estate?: string;
  saveEstate?: string;
  state?: string;
}

export async function restoreCommand(run: Run, options: RestoreCommandOptions): Promise<{ restoreRunId: string; results: RestoreResult[] }> {
  const { journal, claims, close } = restoreJournal(run, options);
  try {
    const outcome = await restore({
      clients: run.clients,
      journal,
      claims,
      caller: await actingIdentity(run.clients),
      ...(options.run ? { runId: options.run } : {}),
      ...(options.entry ? { entryId: options.entry } : {}),
    });
    if (outcome.results.length === 0) {
      const what = [options.run ? `run ${options.run}` : "", options.entry ? `entry ${options.entry}` : ""].filter(Boolean).join(", ");
      throw new InputError(`restore: no journal entries${what ? ` for ${what}` : ""} in ${journal.description}`);
    }
    return outcome;
  } finally {
    close();
  }
}

const RESTORE_COLUMNS: Column<RestoreResult>[] = [
  { header: "STATUS", width: 16, value: (result) => result.status },
  { header: "ENTRY", width: 24, value: (result) => result.entryId },
  { header: "CHANGE UNDONE", width: 70, value: (result) => result.change },
];

export function renderRestore(restoreRunId: string, results: RestoreResult[], format: "json" | "table"): string {
  if (format === "json") return `${JSON.stringify({ restoreRunId, results }, null, 2)}\n`;
  const details = results.filter((result) => result.status !== "restored").map((result) => `${result.entryId}: ${result.status}: ${result.detail}\n`).join("");
  const restored = results.filter((result) => result.status === "restored").length;
  return `${renderTable(results, RESTORE_COLUMNS)}${details}${restored} of ${results.length} entries restored (run ${restoreRunId})\n`;
}
