import type { AzureClients } from "../azure/clients.js";
import {
  deleteRoleAssignment,
  patchIdentity,
  principalExists,
  readArm,
  readRoleAssignmentRaw,
  readTags,
  updateTags,
  type ArmJson,
} from "../azure/armActions.js";
import { detachIdentityBlock } from "../azure/identityBlock.js";
import type { Policy } from "../config/policy.js";
import { ServiceCallFailed, errorMessage } from "../errors.js";
import { apiVersionForType, detachApiVersionForType } from "../events/operations.js";
import { idKey, resourceTypeOf } from "../model.js";
import { tagValue } from "../rules/lib/tags.js";
import { entryIdFor, targetKeyOf, type ClaimStore, type Journal } from "./journal.js";
import { protectionOf } from "./plan.js";
import { STATUS_TAG, recordOf, type ActionRecord, type JournalEntry, type PlannedAction } from "./types.js";

export const IDENTITY_API_VERSION = "2023-01-31";

export interface ActionContext {
  clients: AzureClients;
  policy: Policy;
  journal: Journal;
  claims: ClaimStore;
  runId: string;
  caller: string;
  now?: () => Date;
  /**
   * A change whose outcome is unknown (5xx/429 after retries, timeout) leaves its entry pending.
   * `throw`: the queue-trigger function rethrows so the work item is retried (then poisoned).
   * `report`: the CLI reports it failed; the next run reconciles the entry.
   */
  onUnknownOutcome: "throw" | "report";
}

/** The outcome of a change is unknown: the journal entry stays pending for reconciliation. */
export class OutcomeUnknown extends Error {
  override readonly name = "OutcomeUnknown";
}

/** Another run holds the target: a work item is retried later rather than dropped. */
export class TargetBusy extends Error {
  override readonly name = "TargetBusy";
}

/** What was read before the change: the prior state to journal, or why nothing is to be done. */
type Prepared =
  | { skip: string }
  | { prior: ArmJson; change: () => Promise<"applied" | "absent">; verify: () => Promise<string | undefined> };

function isTransient(error: unknown): boolean {
  const status = error instanceof ServiceCallFailed ? error.statusCode : undefined;
  return status === undefined || status === 408 || status === 429 || status >= 500;
}

/**
 * One cleanup action, fail-safe: hold the target, re-read it from ARM (never act on the finding
 * alone), check it still warrants the change and is not protected, journal the prior state, make the
 * change, read back and verify, mark the entry done or failed.
 */
export async function executeAction(action: PlannedAction, context: ActionContext): Promise<ActionRecord> {
  const now = context.now?.() ?? new Date();
  const entryId = entryIdFor(context.runId, action.actionId);
  const holder = { runId: context.runId, entryId };
  const targetKey = targetKeyOf(action.kind, action.targetId);

  const earlier = await context.journal.get(context.runId, entryId);
  if (earlier && earlier.status !== "pending") return recordOf(action, statusOfEntry(earlier), earlier.detail, entryId);

  const claim = await context.claims.claim(targetKey, holder, now);
  if (!claim.ok) {
    if (context.onUnknownOutcome === "throw") throw new TargetBusy(`another run (${claim.heldBy}) is changing ${action.targetId}; retried later`);
    return recordOf(action, "skipped", `another run (${claim.heldBy}) is changing this target`);
  }
  try {
    if (earlier) {
      // A retried work item whose first attempt stopped after journaling: find out what happened.
      const reconciled = await reconcileEntry(earlier, context.clients, context.journal);
      if (reconciled && reconciled.status === "done") return recordOf(action, "done", reconciled.detail, entryId);
    }
    let prepared: Prepared;
    try {
      prepared = await prepare(action, context);
    } catch (error) {
      // Could not read current state: unknown, so nothing is changed.
      return recordOf(action, "skipped", `current state could not be read: ${errorMessage(error)}`);
    }
    if ("skip" in prepared) return recordOf(action, "skipped", prepared.skip);

    const entry: JournalEntry = {
      entryId,
      runId: context.runId,
      kind: action.kind,
      action,
      caller: context.caller,
      status: "pending",
      prior: prepared.prior,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    };
    await context.journal.begin(entry);

    let outcome: "applied" | "absent";
    try {
      outcome = await prepared.change();
    } catch (error) {
      return await afterFailedChange(action, entry, error, context);
    }
    if (outcome === "absent") {
      await context.journal.finish(entry, "skipped", "already gone when the change was made: nothing changed");
      return recordOf(action, "skipped", "already gone when the change was made", entryId);
    }
    let problem: string | undefined;
    try {
      problem = await prepared.verify();
    } catch (error) {
      problem = `could not be read back: ${errorMessage(error)}`;
    }
    // Applied either way: the entry is `done` so restore can undo it; a mismatch is reported as failed.
    await context.journal.finish(entry, "done", problem ? `applied; verification: ${problem}` : "applied and verified");
    return recordOf(action, problem ? "failed" : "done", problem ? `applied, but verification found: ${problem}` : undefined, entryId);
  } finally {
    await context.claims.release(targetKey, holder).catch(() => undefined);
  }
}

async function afterFailedChange(action: PlannedAction, entry: JournalEntry, error: unknown, context: ActionContext): Promise<ActionRecord> {
  const status = error instanceof ServiceCallFailed ? error.statusCode : undefined;
  const code = error instanceof ServiceCallFailed && error.code ? ` ${error.code}` : "";
  if (!isTransient(error)) {
    const why =
      status === 404
        ? "gone (404): nothing changed"
        : status === 409
          ? `conflict (409${code}), e.g. a lock on the scope: ${errorMessage(error)}`
          : status === 412
            ? "changed since it was read (412): nothing changed; the next run re-evaluates"
            : errorMessage(error);
    const finished = await context.journal.finish(entry, status === 404 ? "skipped" : "failed", why);
    return recordOf(action, status === 404 ? "skipped" : "failed", finished.detail, entry.entryId);
  }
  // Maybe applied, maybe not: look before concluding anything.
  const reconciled = await reconcileEntry(entry, context.clients, context.journal).catch(() => undefined);
  if (reconciled) return recordOf(action, reconciled.status === "done" ? "done" : "failed", reconciled.detail, entry.entryId);
  if (context.onUnknownOutcome === "throw") throw new OutcomeUnknown(`outcome unknown, entry ${entry.entryId} left pending: ${errorMessage(error)}`);
  return recordOf(action, "failed", `outcome unknown (${errorMessage(error)}); the journal entry stays pending and the next run reconciles it`, entry.entryId);
}

function statusOfEntry(entry: JournalEntry): ActionRecord["status"] {
  if (entry.status === "done" || entry.status === "reverted") return "done";
  return entry.status === "skipped" ? "skipped" : "failed";
}

async function prepare(action: PlannedAction, context: ActionContext): Promise<Prepared> {
  switch (action.kind) {
    case "delete-role-assignment":
      return prepareDelete(action, context);
    case "detach-identity":
      return prepareDetach(action, context);
    case "tag-identity":
      return prepareTag(action, context);
  }
}

async function prepareDelete(action: PlannedAction, context: ActionContext): Promise<Prepared> {
  const { clients, policy } = context;
  const read = await readRoleAssignmentRaw(clients, action.targetId);
  if (!read) return { skip: "the role assignment is already gone" };
  const properties = (read.body["properties"] ?? {}) as Record<string, unknown>;
  const principalId = String(properties["principalId"] ?? "");
  const scope = String(properties["scope"] ?? "");
  if (action.principalId && idKey(principalId) !== idKey(action.principalId)) return { skip: `the assignment now names principal ${principalId}, not ${action.principalId}` };
  const expectedRole = action.finding.evidence["roleDefinitionId"];
  if (typeof expectedRole === "string" && idKey(String(properties["roleDefinitionId"] ?? "")) !== idKey(expectedRole)) {
    return { skip: "the assignment now grants another role than the finding saw" };
  }
  const protection = protectionOf(policy, action, { scope, principalIds: [principalId] });
  if (protection) return { skip: protection };
  if (action.finding.ruleId === "orphaned-role-assignment") {
    // Never delete what is alive: the principal must still be missing in a lookup that succeeded now.
    let exists: boolean;
    try {
      exists = await principalExists(clients, principalId);
    } catch (error) {
      return { skip: `principal ${principalId} could not be looked up now (${errorMessage(error)}): unknown, not deleted` };
    }
    if (exists) return { skip: `principal ${principalId} exists in the directory now` };
  }
  return {
    prior: read.body,
    change: async () => ((await deleteRoleAssignment(clients, action.targetId)) === "deleted" ? "applied" : "absent"),
    verify: async () => ((await readRoleAssignmentRaw(clients, action.targetId)) ? "the role assignment still exists" : undefined),
  };
}

interface IdentityBlock {
  type?: string;
  principalId?: string;
  tenantId?: string;
  userAssignedIdentities?: Record<string, unknown> | null;
}

function identityOf(body: ArmJson): IdentityBlock {
  const identity = body["identity"];
  return identity && typeof identity === "object" ? (identity as IdentityBlock) : {};
}

function userAssignedKeys(identity: IdentityBlock): string[] {
  return Object.keys(identity.userAssignedIdentities ?? {});
}

function hasSystemAssigned(identity: IdentityBlock): boolean {
  return /systemassigned/i.test(identity.type ?? "");
}

/** The identity type after removing one user-assigned identity, keeping system-assigned as it is. */
export function identityTypeAfter(systemAssigned: boolean, userAssignedLeft: number): string {
  if (userAssignedLeft > 0) return systemAssigned ? "SystemAssigned, UserAssigned" : "UserAssigned";
  return systemAssigned ? "SystemAssigned" : "None";
}

async function prepareDetach(action: PlannedAction, context: ActionContext): Promise<Prepared> {
  const { clients, policy } = context;
  const identityId = action.identityId ?? "";
  const apiVersion = detachApiVersionForType(resourceTypeOf(action.targetId) ?? "");
  if (!apiVersion) return { skip: `detaching from ${resourceTypeOf(action.targetId) ?? "this resource type"} is not offered (the enforcer role cannot write it)` };
  const read = await readArm(clients, action.targetId, apiVersion);
  if (!read) return { skip: "the resource is gone" };
  const before = identityOf(read.body);
  const keys = userAssignedKeys(before);
  const key = keys.find((candidate) => idKey(candidate) === idKey(identityId));
  if (!key) return { skip: "the identity is no longer attached" };
  const entry = (before.userAssignedIdentities?.[key] ?? {}) as { principalId?: string };
  const protection = protectionOf(policy, action, { principalIds: entry.principalId ? [entry.principalId] : [] });
  if (protection) return { skip: protection };
  const systemAssigned = hasSystemAssigned(before);
  const left = keys.filter((candidate) => candidate !== key);
  // Only that one entry changes, in the body this provider accepts (identityBlock.ts).
  const patch = detachIdentityBlock(resourceTypeOf(action.targetId) ?? "", systemAssigned, key, left.length);
  const prior: ArmJson = { id: read.body["id"] ?? action.targetId, type: read.body["type"] ?? "", apiVersion, identity: read.body["identity"] ?? null, ...(read.etag ? { etag: read.etag } : {}) };
  return {
    prior,
    change: async () => {
      await patchIdentity(clients, action.targetId, apiVersion, patch, read.etag);
      return "applied";
    },
    verify: async () => {
      const after = await readArm(clients, action.targetId, apiVersion);
      if (!after) return "the resource is gone";
      const now = identityOf(after.body);
      const nowKeys = new Set(userAssignedKeys(now).map(idKey));
      if (nowKeys.has(idKey(key))) return "the identity is still attached";
      const lost = left.filter((other) => !nowKeys.has(idKey(other)));
      if (lost.length > 0) return `other identities went too: ${lost.join(", ")}`;
      if (nowKeys.size !== left.length) return "identities were added meanwhile";
      if (hasSystemAssigned(now) !== systemAssigned) return "the system-assigned identity changed";
      if (systemAssigned && before.principalId && now.principalId !== before.principalId) return "the system-assigned identity has a new principal";
      return undefined;
    },
  };
}

async function prepareTag(action: PlannedAction, context: ActionContext): Promise<Prepared> {
  const { clients, policy } = context;
  const read = await readArm(clients, action.targetId, IDENTITY_API_VERSION);
  if (!read) return { skip: "the identity is gone" };
  const tags = { ...((read.body["tags"] ?? {}) as Record<string, string>) };
  if (Object.keys(tags).some((key) => key.toLowerCase() === STATUS_TAG)) return { skip: `already tagged ${STATUS_TAG}` };
  if (policy.requiredTags.every((tag) => tagValue(tags, tag) !== undefined)) return { skip: "the identity has its required tags now" };
  const principalId = String(((read.body["properties"] ?? {}) as Record<string, unknown>)["principalId"] ?? "");
  const protection = protectionOf(policy, action, { principalIds: principalId ? [principalId] : [] });
  if (protection) return { skip: protection };
  const value = action.tagValue ?? "untagged";
  return {
    prior: { id: read.body["id"] ?? action.targetId, tags },
    change: async () => {
      await updateTags(clients, action.targetId, "Merge", { [STATUS_TAG]: value });
      return "applied";
    },
    verify: async () => {
      const now = await readTags(clients, action.targetId);
      if (!now) return "the identity is gone";
      if (now[STATUS_TAG] !== value) return `${STATUS_TAG} is not set`;
      const changed = Object.keys(tags).filter((key) => now[key] !== tags[key]);
      return changed.length > 0 ? `other tags changed: ${changed.join(", ")}` : undefined;
    },
  };
}

/**
 * A pending entry against the real state: did its change happen? `done`/`failed` is written to the
 * journal; undefined when the state cannot be read now (the entry stays pending).
 */
export async function reconcileEntry(entry: JournalEntry, clients: AzureClients, journal: Journal): Promise<JournalEntry | undefined> {
  let applied: boolean;
  try {
    applied = await changeVisible(entry, clients);
  } catch {
    return undefined;
  }
  return applied
    ? journal.finish(entry, "done", "reconciled: the change is in place")
    : journal.finish(entry, "failed", "reconciled: the change was not made");
}

/** Pending entries left by a run that stopped (older than `olderThanMs`: younger ones may still be in flight). */
export async function reconcilePending(journal: Journal, clients: AzureClients, now: Date, olderThanMs: number): Promise<JournalEntry[]> {
  const results: JournalEntry[] = [];
  for (const entry of await journal.pending()) {
    if (now.getTime() - Date.parse(entry.updatedAt) < olderThanMs) continue;
    const reconciled = await reconcileEntry(entry, clients, journal);
    results.push(reconciled ?? entry);
  }
  return results;
}

async function changeVisible(entry: JournalEntry, clients: AzureClients): Promise<boolean> {
  const action = entry.action;
  const restoring = entry.kind === "restore";
  switch (action.kind) {
    case "delete-role-assignment": {
      const exists = (await readRoleAssignmentRaw(clients, action.targetId)) !== undefined;
      return restoring ? exists : !exists;
    }
    case "detach-identity": {
      const apiVersion = String(entry.prior["apiVersion"] ?? apiVersionForType(resourceTypeOf(action.targetId) ?? "") ?? "");
      const read = await readArm(clients, action.targetId, apiVersion);
      const attached = read ? userAssignedKeys(identityOf(read.body)).some((key) => idKey(key) === idKey(action.identityId ?? "")) : false;
      return restoring ? attached : !attached;
    }
    case "tag-identity": {
      const tags = await readTags(clients, action.targetId);
      const value = tags?.[STATUS_TAG];
      if (!restoring) return value === action.tagValue;
      const restoreTo = (entry.prior["restoreTo"] as { tags?: Record<string, string> } | undefined)?.tags ?? {};
      return value === restoreTo[STATUS_TAG];
    }
  }
}
