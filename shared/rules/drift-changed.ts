import type { FindingDraft, InventoryRule } from "./types.js";
import { DRIFT_OPTIONS, driftDrafts } from "./lib/drift.js";
import { deleteRoleAssignment, showFederatedCredential } from "./lib/commands.js";

/** Declared and present, but different in what matters: a grant's role, scope or condition; a credential's issuer, subject or audiences. */
export const rule: InventoryRule<typeof DRIFT_OPTIONS> = {
  kind: "inventory",
  meta: {
    id: "drift-changed",
    title: "Differs from its declaration in code",
    severity: "high",
    category: "pipeline",
    docs: { url: "docs/rules/drift-changed.md" },
    // An unreadable source, a failed directory lookup or credential listing leaves these findings open and unconfirmed.
    needs: ["desired-state", "federated-credentials"],
    options: DRIFT_OPTIONS,
    description:
      "Only with desiredState.sources: a role assignment of a managed identity principal whose role, scope or condition, or a federated credential whose issuer, subject or audiences, differ from what a desired-state source declares. An identity's attachments are compared one by one (drift-not-in-code, drift-missing-in-azure).",
    risk: "A grant widened or a credential re-pointed outside the pipeline keeps the name the code knows, so a review of the code shows nothing while the identity does more, or trusts someone else.",
    remediation: (finding) => ({
      summary: "Re-apply the code to put back what it declares, or change the code if the difference was deliberate.",
      cli: [finding.evidence["thing"] === "federated-credential" ? showFederatedCredential(finding.subjectId) : deleteRoleAssignment(finding.subjectId)],
    }),
  },
  evaluate(index): FindingDraft[] {
    return driftDrafts(index, "changed", "drift-changed", "high");
  },
};
