import { existsSync } from "node:fs";
import type { Policy } from "../shared/config/policy.js";
import { InputError } from "../shared/errors.js";
import { actingIdentity } from "../shared/azure/caller.js";
import { cleanupMode } from "../shared/cleanup/plan.js";
import { ACTION_FOR_RULE } from "../shared/rules/index.js";
import { LEASE_MS, ProcessLeases, type Journal, type LeaseStore } from "../shared/cleanup/journal.js";
import type { CleanupOptions } from "../shared/cleanup/pipeline.js";
import type { FindingStateStore } from "../shared/engine/findingLifecycle.js";
import { journalTable } from "../shared/composition.js";
import { FileJournal } from "./fileJournal.js";
import { FileFindingStateStore } from "./fileFindingState.js";
import type { Run } from "./runtime.js";
import { onInterrupt } from "./signals.js";

/** In-process actions at once: ARM handles this many writes per caller comfortably. */
const INLINE_CONCURRENCY = 8;

export interface CleanupFlags {
  enforce?: boolean;
  journal?: string;
  state?: string;
}

export interface CliCleanup {
  options: CleanupOptions;
  /**
   * Without --state: the finding state of a sweep, kept beside --journal FILE (FILE.findings.json) so
   * orphan confirmations count across runs; in memory only (nothing kept) without --journal.
   */
  findingState: FindingStateStore;
  close(): void;
}

/** Where a CLI run without --state keeps its finding state: beside its journal file. */
export function findingStatePathFor(journalPath: string): string {
  return `${journalPath}.findings.json`;
}

/**
 * The cleanup options of a CLI run: journal --journal FILE (JSON Lines) or, with --state, the app's
 * journal table. A run that may change anything must have one: every change is journaled first.
 */
export async function cliCleanup(run: Run, policy: Policy, flags: CleanupFlags): Promise<CliCleanup> {
  const mode = cleanupMode(policy, Boolean(flags.enforce));
  const table = flags.state ? journalTable(run.clients) : undefined;
  if (mode === "enforce" && !flags.journal && !table) {
    throw new InputError(`${flags.enforce ? "--enforce" : "policy cleanup.dryRun=false with rules in enforce mode"}: needs --journal FILE (or --state): every change is journaled before it is made`);
  }
  const file = flags.journal ? new FileJournal(flags.journal) : undefined;
  // Ctrl-C must not leave the journal locked to a process that is gone.
  const released = file ? onInterrupt(() => file.close()) : () => undefined;
  const journal: Journal | undefined = file ?? table;
  const leases: LeaseStore = table ?? new ProcessLeases();
  const caller = mode === "enforce" ? await actingIdentity(run.clients) : "dry-run";
  return {
    options: {
      clients: run.clients,
      policy,
      forceEnforce: Boolean(flags.enforce),
      caller,
      ...(journal ? { journal } : {}),
      leases,
      dispatch: { kind: "inline", concurrency: INLINE_CONCURRENCY },
      // A file journal is locked to this process: anything pending in it is left over. The table may
      // be shared with the app, whose in-flight entries are younger than a lease.
      reconcileOlderThanMs: file ? 0 : LEASE_MS,
    },
    findingState: new FileFindingStateStore(flags.journal ? findingStatePathFor(flags.journal) : undefined),
    close: () => {
      released();
      file?.close();
    },
  };
}

/**
 * `--enforce --dry-run`: the policy under which the planner decides exactly what `--enforce` would (every
 * rule that has an action in enforce mode, the same confirmations, protections and circuit breaker) and
 * reports it `planned`, carrying nothing out.
 */
export function enforceAsDryRun(policy: Policy): Policy {
  const rules = { ...policy.rules };
  for (const ruleId of Object.keys(ACTION_FOR_RULE)) rules[ruleId] = { ...rules[ruleId], mode: "enforce" };
  return { ...policy, rules, cleanup: { ...policy.cleanup, dryRun: true } };
}

/** Finding state a dry run reads (orphan sightings count as the enforce run will count them) and never writes. */
export function readOnlyFindingState(store: FindingStateStore): FindingStateStore {
  return { load: (scope, options) => store.load(scope, options), loadSome: (scope, fingerprints) => store.loadSome(scope, fingerprints), save: async () => undefined };
}

/** `restore`: the journal to undo from. */
export function restoreJournal(run: Run, flags: { journal?: string; run?: string; state?: string }): { journal: Journal; leases: LeaseStore; close: () => void } {
  if (flags.journal) {
    if (!existsSync(flags.journal)) throw new InputError(`--journal ${flags.journal}: no such file`);
    const file = new FileJournal(flags.journal);
    return { journal: file, leases: new ProcessLeases(), close: () => file.close() };
  }
  if (!flags.run) throw new InputError("restore: give --journal FILE or --run RUNID (the app's journal table)");
  const table = journalTable(run.clients);
  return { journal: table, leases: table, close: () => undefined };
}
