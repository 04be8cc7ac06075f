import { z } from "zod";
import { regexString } from "../config/policyCore.js";
import type { FindingDraft, InventoryRule } from "./types.js";

/** `naming.pattern`: identity names must match it; null turns the rule off. */
const OPTIONS = { naming: z.strictObject({ pattern: regexString.nullable().default(null) }).default({ pattern: null }) };

/** Off unless naming.pattern is set. */
export const rule: InventoryRule<typeof OPTIONS> = {
  kind: "inventory",
  meta: {
    id: "naming-convention",
    title: "Identity name off convention",
    severity: "low",
    category: "hygiene",
    docs: { url: "docs/rules/naming-convention.md" },
    needs: [],
    options: OPTIONS,
    description: "Only when naming.pattern is set (suggested ^id-[a-z0-9]+-(dev|test|stage|prod)-[a-z0-9]+-\\d{2}$): a user-assigned identity whose name does not match it.",
    risk: "Names that say nothing about app and environment make reviews slow and mistakes (the prod identity on a dev VM) easy.",
    remediation: () => ({
      summary: "Name identities id-<app>-<environment>-<location>-<instance>; identities cannot be renamed, so create a replacement when it matters.",
      cli: ["az identity create --resource-group <rg> --name id-<app>-<env>-<location>-01"],
    }),
  },
  evaluate(index, policy): FindingDraft[] {
    if (!policy.naming.pattern) return [];
    const pattern = new RegExp(policy.naming.pattern);
    return index.inventory.identities
      .filter((identity) => !pattern.test(identity.name))
      .map((identity) => ({
        ruleId: "naming-convention",
        severity: "low" as const,
        subjectId: identity.id,
        title: `Identity ${identity.name} does not follow the naming convention`,
        message: `Identity name ${identity.name} does not match ${policy.naming.pattern}.`,
        evidence: { name: identity.name, pattern: policy.naming.pattern },
      }));
  },
};
