import { z } from "zod";
import type { FindingDraft, InventoryRule } from "./types.js";
import { idKey } from "../model.js";

/** `sprawl.maxResourceGroups`: attached in more resource groups than this is a finding. */
const OPTIONS = { sprawl: z.strictObject({ maxResourceGroups: z.number().int().min(1).default(3) }).default({ maxResourceGroups: 3 }) };

/** A UAMI attached in more than sprawl.maxResourceGroups distinct resource groups. */
export const rule: InventoryRule<typeof OPTIONS> = {
  kind: "inventory",
  meta: {
    id: "shared-identity-sprawl",
    title: "Identity shared by too many workloads",
    severity: "medium",
    category: "attachment",
    docs: { url: "docs/rules/shared-identity-sprawl.md" },
    needs: [],
    options: OPTIONS,
    description: "A user-assigned identity attached to resources in more than sprawl.maxResourceGroups distinct resource groups (default 3).",
    risk: "Every workload sharing the identity holds the union of its permissions; one compromised workload reaches all the others' data.",
    remediation: () => ({
      summary: "Split the identity per workload: one identity per application, each with only the roles that workload needs.",
      cli: ["az identity create --resource-group <workload rg> --name <id-app-env-location-01>", "az role assignment create --assignee-object-id <new principal id> --assignee-principal-type ServicePrincipal --role <role> --scope <scope>"],
    }),
  },
  evaluate(index, policy): FindingDraft[] {
    const findings: FindingDraft[] = [];
    for (const identity of index.inventory.identities) {
      const groups = new Map<string, string>();
      for (const resource of index.attachmentsByIdentity.get(idKey(identity.id)) ?? []) {
        groups.set(`${resource.subscriptionId}/${resource.resourceGroup}`.toLowerCase(), resource.resourceGroup);
      }
      if (groups.size <= policy.sprawl.maxResourceGroups) continue;
      findings.push({
        ruleId: "shared-identity-sprawl",
        severity: "medium",
        subjectId: identity.id,
        title: `Identity ${identity.name} is attached in ${groups.size} resource groups`,
        message: `Identity ${identity.name} is attached to resources in ${groups.size} resource groups (policy allows ${policy.sprawl.maxResourceGroups}).`,
        evidence: { resourceGroups: [...groups.values()].sort(), limit: policy.sprawl.maxResourceGroups },
      });
    }
    return findings;
  },
};
