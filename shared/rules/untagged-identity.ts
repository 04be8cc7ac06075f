import { z } from "zod";
import type { FindingDraft, InventoryRule } from "./types.js";
import { tagIdentity } from "./lib/commands.js";
import { tagValue } from "./lib/tags.js";

/** `requiredTags`: tags every identity must carry (keys case-insensitive; a blank value counts as missing). */
const OPTIONS = { requiredTags: z.array(z.string().trim().min(1)).default(["owner", "environment"]) };

/** A UAMI missing a required tag (key case-insensitive; an empty or blank value counts as missing). */
export const rule: InventoryRule<typeof OPTIONS> = {
  kind: "inventory",
  meta: {
    id: "untagged-identity",
    title: "Identity without required tags",
    severity: "medium",
    category: "hygiene",
    docs: { url: "docs/rules/untagged-identity.md" },
    needs: [],
    action: "tag-identity",
    options: OPTIONS,
    description: "A user-assigned identity lacks one of the policy's requiredTags (default owner and environment); keys match case-insensitively and blank values count as missing.",
    risk: "Nobody can say who owns an untagged identity or whether it may be removed; it survives every clean-up and every access review.",
    remediation: (finding) => ({
      summary: "Add the missing tags so the identity has an accountable owner and a known environment.",
      cli: [tagIdentity(finding.subjectId, (finding.evidence["missingTags"] as string[] | undefined) ?? ["owner", "environment"])],
    }),
  },
  evaluate(index, policy): FindingDraft[] {
    const findings: FindingDraft[] = [];
    for (const identity of index.inventory.identities) {
      const missingTags = policy.requiredTags.filter((tag) => tagValue(identity.tags, tag) === undefined);
      if (missingTags.length === 0) continue;
      findings.push({
        ruleId: "untagged-identity",
        severity: "medium",
        subjectId: identity.id,
        title: `Identity ${identity.name} is missing tags: ${missingTags.join(", ")}`,
        message: `User-assigned identity ${identity.name} in ${identity.resourceGroup} has no ${missingTags.join(" or ")} tag.`,
        evidence: { missingTags, tags: identity.tags, principalId: identity.principalId },
      });
    }
    return findings;
  },
};
