import type { FindingDraft, InventoryRule } from "./types.js";
import { sh, showIdentity } from "./lib/commands.js";
import type { GradeReason } from "./lib/exposure.js";
import { principalLabel } from "../model.js";

/** A user-assigned identity that gets a graded Azure role or an Entra directory role through a group. */
export const rule: InventoryRule = {
  kind: "inventory",
  meta: {
    id: "identity-privilege-via-group",
    title: "Managed identity gets privilege through a group",
    severity: "medium",
    category: "privilege",
    docs: { url: "docs/rules/identity-privilege-via-group.md" },
    needs: ["group-members", "role-eligibility", "role-definitions", "entra-roles"],
    description:
      "A user-assigned identity is a transitive member of a group that holds a critical or high Azure role assignment (active or PIM-eligible) or an Entra directory role. One finding per (identity, group).",
    risk: "A managed identity's group memberships are in its token, which is cached for up to 24 hours (Learn, managed identity best practices, \"Limitation of using managed identities for authorization\"): removing it from the group takes hours to stop it, and the privilege is invisible where its own role assignments are reviewed.",
    remediation: (finding) => ({
      summary: "Assign the role the identity needs to the identity itself, at the narrowest scope, and remove it from the group.",
      cli: [showIdentity(finding.subjectId), `az ad group member remove --group ${sh(finding.relatedId ?? "<group id>")} --member-id ${sh(String(finding.evidence["principalId"] ?? "<principal id>"))}`],
    }),
  },
  evaluate(index): FindingDraft[] {
    const collector = index.inventory.exposure;
    if (!collector) return [];
    const findings: FindingDraft[] = [];
    for (const identity of index.inventory.identities) {
      const graded = collector.gradeOf(identity);
      const byGroup = new Map<string, GradeReason[]>();
      for (const reason of graded?.allReasons ?? []) {
        if (!reason.viaGroup) continue;
        const list = byGroup.get(reason.viaGroup.toLowerCase());
        if (list) list.push(reason);
        else byGroup.set(reason.viaGroup.toLowerCase(), [reason]);
      }
      for (const reasons of byGroup.values()) {
        const groupId = reasons[0]?.viaGroup ?? "";
        const displayName = collector.displayNameOf(groupId);
        const group = principalLabel({ id: groupId, displayName, type: "Group" });
        const roles = [...new Set(reasons.map((reason) => reason.roleName))].join(", ");
        const fix = collector.gradeFixVia(identity, groupId);
        findings.push({
          ruleId: "identity-privilege-via-group",
          severity: "medium",
          subjectId: identity.id,
          relatedId: groupId,
          title: `Managed identity ${identity.name} gets ${roles} through group ${group}`,
          message: `Managed identity ${identity.name} is a member of ${group}, which holds ${roles}: group membership is in the identity's token for up to 24 hours after it is removed.`,
          evidence: {
            principalId: identity.principalId,
            groupId,
            ...(displayName ? { groupDisplayName: displayName } : {}),
            roles: reasons,
          },
          ...(fix ? { fixes: [fix] } : {}),
        });
      }
    }
    return findings;
  },
};
