import type { EventRule, FindingDraft } from "./types.js";
import type { GradedIdentity, RoleAssignment, RoleDefinition } from "../model.js";
import { roleDefinitionGuid, scopeLevel } from "../model.js";
import { deleteRoleAssignment } from "./lib/commands.js";
import { callerLabel, grantEvidence } from "./lib/approval.js";
import { rightsOfPermissions, rightsGiven } from "./lib/exposure.js";
import { atLeast, privilegedSeverity, privilegeOf, roleLabel, rolePermissions } from "./lib/roles.js";
import { identityScopeTree, type ScopeTree } from "./lib/scopes.js";
import type { CorePolicy } from "../config/policyCore.js";

const sameGuid = (a: string | undefined, b: string | undefined): boolean =>
  a !== undefined && b !== undefined && a.replace(/-/g, "").toLowerCase() === b.replace(/-/g, "").toLowerCase();


/** docs/rules/privileged-identity-exposed.md "What it reports" exclusions (not holders) for the assignee of a new grant over one graded identity. */
function excluded(
  assignment: RoleAssignment,
  identity: GradedIdentity,
  tree: ScopeTree,
  facts: { appId?: string; missing: boolean; others?: RoleAssignment[]; definitions: Map<string, RoleDefinition> },
  policy: CorePolicy,
): boolean {
  const assignee = assignment.principalId;
  if (sameGuid(assignee, identity.principalId) || sameGuid(assignee, policy.self.objectId) || facts.missing) return true;
  if (policy.protected.principals.some((principal) => sameGuid(principal, assignee))) return true;
  const approved = policy.approvedPipelines.some(
    (pipeline) =>
      (sameGuid(pipeline.objectId, assignee) || sameGuid(pipeline.appId, facts.appId)) &&
      (!pipeline.scopes || pipeline.scopes.length === 0 || pipeline.scopes.some((scope) => tree.contains(scope, identity.identityId))),
  );
  if (approved) return true;
  return (facts.others ?? []).some((held) => {
    if (held.id.toLowerCase() === assignment.id.toLowerCase()) return false;
    const grade = privilegedSeverity(privilegeOf(held, facts.definitions), scopeLevel(held.scope));
    return grade !== undefined && atLeast(grade, identity.grade) && identity.gradeScopes.every((scope) => tree.contains(held.scope, scope));
  });
}

/** A non-approved grant that lets someone assign or federate a critical/high identity (the event side of privileged-identity-exposed). */
export const rule: EventRule = {
  kind: "event",
  changes: ["role-assignment-write"],
  meta: {
    id: "identity-assign-right-granted",
    title: "Right to act as a privileged identity granted outside a pipeline",
    severity: "critical",
    category: "privilege",
    docs: { url: "docs/rules/identity-assign-right-granted.md" },
    needs: ["role-definitions"],
    description:
      "A Microsoft.Authorization/roleAssignments/write by a caller that is not an approved pipeline, where the assignment read back from ARM gives its principal userAssignedIdentities/assign/action or federatedIdentityCredentials/write at the scope of a user-assigned identity of grade critical or high (as of the last sweep) or above, unless the assignee is excluded as for privileged-identity-exposed. Critical when the identity's grade is critical, else high.",
    risk: "Whoever can assign the identity to a resource they control, or add a federated credential to it, gets all its permissions: a grant like this opens the way to a subscription-wide identity's token.",
    remediation: (finding) => ({
      summary: "Confirm with the caller; if it was not approved, delete the assignment. Grant Managed Identity Operator only on the identities a deployment needs, through the pipeline.",
      cli: [`az role assignment show --ids ${finding.subjectId}`, deleteRoleAssignment(finding.subjectId)],
    }),
  },
  evaluate(facts, policy): FindingDraft[] {
    const assignment = facts.roleAssignment;
    if (facts.approval.approved || !assignment || !facts.gradedIdentities) return [];
    const definitions = facts.roleDefinitions ?? new Map<string, RoleDefinition>();
    const rights = rightsGiven(rightsOfPermissions(rolePermissions(roleDefinitionGuid(assignment.roleDefinitionId), definitions)));
    if (rights.length === 0) return [];
    const principal = facts.principal ?? { state: "unknown" as const };
    const appId = principal.state === "found" ? principal.object.appId : undefined;
    const role = roleLabel(assignment, definitions);
    const who = callerLabel(facts.event.caller);
    const findings: FindingDraft[] = [];
    for (const identity of facts.gradedIdentities) {
      const tree = identityScopeTree(identity.identityId, identity.managementGroups);
      if (!tree.contains(assignment.scope, identity.identityId)) continue;
      const exclusion = { missing: principal.state === "missing", definitions, ...(appId ? { appId } : {}), ...(facts.assigneeAssignments ? { others: facts.assigneeAssignments } : {}) };
      if (excluded(assignment, identity, tree, exclusion, policy)) continue;
      const name = identity.identityId.slice(identity.identityId.lastIndexOf("/") + 1);
      findings.push({
        ruleId: "identity-assign-right-granted",
        severity: identity.grade === "critical" ? "critical" : "high",
        subjectId: assignment.id,
        relatedId: identity.identityId,
        title: `${who} let ${assignment.principalId} ${rights.join(" and ")} ${identity.grade} identity ${name}`,
        message: `${who} granted ${role} at ${assignment.scope} to ${assignment.principalType || "principal"} ${assignment.principalId}, who can now ${rights.join(" and ")} ${name} (grade ${identity.grade}) and act as it (${facts.approval.reason}).`,
        evidence: { ...grantEvidence(facts.event, facts.approval, assignment, role), rights, identityId: identity.identityId, grade: identity.grade },
      });
    }
    return findings;
  },
};
