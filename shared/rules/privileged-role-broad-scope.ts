import type { AssignmentRule, FindingDraft } from "./types.js";
import { deleteRoleAssignment, listAssignmentsOf } from "./lib/commands.js";
import { assignmentSeverity, roleLabel } from "./lib/roles.js";
import { scopeLevel } from "../model.js";

/** A managed identity holding Owner/UAA/RBAC Administrator/Contributor (or an equivalent custom role) broadly. */
export const rule: AssignmentRule = {
  kind: "role-assignment",
  meta: {
    id: "privileged-role-broad-scope",
    title: "Managed identity with a privileged role at broad scope",
    severity: "critical",
    category: "privilege",
    docs: { url: "docs/rules/privileged-role-broad-scope.md" },
    needs: ["directory-lookup", "role-definitions"],
    description:
      "A managed identity principal holds Owner, User Access Administrator, RBAC Administrator or a custom role that can write role assignments (critical), or Contributor (high), at management-group or subscription scope; any of these at resource-group scope is medium. Resource-level scope is not reported.",
    risk: "Anyone who can run code as this identity (a compromised VM, app or pipeline) controls the whole scope, and with the access-administration roles can grant themselves more.",
    remediation: (finding) => ({
      summary:
        "Replace the broad grant with a narrowly scoped, least-privilege role assigned directly to the identity (managed identity tokens cache group membership for up to 24 h, so prefer direct assignments).",
      cli: [
        listAssignmentsOf(String(finding.evidence["principalId"] ?? "<principalId>")),
        `az role assignment create --assignee-object-id ${String(finding.evidence["principalId"] ?? "<principalId>")} --assignee-principal-type ServicePrincipal --role <least-privilege role> --scope <resource id>`,
        deleteRoleAssignment(finding.subjectId),
      ],
    }),
  },
  evaluate(assignment, principal, index): FindingDraft | undefined {
    const severity = assignmentSeverity(assignment, index.roleDefinitionByGuid);
    if (!severity) return undefined;
    const identity = index.identityByPrincipal.get(assignment.principalId.toLowerCase());
    const managed =
      identity !== undefined ||
      (principal.state === "found" && principal.object.servicePrincipalType?.toLowerCase() === "managedidentity");
    if (!managed) return undefined;
    const role = roleLabel(assignment, index.roleDefinitionByGuid);
    const who = identity?.name ?? (principal.state === "found" ? principal.object.displayName : undefined) ?? assignment.principalId;
    return {
      ruleId: "privileged-role-broad-scope",
      severity,
      subjectId: assignment.id,
      title: `Managed identity ${who} holds ${role} at ${scopeLevel(assignment.scope)} scope`,
      message: `Managed identity ${who} (principal ${assignment.principalId}) holds ${role} at ${assignment.scope}.`,
      evidence: {
        principalId: assignment.principalId,
        identityId: identity?.id ?? null,
        roleDefinitionId: assignment.roleDefinitionId,
        roleName: role,
        scope: assignment.scope,
        scopeLevel: scopeLevel(assignment.scope),
      },
    };
  },
};
