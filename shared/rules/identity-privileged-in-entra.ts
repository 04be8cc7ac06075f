import type { FindingDraft, InventoryRule } from "./types.js";
import { showIdentity } from "./lib/commands.js";
import type { EntraHolding } from "./lib/exposure.js";

/** The source shown first: a direct, active, tenant-wide one before the rest. */
function rankOf(source: EntraHolding["sources"][number]): number {
  return (source.viaGroup ? 1 : 0) + (source.eligible ? 2 : 0) + (source.directoryScopeId && source.directoryScopeId !== "/" ? 4 : 0);
}

/** A user-assigned identity holding an Entra directory role or a Microsoft Graph application permission that can take over the tenant or much of it. */
export const rule: InventoryRule = {
  kind: "inventory",
  meta: {
    id: "identity-privileged-in-entra",
    title: "Managed identity is privileged in Entra ID or Microsoft Graph",
    severity: "critical",
    category: "privilege",
    docs: { url: "docs/rules/identity-privileged-in-entra.md" },
    needs: ["entra-roles", "graph-app-roles", "group-members"],
    description:
      "A user-assigned identity's principal holds, directly or through a role-assignable group, actively or PIM-eligible, an Entra directory role of the tiered list (Global Administrator, Privileged Role Administrator, Application Administrator, …) or a Microsoft Graph application permission of the tiered list (RoleManagement.ReadWrite.Directory, AppRoleAssignment.ReadWrite.All, Application.ReadWrite.All, …). Severity is the role's tier; a directory role scoped to an administrative unit is high at most. One finding per (identity, role).",
    risk: "Whoever can act as the identity (assign it, federate it, run code where it is attached) gets the role: Global Administrator or RoleManagement.ReadWrite.Directory is a tenant takeover, and these grants are invisible to Azure RBAC reviews.",
    remediation: (finding) => {
      const kind = finding.evidence["kind"];
      const principal = String(finding.evidence["principalId"] ?? "<principalId>");
      const listing =
        kind === "app-role"
          ? `az rest --method get --url https://graph.microsoft.com/v1.0/servicePrincipals/${principal}/appRoleAssignments`
          : `az rest --method get --url "https://graph.microsoft.com/v1.0/roleManagement/directory/roleAssignments?\\$filter=principalId eq '${principal}'"`;
      return {
        summary:
          "Remove the directory role or Graph permission (the fix the finding names), or move the work that needs it to a dedicated identity that nothing else can assign, federate or run code as. Prefer a narrower role, an administrative-unit scope, or a resource-specific permission (Sites.Selected, …).",
        cli: [showIdentity(finding.subjectId), listing],
      };
    },
  },
  evaluate(index): FindingDraft[] {
    const collector = index.inventory.exposure;
    if (!collector) return [];
    const findings: FindingDraft[] = [];
    for (const identity of index.inventory.identities) {
      for (const holding of collector.entraHoldingsOf(identity)) {
        const sources = [...holding.sources].sort((a, b) => rankOf(a) - rankOf(b));
        const [first] = sources;
        if (!first) continue;
        const tenantWide = sources.some((source) => !source.directoryScopeId || source.directoryScopeId === "/");
        const severity = holding.tier === "critical" && tenantWide ? "critical" : "high";
        const what = holding.kind === "app-role" ? `Microsoft Graph permission ${holding.roleName}` : `Entra role ${holding.roleName}`;
        const how = [first.eligible ? "eligible" : "", first.viaGroup ? `through group ${first.viaGroupName ?? first.viaGroup}` : "", first.directoryScopeId && first.directoryScopeId !== "/" ? `in ${first.directoryScopeId}` : ""].filter(Boolean).join(", ");
        findings.push({
          ruleId: "identity-privileged-in-entra",
          severity,
          subjectId: identity.id,
          relatedId: holding.roleId,
          title: `Managed identity ${identity.name} holds ${what}`,
          message: `Managed identity ${identity.name} (principal ${identity.principalId}) holds ${what}${how ? ` (${how})` : ""}, tier ${holding.tier}.`,
          evidence: {
            kind: holding.kind,
            principalId: identity.principalId,
            roleName: holding.roleName,
            ...(holding.kind === "app-role" ? { appRoleId: holding.roleId } : { templateId: holding.roleId }),
            tier: holding.tier,
            directoryScopeId: first.directoryScopeId ?? "/",
            ...(first.viaGroup ? { viaGroup: first.viaGroup } : {}),
            ...(first.eligible ? { eligible: true } : {}),
            sources: sources.map(({ fix: _fix, ...source }) => source),
          },
          // One way of holding it: removing that one clears it (docs/output.md "Fix first").
          ...(sources.length === 1 ? { fixes: [first.fix] } : {}),
        });
      }
    }
    return findings;
  },
};
