import { createHash } from "node:crypto";
import type { JournalEntry, JournalStatus } from "./types.js";

/**
 * Where changes are written before they are made (docs/guarantees.md "Cleanup actions"): Table storage in the app,
 * a JSON Lines file in the CLI. An entry is `pending` from before the change until the change is
 * known to have happened (`done`), not to have happened (`failed`/`skipped`), or was undone (`reverted`).
 */
export interface Journal {
  readonly description: string;
  get(runId: string, entryId: string): Promise<JournalEntry | undefined>;
  /** Written before the change; overwrites a pending entry of the same id (a retried work item). */
  begin(entry: JournalEntry): Promise<void>;
  finish(entry: JournalEntry, status: Exclude<JournalStatus, "pending">, detail: string, after?: Record<string, unknown>): Promise<JournalEntry>;
  /** Entries still pending (a run stopped between writing the entry and knowing the outcome). */
  pending(): Promise<JournalEntry[]>;
  /** A run's entries (or one entry), oldest first. */
  entries(filter: { runId?: string; entryId?: string }): Promise<JournalEntry[]>;
  /** Every run's entries created at or after `time` (the budget across runs is counted from these). */
  since(time: Date): Promise<JournalEntry[]>;
}

/**
 * A lease: an exclusive, expiring hold on one target while a change is made, so two runs (two
 * sweeps, or a sweep and a redelivered work item) never act on the same target at once. Its holder renews
 * it while the change runs; one not renewed for LEASE_MS expires, so a crashed holder does not block the
 * target for ever. Expiry is judged by the store's clock (Table storage: the entity's Timestamp against the
 * service's Date), never by an instance's, whose clock may be wrong.
 */
export interface LeaseStore {
  /** `now` is this instance's time, used only where the store has no clock of its own (in process). */
  acquire(targetKey: string, holder: { runId: string; entryId: string }, now: Date): Promise<{ ok: true } | { ok: false; heldBy: string }>;
  /** Extends the holder's lease; false when it is not the holder's any more (expired and taken over). */
  renew(targetKey: string, holder: { runId: string; entryId: string }): Promise<boolean>;
  release(targetKey: string, holder: { runId: string; entryId: string }): Promise<void>;
}

/** Longer than any one action takes (a read, a write, a read-back); a crashed holder blocks no longer. */
export const LEASE_MS = 5 * 60_000;

/** One entry per (run, action): a redelivered work item finds its own entry. */
export function entryIdFor(runId: string, actionId: string): string {
  return createHash("sha256").update(`${runId}\n${actionId}`).digest("hex").slice(0, 24);
}

export function targetKeyOf(kind: string, targetId: string): string {
  return `${kind}|${targetId.toLowerCase()}`;
}

/** Leases held in this process (the CLI, whose journal file is locked to one process). */
export class ProcessLeases implements LeaseStore {
  private readonly held = new Map<string, { runId: string; entryId: string; at: number }>();

  async acquire(targetKey: string, holder: { runId: string; entryId: string }, now: Date): Promise<{ ok: true } | { ok: false; heldBy: string }> {
    const current = this.held.get(targetKey);
    if (current && current.entryId !== holder.entryId && now.getTime() - current.at < LEASE_MS) return { ok: false, heldBy: current.runId };
    this.held.set(targetKey, { ...holder, at: now.getTime() });
    return { ok: true };
  }

  async renew(targetKey: string, holder: { runId: string; entryId: string }): Promise<boolean> {
    const current = this.held.get(targetKey);
    if (current?.entryId !== holder.entryId) return false;
    this.held.set(targetKey, { ...current, at: Date.now() });
    return true;
  }

  async release(targetKey: string, holder: { runId: string; entryId: string }): Promise<void> {
    if (this.held.get(targetKey)?.entryId === holder.entryId) this.held.delete(targetKey);
  }
}
