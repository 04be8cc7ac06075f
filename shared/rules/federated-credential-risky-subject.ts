import type { FindingDraft, InventoryRule } from "./types.js";
import { riskyReasons } from "./lib/federation.js";
import { deleteFederatedCredential, showFederatedCredential } from "./lib/commands.js";

/** A federated credential that more than one protected workload can satisfy. */
export const rule: InventoryRule = {
  kind: "inventory",
  meta: {
    id: "federated-credential-risky-subject",
    title: "Federated credential trusts more than one workload",
    severity: "high",
    category: "privilege",
    docs: { url: "docs/rules/federated-credential-risky-subject.md" },
    needs: ["federated-credentials"],
    description:
      "A federated identity credential that trusts more than one protected workload: GitHub's issuer with subject repo:<owner>/<repo>:pull_request (high: any pull request's workflow run gets the token), or a flexible credential with a claims matching expression (medium).",
    risk: "A pull request's workflow, or any workload a wildcard expression matches, exchanges its token for this identity's access token: code nobody reviewed runs with the identity's permissions (ATT&CK T1098.001).",
    remediation: (finding) => ({
      summary:
        "Replace the credential with one whose subject names one protected workload: a GitHub environment (repo:<owner>/<repo>:environment:<env>) with required reviewers, or a branch (repo:<owner>/<repo>:ref:refs/heads/main); for a flexible credential, an exact subject.",
      cli: [
        showFederatedCredential(finding.subjectId),
        `az identity federated-credential create --name <name> --identity-name <identity name> --resource-group <resource group> --issuer https://token.actions.githubusercontent.com --subject repo:<owner>/<repo>:environment:<env> --audiences api://AzureADTokenExchange`,
        deleteFederatedCredential(finding.subjectId),
      ],
    }),
  },
  evaluate(index): FindingDraft[] {
    const findings: FindingDraft[] = [];
    for (const credential of index.inventory.federatedCredentials) {
      const reasons = riskyReasons(credential);
      if (reasons.length === 0) continue;
      const identity = index.identityById.get(credential.identityId.toLowerCase());
      const who = identity?.name ?? credential.identityId;
      findings.push({
        ruleId: "federated-credential-risky-subject",
        severity: reasons.some((reason) => reason.severity === "high") ? "high" : "medium",
        subjectId: credential.id,
        relatedId: credential.identityId,
        title: `Federated credential ${credential.name} on ${who} trusts more than one workload`,
        message: `Federated credential ${credential.name} on identity ${who}: ${reasons.map((reason) => reason.reason).join("; ")}.`,
        evidence: {
          issuer: credential.issuer,
          subject: credential.subject,
          ...(credential.claimsMatchingExpression !== undefined ? { claimsMatchingExpression: credential.claimsMatchingExpression.value } : {}),
          reasons: reasons.map((reason) => reason.reason),
        },
      });
    }
    return findings;
  },
};
