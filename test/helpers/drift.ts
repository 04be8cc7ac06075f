import { DriftComparison, type DriftResult } from "../../shared/desiredState/compare.js";
import { emptyDesiredState, type DesiredState, type SourceRead } from "../../shared/desiredState/model.js";
import type { AttachedResource, FederatedCredential, Identity, PrincipalStatus, RoleAssignment, RoleDefinition } from "../../shared/model.js";
import { roleDefinitionGuid } from "../../shared/model.js";
import { fingerprintOf, type Finding } from "../../shared/findings.js";
import { S } from "./sweep.js";

/** A readable source with these declarations (the rest empty). */
export function source(path: string, scopes: string[], declared: Partial<DesiredState> = {}): SourceRead {
  return { path, format: "terraform", scopes, ok: true, files: [path], state: { ...emptyDesiredState(), ...declared } };
}

export function unreadable(path: string, scopes: string[]): SourceRead {
  return { path, format: "terraform", scopes, ok: false, reason: "not valid JSON" };
}

export function roleDefinition(guid: string, roleName: string): RoleDefinition {
  return { id: `/providers/Microsoft.Authorization/roleDefinitions/${guid}`, name: guid, roleName, roleType: "BuiltInRole", permissions: [] };
}

export interface Actual {
  identities?: Identity[];
  attachments?: AttachedResource[];
  roleAssignments?: Array<[RoleAssignment, PrincipalStatus]>;
  federatedCredentials?: FederatedCredential[];
  credentialsUnknown?: string[];
  roleDefinitions?: RoleDefinition[];
  /** Subscriptions the sweep read (default: the helpers' S). */
  read?: string[];
}

export function compare(sources: SourceRead[], actual: Actual = {}): DriftResult {
  const definitions = new Map((actual.roleDefinitions ?? []).map((definition) => [roleDefinitionGuid(definition.id), definition]));
  const comparison = new DriftComparison(sources, actual.identities ?? [], definitions);
  for (const [assignment, principal] of actual.roleAssignments ?? []) comparison.observeRoleAssignment(assignment, principal);
  const read = new Set((actual.read ?? [S]).map((scope) => scope.toLowerCase()));
  return comparison.finish({
    attachments: actual.attachments ?? [],
    federatedCredentials: actual.federatedCredentials ?? [],
    credentialsUnknown: new Set((actual.credentialsUnknown ?? []).map((id) => id.toLowerCase())),
    read: (id) => [...read].some((scope) => id.toLowerCase().startsWith(`${scope}/`) || id.toLowerCase() === scope),
  });
}

/** (kind, subjectId, relatedId) of each entry, for table assertions. */
export function driftKeys(result: DriftResult): Array<[string, string, string | undefined]> {
  return result.entries.map((entry) => [entry.kind, entry.subjectId, entry.relatedId]);
}

/** A finding as a run reports it (severity high), for planner and lifecycle tests. */
export function findingOf(ruleId: string, subjectId: string, evidence: Record<string, unknown> = {}, relatedId?: string): Finding {
  return {
    ruleId,
    severity: "high",
    subjectId,
    ...(relatedId ? { relatedId } : {}),
    fingerprint: fingerprintOf(ruleId, subjectId, relatedId),
    title: ruleId,
    message: "",
    evidence,
    remediation: { summary: "", cli: [] },
  };
}
