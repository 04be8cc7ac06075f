import type { FindingDraft, InventoryRule } from "./types.js";
import { listAssignmentsOf, showIdentity } from "./lib/commands.js";
import { assignmentCount } from "./lib/sweepIndex.js";
import { idKey } from "../model.js";

/** A UAMI that no resource references and that has no federated credential; medium if it still holds roles. */
export const rule: InventoryRule = {
  kind: "inventory",
  meta: {
    id: "unattached-identity",
    title: "Identity attached nowhere",
    severity: "low",
    category: "hygiene",
    docs: { url: "docs/rules/unattached-identity.md" },
    needs: ["federated-credentials"],
    description: "A user-assigned identity that no resource's identity.userAssignedIdentities references and that has no federated identity credential. Medium when it still holds role assignments.",
    risk: "An unused identity with standing permissions is access nobody watches: anyone who can assign it (Managed Identity Operator) inherits its roles.",
    remediation: (finding) => ({
      summary: "Confirm nothing uses the identity, remove its role assignments, then delete it.",
      cli: [
        showIdentity(finding.subjectId),
        listAssignmentsOf(String(finding.evidence["principalId"] ?? "<principalId>")),
        `az identity delete --ids ${finding.subjectId}`,
      ],
    }),
  },
  evaluate(index): FindingDraft[] {
    const findings: FindingDraft[] = [];
    for (const identity of index.inventory.identities) {
      const key = idKey(identity.id);
      if (index.attachmentsByIdentity.has(key) || index.credentialsByIdentity.has(key)) continue;
      // Its credentials could not be listed: it may be used by a federated workload.
      if (index.inventory.federatedCredentialsUnknown?.has(key)) continue;
      const roleAssignments = assignmentCount(index, identity);
      findings.push({
        ruleId: "unattached-identity",
        severity: roleAssignments > 0 ? "medium" : "low",
        subjectId: identity.id,
        title: `Identity ${identity.name} is attached nowhere`,
        message:
          roleAssignments > 0
            ? `User-assigned identity ${identity.name} is attached to no resource and has no federated credential, yet holds ${roleAssignments} role assignment(s).`
            : `User-assigned identity ${identity.name} is attached to no resource and has no federated credential.`,
        evidence: { principalId: identity.principalId, clientId: identity.clientId, roleAssignments },
      });
    }
    return findings;
  },
};
