import type { EventRule, FindingDraft } from "./types.js";
import { callerLabel } from "./lib/approval.js";

const FIC = /^(.*\/userAssignedIdentities\/[^/]+)\/federatedIdentityCredentials\/[^/]+$/i;

/** A federated credential written by a non-approved caller: a new way to get the identity's tokens. */
export const rule: EventRule = {
  kind: "event",
  changes: ["federated-credential-write"],
  meta: {
    id: "federated-credential-outside-pipeline",
    title: "Federated credential added outside a pipeline",
    severity: "high",
    category: "pipeline",
    docs: { url: "docs/rules/federated-credential-outside-pipeline.md" },
    needs: [],
    description: "A …/userAssignedIdentities/federatedIdentityCredentials/write by a caller that is not an approved pipeline.",
    risk: "A federated credential lets an external workload (any repository or cluster its subject matches) get tokens for the identity without any secret: a persistent, hard-to-see backdoor.",
    remediation: (finding) => ({
      summary: "Check the issuer and subject; if not approved, delete the credential.",
      cli: [
        `az identity federated-credential show --ids ${finding.subjectId}`,
        `az identity federated-credential delete --ids ${finding.subjectId} --yes`,
      ],
    }),
  },
  evaluate(facts): FindingDraft[] {
    if (facts.approval.approved) return [];
    const id = facts.event.resourceUri;
    const identityId = FIC.exec(id)?.[1] ?? id;
    const who = callerLabel(facts.event.caller);
    const credential = facts.federatedCredential;
    return [
      {
        ruleId: "federated-credential-outside-pipeline",
        severity: "high",
        subjectId: id,
        relatedId: identityId,
        title: `${who} added federated credential ${id.split("/").pop() ?? id}`,
        message: `${who} wrote federated credential ${id}${credential ? ` (issuer ${credential.issuer}, subject ${credential.subject})` : ""} (${facts.approval.reason}).`,
        evidence: {
          caller: facts.event.caller,
          approval: facts.approval.reason,
          issuer: credential?.issuer ?? null,
          subject: credential?.subject ?? null,
          eventId: facts.event.id,
          eventTime: facts.event.eventTime,
        },
      },
    ];
  },
};
