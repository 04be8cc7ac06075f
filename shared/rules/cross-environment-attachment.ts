import type { FindingDraft, InventoryRule } from "./types.js";
import { detachIdentity } from "./lib/commands.js";
import { tagValue } from "./lib/tags.js";
import { idKey } from "../model.js";

/** A UAMI attached to a resource of another environment (both tagged, compared case-insensitively). */
export const rule: InventoryRule = {
  kind: "inventory",
  meta: {
    id: "cross-environment-attachment",
    title: "Identity used across environments",
    severity: "high",
    category: "attachment",
    docs: { url: "docs/rules/cross-environment-attachment.md" },
    needs: [],
    description: "A user-assigned identity whose environment tag differs (case-insensitively) from the environment tag of a resource it is attached to; both must be tagged. One finding per (identity, resource).",
    risk: "A dev or test workload holding a prod identity can read and change production data with production permissions.",
    remediation: (finding) => ({
      summary: "Give each environment its own identity: create one for the resource's environment, grant it what that workload needs, and detach this one.",
      cli: [
        `az identity create --resource-group <rg> --name <id-app-${String(finding.evidence["resourceEnvironment"] ?? "env")}-location-01>`,
        detachIdentity(finding.relatedId ?? "<resource id>", String(finding.evidence["resourceType"] ?? ""), finding.subjectId),
      ],
    }),
  },
  evaluate(index): FindingDraft[] {
    const findings: FindingDraft[] = [];
    for (const identity of index.inventory.identities) {
      const identityEnvironment = tagValue(identity.tags, "environment");
      if (!identityEnvironment) continue;
      for (const resource of index.attachmentsByIdentity.get(idKey(identity.id)) ?? []) {
        const resourceEnvironment = tagValue(resource.tags, "environment");
        if (!resourceEnvironment || resourceEnvironment.toLowerCase() === identityEnvironment.toLowerCase()) continue;
        findings.push({
          ruleId: "cross-environment-attachment",
          severity: "high",
          subjectId: identity.id,
          relatedId: resource.id,
          title: `${identityEnvironment} identity ${identity.name} attached to ${resourceEnvironment} resource ${resource.name}`,
          message: `Identity ${identity.name} (environment ${identityEnvironment}) is attached to ${resource.type} ${resource.name} (environment ${resourceEnvironment}).`,
          evidence: { identityEnvironment, resourceEnvironment, resourceType: resource.type },
        });
      }
    }
    return findings;
  },
};
