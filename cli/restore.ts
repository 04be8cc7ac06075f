import { InputError } from "../shared/errors.js";
import { actingIdentity } from "../shared/azure/caller.js";
import { restore, type RestoreResult } from "../shared/cleanup/restore.js";
import { renderTable, type Column } from "./format.js";
import { restoreJournal } from "./cleanup.js";
import type { Run } from "./runtime.js";

export interface RestoreCommandOptions {
  journal?: string;
  run?: string;
  entry?: string;
  estate?: string;
  saveEstate?: string;
  state?: string;
  output: "json" | "table";
}

export async function restoreCommand(run: Run, options: RestoreCommandOptions): Promise<{ restoreRunId: string; results: RestoreResult[] }> {
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
