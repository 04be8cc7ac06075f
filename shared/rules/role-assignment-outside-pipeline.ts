import { z } from "zod";
import type { EventRule, FindingDraft } from "./types.js";
import { deleteRoleAssignment } from "./lib/commands.js";
import { callerLabel, grantEvidence } from "./lib/approval.js";
import { roleLabel } from "./lib/roles.js";
import { assignmentSeverity } from "./lib/roleFacts.js";
import { principalLabel, principalTypeOf, type RoleDefinition } from "../model.js";

/** `watchAllPrincipals`: report grants to any principal, not only managed identities. */
const OPTIONS = { watchAllPrincipals: z.boolean().default(false) };

/** A role granted to a managed identity by someone who is not an approved pipeline (read back from ARM). */
export const rule: EventRule<typeof OPTIONS> = {
  kind: "event",
  changes: ["role-assignment-write"],
  meta: {
    id: "role-assignment-outside-pipeline",
    title: "Role granted to a managed identity outside a pipeline",
    severity: "high",
    category: "pipeline",
    docs: { url: "docs/rules/role-assignment-outside-pipeline.md" },
    needs: ["directory-lookup"],
    action: "delete-role-assignment",
    options: OPTIONS,
    description:
      "A Microsoft.Authorization/roleAssignments/write by a caller that is not an approved pipeline, where the assignment read back from ARM grants a role to a managed identity principal (any principal with watchAllPrincipals). Critical when the role and scope would be critical under privileged-role-broad-scope.",
    risk: "Manual grants to workload identities bypass review and are how standing privilege creeps in; a grant to a broadly used identity reaches every workload that uses it.",
    remediation: (finding) => ({
      summary: "Confirm with the caller; if it was not approved, delete the assignment and re-grant it through the pipeline.",
      cli: [`az role assignment show --ids ${finding.subjectId}`, deleteRoleAssignment(finding.subjectId)],
    }),
  },
  evaluate(facts, policy): FindingDraft[] {
    const assignment = facts.roleAssignment;
    if (facts.approval.approved || !assignment) return [];
    const principal = facts.principal ?? { state: "unknown" as const };
    const managed = principal.state === "found" && principal.object.servicePrincipalType?.toLowerCase() === "managedidentity";
    if (!managed && !policy.watchAllPrincipals) return [];
    const definitions = facts.roleDefinitions ?? new Map<string, RoleDefinition>();
    const graded = assignmentSeverity(assignment, definitions);
    const role = roleLabel(assignment, definitions);
    const who = callerLabel(facts.event.caller);
    const assignee = principalLabel({
      id: assignment.principalId,
      displayName: principal.state === "found" ? principal.object.displayName : undefined,
      type: assignment.principalType || (principal.state === "found" ? principalTypeOf(principal.object.odataType) : ""),
    });
    return [
      {
        ruleId: "role-assignment-outside-pipeline",
        severity: graded === "critical" ? "critical" : "high",
        subjectId: assignment.id,
        relatedId: assignment.principalId,
        title: `${who} granted ${role} to ${assignee} outside a pipeline`,
        message: `${who} created role assignment ${assignment.id}: ${role} at ${assignment.scope} for ${managed ? "managed identity " : ""}${assignee} (${facts.approval.reason}).`,
        evidence: grantEvidence(facts.event, facts.approval, assignment, role, principal.state === "found" ? principal.object.displayName : undefined),
      },
    ];
  },
};
