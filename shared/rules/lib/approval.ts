import type { CorePolicy, GuardDeployer } from "../../config/policyCore.js";
import { canonicalIdProblem, type Caller, type ResourceEvent } from "../../events/resourceEvent.js";
import type { RoleAssignment } from "../../model.js";

export interface Approval {
  approved: boolean;
  /** Which pipeline (or "self") approved it, or why not. */
  reason: string;
}

function sameGuid(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  return a.replace(/-/g, "").toLowerCase() === b.replace(/-/g, "").toLowerCase();
}

function withinScope(resourceUri: string, scopes: string[] | undefined): boolean {
  // A prefix says nothing about an id that `..`, `%2e%2e` or `//` can move elsewhere (docs/guarantees.md "Canonical ids only").
  if (canonicalIdProblem(resourceUri)) return false;
  if (!scopes || scopes.length === 0) return true;
  const uri = resourceUri.toLowerCase();
  return scopes.some((scope) => {
    const prefix = scope.toLowerCase().replace(/\/+$/, "");
    return prefix === "" || uri === prefix || uri.startsWith(`${prefix}/`);
  });
}

/** A pipeline or a deployer: by object id, or by app id for an app-only token. */
function matchesPipeline(caller: Caller, pipeline: Pick<GuardDeployer, "appId" | "objectId">): boolean {
  // A user's token is never a pipeline because of the app it used (e.g. Azure CLI's app id):
  // only its own object id, listed explicitly, approves it.
  if (sameGuid(caller.objectId, pipeline.objectId)) return true;
  return !caller.delegated && sameGuid(caller.appId, pipeline.appId);
}

function isSelf(caller: Caller, policy: CorePolicy): boolean {
  return sameGuid(caller.objectId, policy.self.objectId) || (!caller.delegated && sameGuid(caller.appId, policy.self.appId));
}

/**
 * docs/rules/governance-tampering.md: the only callers that may change the guard are the app's own identity
 * and `self.deployers`. Approved pipelines are not among them, whatever their scopes.
 */
export function guardExemption(caller: Caller, policy: CorePolicy): string | undefined {
  if (isSelf(caller, policy)) return "self";
  const deployer = policy.self.deployers.find((entry) => matchesPipeline(caller, entry));
  return deployer ? `deployer ${deployer.name}` : undefined;
}
/** docs/policy.md `approvedPipelines`: an approved pipeline whose scopes contain the resource, or the app itself. */
export function approvalOf(caller: Caller, resourceUri: string, policy: CorePolicy): Approval {
  if (isSelf(caller, policy)) return { approved: true, reason: "self" };
  for (const pipeline of policy.approvedPipelines) {
    if (!matchesPipeline(caller, pipeline)) continue;
    if (withinScope(resourceUri, pipeline.scopes)) return { approved: true, reason: `pipeline ${pipeline.name}` };
    return { approved: false, reason: `pipeline ${pipeline.name} acted outside its scopes` };
  }
  return { approved: false, reason: caller.delegated ? "a user, not an approved pipeline" : "not an approved pipeline" };
}

/** Who did it, for messages and cards. */
export function callerLabel(caller: Caller): string {
  if (caller.upn) return caller.upn;
  if (caller.appId) return `app ${caller.appId}`;
  if (caller.objectId) return `object ${caller.objectId}`;
  return "an unknown caller";
}

/** The evidence every grant-event finding carries: who granted what to whom, where, and which event said so. */
export function grantEvidence(event: ResourceEvent, approval: Approval, assignment: RoleAssignment, roleName: string): Record<string, unknown> {
  return {
    caller: event.caller,
    approval: approval.reason,
    principalId: assignment.principalId,
    principalType: assignment.principalType,
    roleDefinitionId: assignment.roleDefinitionId,
    roleName,
    scope: assignment.scope,
    eventId: event.id,
    eventTime: event.eventTime,
    correlationId: event.correlationId ?? null,
  };
}
