import type { FindingDraft, InventoryRule } from "./types.js";

const VALID_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const MAX_LENGTH = 24;

/** Names over 24 characters break VM/VMSS assignment; other characters break tooling. */
export const rule: InventoryRule = {
  kind: "inventory",
  meta: {
    id: "identity-name-invalid",
    title: "Identity name that breaks assignment",
    severity: "medium",
    category: "hygiene",
    docs: { url: "docs/rules/identity-name-invalid.md" },
    needs: [],
    description: `Name longer than ${MAX_LENGTH} characters (assigning it to a VM or scale set fails) or not matching ^[A-Za-z0-9][A-Za-z0-9_-]*$.`,
    risk: "Deployments that attach this identity to a VM or VMSS fail, which tends to be found during an incident.",
    remediation: (finding) => ({
      summary: `Create a replacement identity with a valid name of at most ${MAX_LENGTH} characters, move role assignments and attachments to it, then delete this one.`,
      cli: [
        `az identity create --resource-group ${String(finding.evidence["resourceGroup"] ?? "<rg>")} --name <valid-name>`,
        `az role assignment list --assignee ${String(finding.evidence["principalId"] ?? "<principalId>")} --all --output table`,
      ],
    }),
  },
  evaluate(index): FindingDraft[] {
    const findings: FindingDraft[] = [];
    for (const identity of index.inventory.identities) {
      const problems: string[] = [];
      if (identity.name.length > MAX_LENGTH) problems.push(`is longer than ${MAX_LENGTH} characters (${identity.name.length})`);
      if (!VALID_NAME.test(identity.name)) problems.push("has characters other than letters, digits, '-' and '_', or does not start with a letter or digit");
      if (problems.length === 0) continue;
      findings.push({
        ruleId: "identity-name-invalid",
        severity: "medium",
        subjectId: identity.id,
        title: `Identity name ${identity.name} is invalid`,
        message: `The name of identity ${identity.name} ${problems.join(" and ")}.`,
        evidence: { name: identity.name, length: identity.name.length, problems, resourceGroup: identity.resourceGroup, principalId: identity.principalId },
      });
    }
    return findings;
  },
};
