import type { FindingDraft, InventoryRule } from "./types.js";
import { deleteFederatedCredential, showFederatedCredential } from "./lib/commands.js";
import { federationOptions, trustedIssuer } from "./lib/federation.js";
import { federatedCredentialFix } from "./lib/fixes.js";
import { untrustedSubject, type SubjectAllowLists } from "./lib/subjects.js";
import type { SweepIndex } from "./lib/sweepIndex.js";
import type { PolicyWith } from "./types.js";

/** `federation` is shared with the other federation rules (shared/rules/lib/federation.ts). */
const OPTIONS = { federation: federationOptions };

/** The allow-lists of a sweep: the policy's, with the estate's own tenant and AKS clusters where the policy says so. */
function allowLists(index: SweepIndex, policy: PolicyWith<typeof OPTIONS>, tenantId: string): SubjectAllowLists {
  const subjects = policy.federation.subjects;
  const ownTenants = tenantId ? [tenantId] : [...new Set(index.inventory.identities.map((identity) => identity.tenantId).filter(Boolean))];
  return {
    githubOwners: subjects.githubOwners,
    entraTenants: subjects.entraTenants ?? ownTenants,
    azureDevOpsOrganizations: subjects.azureDevOpsOrganizations,
    aksIssuers: [...(index.inventory.aksClusters ?? []).map((cluster) => cluster.issuerUrl), ...subjects.aksIssuers],
    gitlabGroups: subjects.gitlabGroups,
    terraformOrganizations: subjects.terraformOrganizations,
  };
}

/** A federated credential whose issuer is trusted but whose subject, tenant or organisation is not the organisation's own. */
export const rule: InventoryRule<typeof OPTIONS> = {
  kind: "inventory",
  meta: {
    id: "federated-credential-untrusted-subject",
    title: "Federated credential trusts someone else's workloads",
    severity: "high",
    category: "privilege",
    docs: { url: "docs/rules/federated-credential-untrusted-subject.md" },
    // The grade only sets the severity; what the credential trusts needs the listing (and the clusters for AKS).
    needs: ["federated-credentials", "aks-clusters"],
    options: OPTIONS,
    description:
      "A federated identity credential whose issuer federation.trustedIssuers trusts, but that names a workload outside the organisation: a GitHub repository owner not in federation.subjects.githubOwners, an Entra ID tenant not in entraTenants (default: the estate's own), an Azure DevOps organization not in azureDevOpsOrganizations, an AKS issuer that is no cluster of the estate nor in aksIssuers, a GitLab top-level group not in gitlabGroups, a Terraform Cloud organization not in terraformOrganizations. A flexible credential is judged on every owner or organization its expression can match; one that cannot be read is untrusted. Critical when the identity's grade is critical, high when high, else medium.",
    risk: "GitHub, Entra ID, Azure DevOps, AKS, GitLab and Terraform Cloud issue tokens to anyone's workloads: a credential that trusts repo:mallory/evil, another tenant or another cluster lets that workload exchange its token for this identity's access token, with no secret at all (ATT&CK T1098.001).",
    remediation: (finding) => ({
      summary:
        "Delete the credential if the workload is not yours; if it is (a repository, tenant, organization or cluster of your own), add it to the federation.subjects list the evidence names.",
      cli: [showFederatedCredential(finding.subjectId), deleteFederatedCredential(finding.subjectId)],
    }),
  },
  evaluate(index, policy): FindingDraft[] {
    const findings: FindingDraft[] = [];
    const collector = index.inventory.exposure;
    for (const credential of index.inventory.federatedCredentials) {
      if (!trustedIssuer(credential.issuer, policy.federation.trustedIssuers)) continue;
      const identity = index.identityById.get(credential.identityId.toLowerCase());
      const verdict = untrustedSubject(credential, allowLists(index, policy, identity?.tenantId ?? ""));
      if (!verdict) continue;
      // The estate's clusters could not be read: an AKS credential is unknown, not untrusted (the check is incomplete).
      if (verdict.platform === "AKS" && index.inventory.aksClusters === undefined) continue;
      const grade = identity ? collector?.gradeOf(identity)?.grade : undefined;
      const who = identity?.name ?? credential.identityId;
      const named = verdict.untrusted.join(", ");
      findings.push({
        ruleId: "federated-credential-untrusted-subject",
        severity: grade ?? "medium",
        subjectId: credential.id,
        relatedId: credential.identityId,
        title: `Federated credential ${credential.name} on ${who} trusts ${verdict.platform} ${verdict.what} ${named}`,
        message: `Federated credential ${credential.name} on identity ${who}${grade ? ` (grade ${grade})` : ""} trusts ${verdict.platform} workloads of ${verdict.what} ${named}, which ${verdict.policyKey} does not list: they can act as the identity.`,
        evidence: {
          platform: verdict.platform,
          [verdict.what]: verdict.untrusted[0],
          untrusted: verdict.untrusted,
          policyKey: verdict.policyKey,
          issuer: credential.issuer,
          subject: credential.subject,
          ...(credential.claimsMatchingExpression !== undefined ? { claimsMatchingExpression: credential.claimsMatchingExpression.value } : {}),
          grade: grade ?? null,
        },
        fixes: [federatedCredentialFix(credential.id, who)],
      });
    }
    return findings;
  },
};
