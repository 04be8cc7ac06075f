import type { FindingDraft, InventoryRule } from "./types.js";
import { DRIFT_OPTIONS, driftDrafts, removeCommand } from "./lib/drift.js";

/** Inside a desired-state source's scopes: a UAMI, a managed-identity grant, a federated credential or an attachment that no source declares. */
export const rule: InventoryRule<typeof DRIFT_OPTIONS> = {
  kind: "inventory",
  meta: {
    id: "drift-not-in-code",
    title: "Exists in Azure but not in code",
    severity: "high",
    category: "pipeline",
    docs: { url: "docs/rules/drift-not-in-code.md" },
    // An unreadable source, a failed directory lookup or credential listing leaves these findings open and unconfirmed.
    needs: ["desired-state", "directory-lookup", "federated-credentials"],
    options: DRIFT_OPTIONS,
    description:
      "Only with desiredState.sources: inside a source's scopes, a user-assigned identity, a role assignment of a managed identity principal, a federated credential, or an identity attached to a resource exists in Azure and in no desired-state source (Terraform JSON or what-if JSON).",
    risk: "What was made by hand (an incident fix, a portal grant, a credential added for a test) is reviewed by nobody, survives every apply, and is what an attacker who got in once leaves behind.",
    remediation: (finding) => ({
      summary: "Either declare it in the code (terraform import, or add it to the Bicep) so it is reviewed like the rest, or remove it.",
      cli: [removeCommand(finding.subjectId, finding.relatedId, finding.evidence["thing"], (finding.evidence["actual"] as Record<string, unknown> | undefined)?.["resourceType"])],
    }),
  },
  evaluate(index): FindingDraft[] {
    return driftDrafts(index, "not-in-code", "drift-not-in-code", "high");
  },
};
