import { randomUUID } from "node:crypto";
import type { AzureClients } from "../azure/clients.js";
import { patchIdentity, readArm, readRoleAssignmentRaw, readTags, recreateRoleAssignment, updateTags, type ArmJson } from "../azure/armActions.js";
import { ServiceCallFailed, errorMessage } from "../errors.js";
import { idKey, resourceTypeOf } from "../model.js";
import { attachIdentityBlock } from "../azure/identityBlock.js";
import { unsettledState } from "./changes.js";
import { entryIdFor, targetKeyOf, type Journal, type LeaseStore } from "./journal.js";
import { reconcileEntry } from "./pipeline.js";
import { STATUS_TAG, describeChange, type JournalEntry } from "./types.js";

/** `unknown`: whether the change happened could not be read (the entry stays pending); the CLI exits 1. */
export type RestoreStatus = "restored" | "already-restored" | "not-restorable" | "failed" | "nothing-to-undo" | "unknown";

export interface RestoreResult {
  entryId: string;
  runId: string;
  change: string;
  status: RestoreStatus;
  detail: string;
  /** The journal entry of the restore itself. */
  restoreEntryId?: string;
}

export interface RestoreOptions {
  clients: AzureClients;
  journal: Journal;
  leases: LeaseStore;
  caller: string;
  runId?: string;
  entryId?: string;
}

interface Undo {
  /** State now, journaled before the restore changes it. */
  current: ArmJson;
  /** Undefined: already as it was. */
  apply?: () => Promise<string>;
  /** Why it cannot be undone (checked before any change). */
  impossible?: string;
}

/**
 * Undoes journaled changes, newest first: recreate a deleted role assignment (same name, scope, role
 * and principal), re-attach a detached identity, put back the status tag as it was. Each undo is
 * journaled like any change, and its entry is marked `reverted`. An entry that cannot be undone is
 * reported, never thrown.
 */
export async function restore(options: RestoreOptions): Promise<{ restoreRunId: string; results: RestoreResult[] }> {
  const restoreRunId = `restore-${randomUUID()}`;
  const filter = { ...(options.runId ? { runId: options.runId } : {}), ...(options.entryId ? { entryId: options.entryId } : {}) };
  const selected = (await options.journal.entries(filter)).filter((entry) => entry.kind !== "restore");
  const results: RestoreResult[] = [];
  for (const original of [...selected].reverse()) {
    let entry = original;
    if (entry.status === "pending") entry = (await reconcileEntry(entry, options.clients, options.journal)) ?? entry;
    const base = { entryId: entry.entryId, runId: entry.runId, change: describeChange(entry.action) };
    if (entry.status === "pending") {
      // Never "nothing to undo" for what may have happened: say it is not known.
      results.push({ ...base, status: "unknown", detail: "whether the change was made could not be read now (the entry stays pending); run restore again" });
      continue;
    }
    if (entry.status === "reverted") {
      results.push({ ...base, status: "already-restored", detail: entry.detail ?? "restored before" });
      continue;
    }
    if (entry.status !== "done") {
      results.push({ ...base, status: "nothing-to-undo", detail: `the change was not made (${entry.status}${entry.detail ? `: ${entry.detail}` : ""})` });
      continue;
    }
    results.push({ ...base, ...(await undoOne(entry, restoreRunId, options)) });
  }
  return { restoreRunId, results };
}

async function undoOne(entry: JournalEntry, restoreRunId: string, options: RestoreOptions): Promise<Omit<RestoreResult, "entryId" | "runId" | "change">> {
  const { clients, journal, leases } = options;
  const restoreEntryId = entryIdFor(restoreRunId, `restore|${entry.entryId}`);
  const holder = { runId: restoreRunId, entryId: restoreEntryId };
  const targetKey = targetKeyOf(entry.action.kind, entry.action.targetId);
  const lease = await leases.acquire(targetKey, holder, new Date());
  if (!lease.ok) return { status: "failed", detail: `another run (${lease.heldBy}) is changing this target; try again` };
  try {
    let undo: Undo;
    try {
      undo = await planUndo(entry, clients);
    } catch (error) {
      return { status: "failed", detail: `current state could not be read: ${errorMessage(error)}` };
    }
    if (undo.impossible) return { status: "not-restorable", detail: undo.impossible };
    if (!undo.apply) {
      await journal.finish(entry, "reverted", `already as before (checked by ${restoreRunId})`);
      return { status: "already-restored", detail: "the state is already as it was before the change" };
    }
    const now = new Date().toISOString();
    const restoreEntry: JournalEntry = {
      entryId: restoreEntryId,
      runId: restoreRunId,
      kind: "restore",
      undoes: entry.entryId,
      action: entry.action,
      caller: options.caller,
      status: "pending",
      prior: { current: undo.current, restoreTo: entry.prior },
      createdAt: now,
      updatedAt: now,
    };
    await journal.begin(restoreEntry);
    try {
      const detail = await undo.apply();
      await journal.finish(restoreEntry, "done", detail);
      await journal.finish(entry, "reverted", `restored by ${restoreRunId} (entry ${restoreEntryId})`);
      return { status: "restored", detail, restoreEntryId };
    } catch (error) {
      const why = notRestorableReason(entry, error);
      await journal.finish(restoreEntry, "failed", why ?? errorMessage(error));
      return { status: why ? "not-restorable" : "failed", detail: why ?? errorMessage(error), restoreEntryId };
    }
  } finally {
    await leases.release(targetKey, holder).catch(() => undefined);
  }
}

/** ARM's answers that mean "what this needs is gone": the undo cannot be done, ever. */
function notRestorableReason(entry: JournalEntry, error: unknown): string | undefined {
  if (!(error instanceof ServiceCallFailed)) return undefined;
  if (error.code === "PrincipalNotFound") {
    const principal = String(((entry.prior["properties"] ?? {}) as Record<string, unknown>)["principalId"] ?? "");
    return `cannot recreate: principal ${principal} no longer exists in the directory (${error.message})`;
  }
  if (error.code === "FailedIdentityOperation" && entry.action.kind === "detach-identity") {
    return `cannot re-attach: identity ${entry.action.identityId ?? ""} no longer exists (${error.message})`;
  }
  return undefined;
}

async function planUndo(entry: JournalEntry, clients: AzureClients): Promise<Undo> {
  const action = entry.action;
  switch (action.kind) {
    case "delete-role-assignment": {
      const current = await readRoleAssignmentRaw(clients, action.targetId);
      if (current) return { current: current.body };
      return {
        current: {},
        apply: async () => ((await recreateRoleAssignment(clients, entry.prior)) === "created" ? "role assignment recreated" : "role assignment already existed"),
      };
    }
    case "detach-identity": {
      const apiVersion = String(entry.prior["apiVersion"] ?? "");
      const identityKey = Object.keys(((entry.prior["identity"] ?? {}) as { userAssignedIdentities?: Record<string, unknown> }).userAssignedIdentities ?? {}).find(
        (key) => idKey(key) === idKey(action.identityId ?? ""),
      ) ?? action.identityId ?? "";
      const read = await readArm(clients, action.targetId, apiVersion);
      if (!read) return { current: {}, impossible: `cannot re-attach: resource ${action.targetId} no longer exists` };
      const identity = (read.body["identity"] ?? {}) as { type?: string; userAssignedIdentities?: Record<string, unknown> | null };
      const keys = Object.keys(identity.userAssignedIdentities ?? {});
      if (keys.some((key) => idKey(key) === idKey(identityKey))) return { current: { identity: read.body["identity"] ?? null } };
      const block = attachIdentityBlock(resourceTypeOf(action.targetId) ?? "", /systemassigned/i.test(identity.type ?? ""), identityKey);
      return {
        current: { identity: read.body["identity"] ?? null, ...(read.etag ? { etag: read.etag } : {}) },
        apply: async () => {
          await patchIdentity(clients, action.targetId, apiVersion, block, read.etag);
          const after = await readArm(clients, action.targetId, apiVersion);
          const unsettled = after ? unsettledState(after.body) : undefined;
          if (unsettled) throw new ServiceCallFailed("arm", undefined, `re-attached, but ${unsettled}`);
          const attached = Object.keys(((after?.body["identity"] ?? {}) as { userAssignedIdentities?: Record<string, unknown> }).userAssignedIdentities ?? {});
          if (!attached.some((key) => idKey(key) === idKey(identityKey))) throw new ServiceCallFailed("arm", undefined, "re-attached, but the identity is not on the resource when read back");
          return "identity re-attached";
        },
      };
    }
    case "tag-identity": {
      const tags = await readTags(clients, action.targetId);
      if (!tags) return { current: {}, impossible: `cannot restore tags: identity ${action.targetId} no longer exists` };
      const before = ((entry.prior["tags"] ?? {}) as Record<string, string>)[STATUS_TAG];
      const now = tags[STATUS_TAG];
      if (now === before) return { current: { tags } };
      if (now !== undefined && now !== action.tagValue) {
        return { current: { tags }, impossible: `${STATUS_TAG} was changed since (now "${now}"): left as it is` };
      }
      return {
        current: { tags },
        apply: async () => {
          // Only the tag the action set goes back; tags others changed since stay as they are.
          if (before !== undefined) await updateTags(clients, action.targetId, "Merge", { [STATUS_TAG]: before });
          else await updateTags(clients, action.targetId, "Delete", { [STATUS_TAG]: now ?? "" });
          return `${STATUS_TAG} ${before !== undefined ? `set back to "${before}"` : "removed"}`;
        },
      };
    }
  }
}

