import type { FindingDraft, InventoryRule } from "./types.js";
import { detachIdentity } from "./lib/commands.js";
import { inScope } from "./lib/sweepIndex.js";
import { idKey } from "../model.js";

/**
 * A resource whose identity block names a UAMI that does not exist. Only identities in a
 * subscription the sweep covered can be called missing; others are outside what we read.
 */
export const rule: InventoryRule = {
  kind: "inventory",
  meta: {
    id: "dangling-identity-reference",
    title: "Resource references a deleted identity",
    severity: "medium",
    category: "attachment",
    docs: { url: "docs/rules/dangling-identity-reference.md" },
    needs: [],
    description: "A resource's identity.userAssignedIdentities names a user-assigned identity that does not exist. One finding per (resource, missing identity).",
    risk: "Token requests for the missing identity fail at run time, and re-creating an identity with the same name silently gives the resource a new principal without its old grants.",
    remediation: (finding) => ({
      summary: "Remove the reference to the deleted identity (or re-create it deliberately and grant its roles again).",
      cli: [detachIdentity(finding.subjectId, String(finding.evidence["resourceType"] ?? ""), finding.relatedId ?? "<identity id>")],
    }),
  },
  evaluate(index): FindingDraft[] {
    const findings: FindingDraft[] = [];
    for (const resource of index.inventory.attachments) {
      for (const identityId of resource.userAssignedIdentityIds) {
        if (index.identityById.has(idKey(identityId)) || !inScope(index, identityId)) continue;
        findings.push({
          ruleId: "dangling-identity-reference",
          severity: "medium",
          subjectId: resource.id,
          relatedId: identityId,
          title: `${resource.name} references a missing identity`,
          message: `${resource.type} ${resource.name} lists user-assigned identity ${identityId}, which does not exist.`,
          evidence: { resourceType: resource.type, missingIdentityId: identityId },
        });
      }
    }
    return findings;
  },
};
