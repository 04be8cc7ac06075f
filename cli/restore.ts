import { InputError } from "../shared/errors.js";
import { actingIdentity } from "../shared/azure/caller.js";
import { restore, type RestoreResult } from "../shared/cleanup/restore.js";
import { renderTable, tableLayout, type Column, type TableLayout } from "./format.js";
import { restoreJournal } from "./cleanup.js";
import { journalTable } from "../shared/composition.js";
import type { Run } from "./runtime.js";

export interface RestoreCommandOptions {
  journal?: string;
  run?: string;
  entry?: string;
  estate?: string;
  saveEstate?: string;
  state?: string;
}

export async function restoreCommand(run: Run, options: RestoreCommandOptions): Promise<{ restoreRunId: string; results: RestoreResult[] }> {
  if (!options.journal && !options.run && options.state) await refuseWithoutRun(run);
  const { journal, leases, close } = restoreJournal(run, options);
  try {
    const outcome = await restore({
      clients: run.clients,
      journal,
      leases,
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

/**
 * The journal table may be shared with the Function App: undoing all of it is never meant. Name the
 * runs it holds (newest first) so the user can pick one.
 */
async function refuseWithoutRun(run: Run): Promise<never> {
  const entries = await journalTable(run.clients).entries({});
  const runs = new Map<string, { count: number; last: string }>();
  for (const entry of entries) {
    if (entry.kind === "restore") continue;
    const seen = runs.get(entry.runId) ?? { count: 0, last: "" };
    runs.set(entry.runId, { count: seen.count + 1, last: entry.createdAt > seen.last ? entry.createdAt : seen.last });
  }
  const newest = [...runs].sort((a, b) => b[1].last.localeCompare(a[1].last)).slice(0, 5);
  const listed = newest.map(([runId, { count, last }]) => `${runId} (${count} entr${count === 1 ? "y" : "ies"}, ${last})`).join(", ");
  throw new InputError(`restore --state: give --run RUNID; ${newest.length > 0 ? `the journal table holds ${runs.size} runs: ${listed}${runs.size > 5 ? ", …" : ""}` : "the journal table holds no runs"}`);
}

const RESTORE_COLUMNS: Column<RestoreResult>[] = [
  { header: "STATUS", width: 16, value: (result) => result.status },
  { header: "ENTRY", width: 24, value: (result) => result.entryId },
  { header: "CHANGE UNDONE", width: 70, value: (result) => result.change },
];

export function renderRestore(restoreRunId: string, results: RestoreResult[], format: "json" | "table", layout: TableLayout = tableLayout()): string {
  if (format === "json") return `${JSON.stringify({ restoreRunId, results }, null, 2)}\n`;
  const details = results.filter((result) => result.status !== "restored").map((result) => `${result.entryId}: ${result.status}: ${result.detail}\n`).join("");
  const restored = results.filter((result) => result.status === "restored").length;
  return `${renderTable(results, RESTORE_COLUMNS, undefined, false, layout)}${details}${restored} of ${results.length} entries restored (run ${restoreRunId})\n`;
}
