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
import { errorMessage } from "../errors.js";
import { apiVersionForType, detachApiVersionForType } from "../events/operations.js";
import { idKey, isLookupType, resourceTypeOf } from "../model.js";
import { tagValue } from "../rules/lib/tags.js";
import { protectionOf } from "./plan.js";
import { STATUS_TAG, type JournalEntry, type PlannedAction } from "./types.js";

/**
 * What each kind of action reads, changes and checks in ARM. The order around these (lease,
 * journal, change, verify, reconcile) is shared/cleanup/pipeline.ts's; this file only knows ARM.
 */

export const IDENTITY_API_VERSION = "2023-01-31";

/** What was read before the change: the prior state to journal, or why nothing is to be done. */
export type Prepared =
  | { skip: string }
  | { prior: ArmJson; change: () => Promise<"applied" | "absent">; verify: () => Promise<string | undefined> };

/** Reads the target now and says what the change would be, or why nothing is to be done. */
export async function prepareChange(action: PlannedAction, context: { clients: AzureClients; policy: Policy }): Promise<Prepared> {
  switch (action.kind) {
    case "delete-role-assignment":
      return prepareDelete(action, context);
    case "detach-identity":
      return prepareDetach(action, context);
    case "tag-identity":
      return prepareTag(action, context);
  }
}

async function prepareDelete(action: PlannedAction, context: { clients: AzureClients; policy: Policy }): Promise<Prepared> {
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
    const principalType = String(properties["principalType"] ?? "");
    if (!isLookupType(principalType)) return { skip: `principal type ${principalType || "(none)"} cannot be looked up: never an orphan` };
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
  return identity && typeof identity === "object" ? identity : {};
}

function userAssignedKeys(identity: IdentityBlock): string[] {
  return Object.keys(identity.userAssignedIdentities ?? {});
}

function hasSystemAssigned(identity: IdentityBlock): boolean {
  return /systemassigned/i.test(identity.type ?? "");
}

/**
 * A resource whose last write has not settled: still "Updating" (an asynchronous write not waited
 * for) or "Failed" (the provider rolled it back). Its identity block is not the outcome yet.
 */
export function unsettledState(body: ArmJson): string | undefined {
  const state = ((body["properties"] ?? {}) as { provisioningState?: unknown }).provisioningState;
  if (typeof state !== "string" || /^(succeeded|)$/i.test(state)) return undefined;
  if (/^(updating|creating|accepted|running|inprogress)$/i.test(state)) return `the resource is still ${state}`;
  return /^(failed|canceled|cancelled)$/i.test(state) ? `the resource's last write ended ${state}` : undefined;
}

/** The identity type after removing one user-assigned identity, keeping system-assigned as it is. */
export function identityTypeAfter(systemAssigned: boolean, userAssignedLeft: number): string {
  if (userAssignedLeft > 0) return systemAssigned ? "SystemAssigned, UserAssigned" : "UserAssigned";
  return systemAssigned ? "SystemAssigned" : "None";
}

async function prepareDetach(action: PlannedAction, context: { clients: AzureClients; policy: Policy }): Promise<Prepared> {
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
      const unsettled = unsettledState(after.body);
      if (unsettled) return unsettled;
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

async function prepareTag(action: PlannedAction, context: { clients: AzureClients; policy: Policy }): Promise<Prepared> {
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

/** Is the entry's change (or, for a restore entry, its undo) in place now? Throws when it cannot be read. */
export async function changeVisible(entry: JournalEntry, clients: AzureClients): Promise<boolean> {
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
