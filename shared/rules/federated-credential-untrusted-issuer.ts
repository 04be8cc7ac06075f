import type { FindingDraft, InventoryRule } from "./types.js";
import { deleteFederatedCredential, showFederatedCredential } from "./lib/commands.js";
import { federationOptions, trustedIssuer } from "./lib/federation.js";

/** `federation` is shared with the other federation rules (shared/rules/lib/federation.ts). */
const OPTIONS = { federation: federationOptions };

/** A federated credential whose issuer `federation.trustedIssuers` does not trust. */
export const rule: InventoryRule<typeof OPTIONS> = {
  kind: "inventory",
  meta: {
    id: "federated-credential-untrusted-issuer",
    title: "Federated credential trusts an unknown issuer",
    severity: "high",
    category: "privilege",
    docs: { url: "docs/rules/federated-credential-untrusted-issuer.md" },
    needs: ["federated-credentials"],
    options: OPTIONS,
    description:
      "A federated identity credential on a user-assigned identity whose issuer matches no entry of federation.trustedIssuers (a * stands for one or more characters other than / and .; an entry ending in / matches every issuer that begins with it; other entries must equal the issuer, one trailing / ignored).",
    risk: "Whoever runs the issuer can mint tokens that Entra ID exchanges for this identity's access token (ATT&CK T1098.001): an attacker-run OIDC issuer, or a look-alike host, acts as the identity without any secret.",
    remediation: (finding) => ({
      summary: "Confirm who runs the issuer. Delete the credential if nobody should, or add the issuer to federation.trustedIssuers if it is one of your own.",
      cli: [showFederatedCredential(finding.subjectId), deleteFederatedCredential(finding.subjectId)],
    }),
  },
  evaluate(index, policy): FindingDraft[] {
    const findings: FindingDraft[] = [];
    for (const credential of index.inventory.federatedCredentials) {
      if (trustedIssuer(credential.issuer, policy.federation.trustedIssuers)) continue;
      const identity = index.identityById.get(credential.identityId.toLowerCase());
      const who = identity?.name ?? credential.identityId;
      findings.push({
        ruleId: "federated-credential-untrusted-issuer",
        severity: "high",
        subjectId: credential.id,
        relatedId: credential.identityId,
        title: `Federated credential ${credential.name} on ${who} trusts ${credential.issuer || "an empty issuer"}`,
        message: `Federated credential ${credential.name} on identity ${who} trusts issuer ${credential.issuer || "(empty)"}, which federation.trustedIssuers does not list.`,
        evidence: { issuer: credential.issuer, subject: credential.subject, audiences: credential.audiences, trustedIssuers: policy.federation.trustedIssuers },
      });
    }
    return findings;
  },
};
