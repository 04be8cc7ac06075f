import type { RoleAssignment, RoleDefinition } from "../model.js";
import { idKey } from "../model.js";
import { assignmentDifferences, credentialDifferences, namesAssignment, RoleNames } from "./compare.js";
import type { SourceRead } from "./model.js";
import { withinAny } from "./scopes.js";

/**
 * What the desired state says about one change an event made (read back from ARM) or one change the cleanup
 * would make (pure). A source speaks only inside its scopes; a source that could not be read says "unknown".
 */

/** The thing as ARM has it now. */
export type ReadBack =
  | { kind: "role-assignment"; assignment: RoleAssignment; roleDefinitions: ReadonlyMap<string, RoleDefinition> }
  | { kind: "attachment"; resourceId: string; identityIds: readonly string[] }
  | { kind: "federated-credential"; id: string; issuer: string; subject: string; audiences?: readonly string[] }
  | { kind: "identity"; id: string };

type Readable = Extract<SourceRead, { ok: true }>;

function readableOver(sources: readonly SourceRead[], id: string): Readable[] {
  return sources.filter((source): source is Readable => source.ok && withinAny(id, source.scopes));
}

/**
 * `desiredState.approves`: the source whose declaration the read-back matches in everything compared (a role
 * assignment's role, scope, condition; every identity attached to the resource; a credential's issuer, subject,
 * audiences; an identity's id), or undefined.
 */
export function matchingSource(sources: readonly SourceRead[], readBack: ReadBack): string | undefined {
  switch (readBack.kind) {
    case "role-assignment": {
      const roles = new RoleNames(readBack.roleDefinitions);
      const { assignment } = readBack;
      return readableOver(sources, assignment.id).find((source) =>
        source.state.roleAssignments.some((declared) => namesAssignment(declared, assignment, roles) && assignmentDifferences(declared, assignment, roles).length === 0),
      )?.path;
    }
    case "attachment": {
      const resource = idKey(readBack.resourceId);
      return readableOver(sources, readBack.resourceId).find((source) => {
        const declared = new Set(source.state.attachments.filter((item) => idKey(item.resourceId) === resource).flatMap((item) => item.identityIds.map(idKey)));
        return declared.size > 0 && readBack.identityIds.every((identityId) => declared.has(idKey(identityId)));
      })?.path;
    }
    case "federated-credential": {
      const id = idKey(readBack.id);
      return readableOver(sources, readBack.id).find((source) =>
        source.state.federatedCredentials.some((declared) => declared.id !== undefined && idKey(declared.id) === id && credentialDifferences(declared, readBack).length === 0),
      )?.path;
    }
    case "identity": {
      const id = idKey(readBack.id);
      return readableOver(sources, readBack.id).find((source) => source.state.identities.some((declared) => declared.id !== undefined && idKey(declared.id) === id))?.path;
    }
  }
}

/**
 * Why the cleanup must leave a target alone: a source declares it (a role assignment by id, or by scope and
 * principal; an identity on a resource), or a source whose scopes hold it could not be read, so what it
 * declares is unknown. Undefined: the code says nothing against the change.
 */
export function declaredTarget(sources: readonly SourceRead[], target: { kind: "role-assignment"; id: string; scope?: string; principalId?: string } | { kind: "attachment"; resourceId: string; identityId: string }): string | undefined {
  const id = target.kind === "role-assignment" ? target.id : target.resourceId;
  const unreadable = sources.find((source) => !source.ok && withinAny(id, source.scopes));
  if (unreadable) return `desired-state source ${unreadable.path} could not be read: what it declares there is unknown`;
  for (const source of readableOver(sources, id)) {
    const declared =
      target.kind === "role-assignment"
        ? source.state.roleAssignments.some(
            (item) =>
              (item.id !== undefined && idKey(item.id) === idKey(target.id)) ||
              (item.id === undefined && item.scope !== undefined && target.scope !== undefined && idKey(item.scope).replace(/\/+$/, "") === idKey(target.scope).replace(/\/+$/, "") && item.principalId?.toLowerCase() === target.principalId?.toLowerCase()),
          )
        : source.state.attachments.some((item) => idKey(item.resourceId) === idKey(target.resourceId) && (!item.complete || item.identityIds.some((identityId) => idKey(identityId) === idKey(target.identityId))));
    if (declared) return `declared in desired-state source ${source.path}`;
  }
  return undefined;
}

/** The cleanup planner's check, for the action kinds that remove something (a role assignment, an attachment). */
export function cleanupGuard(sources: readonly SourceRead[]): (action: { kind: string; targetId: string; identityId?: string; principalId?: string }, scope?: string) => string | undefined {
  return (action, scope) => {
    if (action.kind === "delete-role-assignment") return declaredTarget(sources, { kind: "role-assignment", id: action.targetId, ...(scope ? { scope } : {}), ...(action.principalId ? { principalId: action.principalId } : {}) });
    if (action.kind === "detach-identity") return declaredTarget(sources, { kind: "attachment", resourceId: action.targetId, identityId: action.identityId ?? "" });
    return undefined;
  };
}
