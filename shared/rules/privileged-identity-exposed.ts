import type { FindingDraft, InventoryRule } from "./types.js";
import { listAssignmentsOf, sh } from "./lib/commands.js";
import { exposureOf, type ExposureEntry } from "./lib/exposure.js";
import { idKey } from "../model.js";

const RIGHT_WORDS: Record<ExposureEntry["right"], string> = {
  assign: "assign it to a resource they control",
  federate: "add a federated credential to it",
  "run-code": "run code where it is attached",
};

/** Someone other than the identity can act as a privileged identity: assign it, federate it, or run code where it is attached. */
export const rule: InventoryRule = {
  kind: "inventory",
  meta: {
    id: "privileged-identity-exposed",
    title: "Someone else can act as a privileged identity",
    severity: "critical",
    category: "privilege",
    docs: { url: "docs/rules/privileged-identity-exposed.md" },
    needs: ["directory-lookup", "role-definitions"],
    description:
      "For a user-assigned identity of grade critical or high, a principal (other than the identity, an approved pipeline in scope, the governance app, a protected principal, a deleted principal, or one already as privileged) holds a role that can assign the identity (userAssignedIdentities/assign/action), add a federated credential to it (federatedIdentityCredentials/write), or run code on a resource it is attached to. Critical when the identity's grade is critical, else high.",
    risk: "Whoever can assign a user-assigned identity, add a federated credential to it, or run code where it is attached gets all of its permissions: attach it to a VM they control and read its token from IMDS (ATRM AZT601.1, ATT&CK T1552.005), run commands where it is attached (AZT301.1), or trust their own OIDC issuer (T1098.001).",
    remediation: (finding) => {
      const holder = String(finding.evidence["principalId"] ?? "<principalId>");
      const rights = Array.isArray(finding.evidence["rights"]) ? (finding.evidence["rights"] as ExposureEntry[]) : [];
      const deletes = rights.map((right) => `az role assignment delete --assignee ${sh(holder)} --role ${sh(right.roleName)} --scope ${sh(right.scope)}`);
      return {
        summary:
          "Remove the holder's role assignment that grants the right, or replace it with one at a narrower scope that does not contain this identity (or the resource it is attached to). If the holder is a deployment pipeline, add it to approvedPipelines with scopes that cover only what it deploys.",
        cli: [listAssignmentsOf(holder), ...(deletes.length > 0 ? [...new Set(deletes)] : [`az role assignment delete --assignee ${sh(holder)} --role <role> --scope <scope>`])],
      };
    },
  },
  evaluate(index, policy): FindingDraft[] {
    const collector = index.inventory.exposure;
    if (!collector) return [];
    const findings: FindingDraft[] = [];
    for (const identity of index.inventory.identities) {
      const result = exposureOf(identity, collector, index.attachmentsByIdentity.get(idKey(identity.id)) ?? [], index.scopeTree, policy);
      if (!result || result.exposure.length === 0) continue;
      const byHolder = new Map<string, ExposureEntry[]>();
      for (const entry of result.exposure) {
        const key = entry.principalId.toLowerCase();
        const list = byHolder.get(key);
        if (list) list.push(entry);
        else byHolder.set(key, [entry]);
      }
      for (const rights of byHolder.values()) {
        const first = rights[0];
        if (!first) continue;
        const ways = [...new Set(rights.map((right) => RIGHT_WORDS[right.right]))].join(", ");
        findings.push({
          ruleId: "privileged-identity-exposed",
          severity: result.grade === "critical" ? "critical" : "high",
          subjectId: identity.id,
          relatedId: first.principalId,
          title: `${first.principalType || "Principal"} ${first.principalId} can act as ${result.grade} identity ${identity.name}`,
          message: `${first.principalType || "Principal"} ${first.principalId} can ${ways} — and so act as ${identity.name}, whose grade is ${result.grade}.`,
          evidence: {
            identityId: identity.id,
            identityPrincipalId: identity.principalId,
            grade: result.grade,
            principalId: first.principalId,
            principalType: first.principalType,
            rights: rights.map((right) => ({ right: right.right, roleName: right.roleName, scope: right.scope, ...(right.resourceId ? { resourceId: right.resourceId } : {}) })),
          },
        });
      }
    }
    return findings;
  },
};
