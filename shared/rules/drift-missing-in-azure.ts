import type { FindingDraft, InventoryRule } from "./types.js";
import { DRIFT_OPTIONS, driftDrafts } from "./lib/drift.js";
import { sh } from "./lib/commands.js";

/** A desired-state source declares an identity, attachment, managed-identity grant or federated credential that Azure does not have. */
export const rule: InventoryRule<typeof DRIFT_OPTIONS> = {
  kind: "inventory",
  meta: {
    id: "drift-missing-in-azure",
    title: "Declared in code but missing in Azure",
    severity: "medium",
    category: "pipeline",
    docs: { url: "docs/rules/drift-missing-in-azure.md" },
    // An unreadable source, a failed directory lookup or credential listing leaves these findings open and unconfirmed.
    needs: ["desired-state", "directory-lookup", "federated-credentials"],
    options: DRIFT_OPTIONS,
    description:
      "Only with desiredState.sources: a source declares a user-assigned identity, an attachment, a role assignment of a managed identity principal or a federated credential, inside its scopes, and Azure does not have it.",
    risk: "Something was deleted outside the pipeline (an identity, a grant a workload needs, a credential a deployment uses): the workload fails at its next token request, and the next apply silently re-creates it with a new principal.",
    remediation: (finding) => ({
      summary: "Find out who removed it (Activity Log), then re-apply the code, or remove it from the code if it is no longer wanted.",
      cli: [`az monitor activity-log list --resource-id ${sh(finding.subjectId)} --offset 30d --query "[?contains(operationName.value, 'delete') || contains(operationName.value, 'write')]"`],
    }),
  },
  evaluate(index): FindingDraft[] {
    return driftDrafts(index, "missing-in-azure", "drift-missing-in-azure", "medium");
  },
};
