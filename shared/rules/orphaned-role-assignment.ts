import { z } from "zod";
import type { AssignmentRule, FindingDraft } from "./types.js";
import { deleteRoleAssignment } from "./lib/commands.js";
import { roleLabel } from "./lib/roles.js";
import { isLookupType } from "../model.js";

/** `orphans`: the age below which an assignment is not judged, and the sweeps in a row before cleanup deletes it. */
const OPTIONS = {
  orphans: z
    .strictObject({
      minAgeMinutes: z.number().int().min(0).default(60),
      confirmations: z.number().int().min(1).max(100).default(2),
    })
    .default({ minAgeMinutes: 60, confirmations: 2 }),
};

/**
 * A role assignment whose principal Microsoft Graph, in a lookup that succeeded, did not return —
 * PowerShell's ObjectType "Unknown". A failed lookup is "unknown", never "missing": that is the
 * difference between this rule and tools that delete live assignments when Graph throttles.
 */
export const rule: AssignmentRule<typeof OPTIONS> = {
  kind: "role-assignment",
  meta: {
    id: "orphaned-role-assignment",
    title: "Role assignment whose principal no longer exists",
    severity: "high",
    category: "orphans",
    docs: { url: "docs/rules/orphaned-role-assignment.md" },
    needs: ["directory-lookup"],
    action: "delete-role-assignment",
    options: OPTIONS,
    description:
      "The role assignment's principal was looked up in Microsoft Graph in a successful batch and does not exist (ObjectType Unknown, 'Identity not found'). ForeignGroup principals, principals of a type the directory lookup cannot ask for, and assignments younger than orphans.minAgeMinutes are skipped.",
    risk: "Orphaned assignments clutter access reviews, count against the 4,000-assignments-per-subscription limit and hide which grants are real.",
    remediation: (finding) => ({
      summary: "Confirm the principal is gone (it may have been deleted with its identity), then delete the assignment.",
      cli: [`az ad sp show --id ${String(finding.evidence["principalId"] ?? "<principalId>")}`, deleteRoleAssignment(finding.subjectId)],
    }),
  },
  evaluate(assignment, principal, index, policy): FindingDraft | undefined {
    if (principal.state !== "missing") return undefined;
    // ForeignGroup, or a type the lookup does not ask for: "missing" would only mean "not asked".
    if (!isLookupType(assignment.principalType)) return undefined;
    if (assignment.createdOn) {
      const created = Date.parse(assignment.createdOn);
      const ageMinutes = (index.inventory.now.getTime() - created) / 60_000;
      if (!Number.isNaN(created) && ageMinutes < policy.orphans.minAgeMinutes) return undefined;
    }
    return {
      ruleId: "orphaned-role-assignment",
      severity: "high",
      subjectId: assignment.id,
      title: "Role assignment for a deleted principal",
      message: `Role assignment ${assignment.id} grants ${roleLabel(assignment, index.roleDefinitionByGuid)} at ${assignment.scope} to principal ${assignment.principalId}, which no longer exists in the directory.`,
      evidence: {
        principalId: assignment.principalId,
        principalType: assignment.principalType,
        roleDefinitionId: assignment.roleDefinitionId,
        roleName: roleLabel(assignment, index.roleDefinitionByGuid),
        scope: assignment.scope,
        createdOn: assignment.createdOn ?? null,
      },
    };
  },
};
