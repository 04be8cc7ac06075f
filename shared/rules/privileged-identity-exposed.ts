import type { FindingDraft, InventoryRule, Remediation } from "./types.js";
import { listAssignmentsOf } from "./lib/commands.js";
import { exposureOf } from "./lib/holders.js";
import { deleteCommandsOf } from "./lib/sharedEvidence.js";
import type { Holder, Right, RightEvidence } from "./lib/exposure.js";
import { idKey, principalLabel } from "../model.js";
import type { FixTarget } from "./lib/fixes.js";

const RIGHT_WORDS: Record<Right, string> = {
  assign: "assign it to a resource they control",
  federate: "add a federated credential to it",
  "run-code": "run code where it is attached",
  grant: "grant themselves a role that does either",
};

type Member = NonNullable<Holder["members"]>[number];

/** Remediations by the delete commands they were worked out from (one array per sequence of a holder's grants: sharedEvidence.ts). */
const remediations = new WeakMap<readonly string[], { holder: string; remediation: Remediation }>();

/** At most this many members in a finding's evidence (docs/rules/privileged-identity-exposed.md); `memberCount` says how many there are. */
const MEMBERS_SHOWN = 50;

/** Someone other than the identity can act as a privileged identity: assign it, federate it, run code where it is attached, or grant itself a role that can. */
export const rule: InventoryRule = {
  kind: "inventory",
  meta: {
    id: "privileged-identity-exposed",
    title: "Someone else can act as a privileged identity",
    severity: "critical",
    category: "privilege",
    docs: { url: "docs/rules/privileged-identity-exposed.md" },
    needs: ["directory-lookup", "role-definitions", "entra-roles", "graph-app-roles", "group-members", "role-eligibility"],
    description:
      "For a user-assigned identity of grade critical or high (from its Azure role assignments, direct or through groups, PIM-eligible ones included; its Entra directory roles; its Microsoft Graph application permissions), a principal (other than the identity, an approved pipeline in scope, the governance app, a protected principal, a deleted principal, or one already as privileged) holds, actively or PIM-eligible, directly or as a group, a role that can assign the identity (userAssignedIdentities/assign/action), add a federated credential to it (federatedIdentityCredentials/write), run code on a resource it is attached to, or write role assignments there (grant). Critical when the identity's grade is critical, else high.",
    risk: "Whoever can assign a user-assigned identity, add a federated credential to it, or run code where it is attached gets all of its permissions: attach it to a VM they control and read its token from IMDS (ATRM AZT601.1, ATT&CK T1552.005), run commands where it is attached (AZT301.1), or trust their own OIDC issuer (T1098.001). Whoever can write role assignments there can grant itself any of these first.",
    remediation: (finding) => {
      const holder = String(finding.evidence["principalId"] ?? "<principalId>");
      const rights = Array.isArray(finding.evidence["rights"]) ? (finding.evidence["rights"] as RightEvidence[]) : [];
      // The lists of rights of the same grants share one array of delete commands (sharedEvidence.ts): so does their remediation.
      const deletes = deleteCommandsOf(rights);
      const known = remediations.get(deletes);
      if (known && known.holder === holder) return known.remediation;
      const remediation = {
        summary:
          "Remove the holder's role assignment that grants the right, or replace it with one at a narrower scope that does not contain this identity (or the resource it is attached to); for a PIM-eligible assignment, remove the eligibility. For a group, remove the grant or the members who should not act as the identity. If the holder is a deployment pipeline, add it to approvedPipelines with scopes that cover only what it deploys.",
        cli: [listAssignmentsOf(holder), ...(deletes.length > 0 ? deletes : ["az role assignment delete --ids <role assignment id>"])],
      };
      remediations.set(deletes, { holder, remediation });
      return remediation;
    },
  },
  evaluate(index, policy): FindingDraft[] {
    const findings: FindingDraft[] = [];
    rule.evaluateEach?.(index, policy, (draft) => findings.push(draft));
    return findings;
  },
  // ~235,000 drafts at 1M role assignments: the sweep collects each as it is made instead of holding them all.
  evaluateEach(index, policy, emit): void {
    const collector = index.inventory.exposure;
    if (!collector) return;
    // Worked out once per holder, list of rights or identity, not once per finding: a title or message is the
    // concatenation of shared parts, which V8 keeps as a pair of references until the text is read out whole.
    const labels = new Map<string, { who: string; canActAs: string; can: Map<string, string> }>();
    const ways = new Map<readonly RightEvidence[], string>();
    const endings = new Map<string, string>();
    const shownMembers = new Map<readonly Member[], Array<{ id: string; displayName: string | null; type: string }>>();
    for (const identity of index.inventory.identities) {
      const result = exposureOf(identity, collector, index.attachmentsByIdentity.get(idKey(identity.id)) ?? [], index.scopeTree, policy);
      if (!result) continue;
      const actsAs = `${result.grade} identity ${identity.name}`;
      const andSo = ` — and so act as ${identity.name}, whose grade is ${result.grade}`;
      for (const holder of result.holders) {
        let label = labels.get(holder.principalId);
        if (!label) {
          const who = principalLabel({ id: holder.principalId, displayName: holder.displayName, type: holder.principalType || "Principal" });
          labels.set(holder.principalId, (label = { who, canActAs: `${who} can act as `, can: new Map() }));
        }
        let way = ways.get(holder.rights);
        if (way === undefined) ways.set(holder.rights, (way = [...new Set(holder.rights.map((right) => RIGHT_WORDS[right.right]))].join(", ")));
        let can = label.can.get(way);
        if (can === undefined) label.can.set(way, (can = `${label.who} can ${way}`));
        const members = holder.members ?? [];
        let shown = shownMembers.get(members);
        if (!shown) shownMembers.set(members, (shown = members.slice(0, MEMBERS_SHOWN).map((member) => ({ id: member.id, displayName: member.displayName ?? null, type: member.type }))));
        const through = holder.members ? ` (${members.length} member${members.length === 1 ? "" : "s"} can act through it)` : holder.membersUnknown ? " (its members could not be read)" : "";
        let ending = endings.get(through);
        if (ending === undefined) endings.set(through, (ending = `${through}.`));
        // Removing the one grant that gives every right, or the one reason for the identity's grade, clears it (docs/output.md "Fix first").
        const fixes: FixTarget[] = [...(holder.fix ? [holder.fix] : []), ...(result.fix ? [result.fix] : [])];
        emit({
          ruleId: "privileged-identity-exposed",
          severity: result.grade === "critical" ? "critical" : "high",
          subjectId: identity.id,
          relatedId: holder.principalId,
          title: label.canActAs + actsAs,
          message: can + andSo + ending,
          evidence: {
            identityId: identity.id,
            identityPrincipalId: identity.principalId,
            grade: result.grade,
            principalId: holder.principalId,
            principalType: holder.principalType,
            ...(holder.displayName ? { displayName: holder.displayName } : {}),
            rights: holder.rights,
            ...(holder.members ? { members: shown, memberCount: members.length } : {}),
            ...(holder.membersUnknown ? { membersUnknown: true } : {}),
            gradeReasons: result.reasons,
          },
          ...(fixes.length > 0 ? { fixes } : {}),
        });
      }
    }
  },
};
