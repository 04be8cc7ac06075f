import { existsSync } from "node:fs";
import type { Policy } from "../shared/config/policy.js";
import { InputError } from "../shared/errors.js";
import { actingIdentity } from "../shared/azure/caller.js";
import { cleanupMode } from "../shared/actions/plan.js";
import { CLAIM_LEASE_MS, ProcessClaims, type ClaimStore, type Journal } from "../shared/actions/journal.js";
import type { ActionSettings } from "../shared/actions/runActions.js";
import { TableJournal } from "../shared/state/journalTable.js";
import { TABLES } from "../shared/engine/eventRuntime.js";
import { FileJournal } from "./fileJournal.js";
import type { Run } from "./runtime.js";
import { onInterrupt } from "./signals.js";

/** In-process actions at once: ARM handles this many writes per caller comfortably. */
const INLINE_CONCURRENCY = 8;

export interface ActionFlags {
  enforce?: boolean;
  journal?: string;
  state?: string;
}

export interface CliActions {
  settings: ActionSettings;
  /** Set with --journal: it also remembers orphan sightings between runs without --state. */
  file?: FileJournal;
  close(): void;
}

/**
 * The journal and claims of a CLI run: --journal FILE (JSON Lines) or, with --state, the app's
 * journal table. A run that may change anything must have one: every change is journaled first.
 */
export async function cliActions(run: Run, policy: Policy, flags: ActionFlags): Promise<CliActions> {
  const mode = cleanupMode(policy, Boolean(flags.enforce));
  const table = flags.state ? new TableJournal(run.clients.table(TABLES.journal)) : undefined;
  if (mode === "enforce" && !flags.journal && !table) {
    throw new InputError(`${flags.enforce ? "--enforce" : "policy cleanup.dryRun=false with rules in enforce mode"}: needs --journal FILE (or --state): every change is journaled before it is made`);
  }
  const file = flags.journal ? new FileJournal(flags.journal) : undefined;
  // Ctrl-C must not leave the journal locked to a process that is gone.
  const released = file ? onInterrupt(() => file.close()) : () => undefined;
  const journal: Journal | undefined = file ?? table;
  const claims: ClaimStore = table ?? new ProcessClaims();
  const caller = mode === "enforce" ? await actingIdentity(run.clients) : "dry-run";
  return {
    settings: {
      forceEnforce: Boolean(flags.enforce),
      caller,
      ...(journal ? { journal } : {}),
      claims,
      dispatch: { kind: "inline", concurrency: INLINE_CONCURRENCY },
      // A file journal is locked to this process: anything pending in it is left over. The table may
      // be shared with the app, whose in-flight entries are younger than a claim lease.
      reconcileOlderThanMs: file ? 0 : CLAIM_LEASE_MS,
    },
    ...(file ? { file } : {}),
    close: () => {
      released();
      file?.close();
    },
  };
}

/** `restore`: the journal to undo from. */
export function restoreJournal(run: Run, flags: { journal?: string; run?: string; state?: string }): { journal: Journal; claims: ClaimStore; close(): void } {
  if (flags.journal) {
    if (!existsSync(flags.journal)) throw new InputError(`--journal ${flags.journal}: no such file`);
    const file = new FileJournal(flags.journal);
    return { journal: file, claims: new ProcessClaims(), close: () => file.close() };
  }
  if (!flags.run) throw new InputError("restore: give --journal FILE or --run RUNID (the app's journal table)");
  const table = new TableJournal(run.clients.table(TABLES.journal));
  return { journal: table, claims: table, close: () => undefined };
}
