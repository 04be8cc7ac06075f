import type { EventRule, FindingDraft } from "./types.js";
import { detachIdentity } from "./lib/commands.js";
import { callerLabel } from "./lib/approval.js";
import { idKey, type AbsorbedBy } from "../model.js";

/** A UAMI newly attached to a resource by a non-approved caller, judged on the resource as ARM has it now. */
export const rule: EventRule = {
  kind: "event",
  changes: ["attachment-write"],
  meta: {
    id: "attachment-outside-pipeline",
    title: "Identity attached outside a pipeline",
    severity: "high",
    category: "pipeline",
    docs: { url: "docs/rules/attachment-outside-pipeline.md" },
    needs: [],
    action: "detach-identity",
    description:
      "A write on a resource (VM, VMSS, web/function app, slot, container app, …) by a non-approved caller after which the resource, read back from ARM, has a user-assigned identity attached that its baseline does not list (no baseline: every attached identity counts). One finding per (resource, identity).",
    risk: "Attaching an identity hands the resource's code every permission the identity holds — the quickest way to reach a Key Vault or storage account without a role change anyone reviews.",
    remediation: (finding) => ({
      summary: "Confirm with the caller; if it was not approved, detach the identity (other identities and the system-assigned identity stay).",
      cli: [detachIdentity(finding.subjectId, String(finding.evidence["resourceType"] ?? ""), finding.relatedId ?? "<identity id>")],
    }),
  },
  evaluate(facts): FindingDraft[] {
    const resource = facts.resource;
    if (facts.approval.approved || !resource) return [];
    const known = new Set((facts.baseline ?? []).map(idKey));
    const who = callerLabel(facts.event.caller);
    const findings: FindingDraft[] = [];
    for (const identityId of resource.userAssignedIdentityIds) {
      const absorbedBy = known.has(idKey(identityId)) ? absorbedAfter(facts.absorbed?.[idKey(identityId)], facts.event.eventTime) : undefined;
      if (known.has(idKey(identityId)) && !absorbedBy) continue;
      const name = identityId.split("/").pop() ?? identityId;
      const why = absorbedBy
        ? `which its baseline lists only since the approved write ${absorbedBy.eventId} (${absorbedBy.eventTime}, ${absorbedBy.approvedAs}) read it back at ${absorbedBy.readBackAt ?? absorbedBy.eventTime} — not before this write, so either write may have attached it; reported only, never detached automatically`
        : "which its baseline does not list";
      findings.push({
        ruleId: "attachment-outside-pipeline",
        severity: "high",
        subjectId: resource.id,
        relatedId: identityId,
        title: `${who} attached ${name} to ${resource.id.split("/").pop() ?? resource.id}`,
        message: `${who} wrote ${resource.type} ${resource.id}; it now has identity ${identityId} attached, ${why} (${facts.approval.reason}).`,
        evidence: {
          caller: facts.event.caller,
          approval: facts.approval.reason,
          resourceType: resource.type,
          identityType: resource.identityType,
          attachedNow: resource.userAssignedIdentityIds,
          baseline: facts.baseline ?? null,
          eventId: facts.event.id,
          eventTime: facts.event.eventTime,
          operationName: facts.event.operationName,
          ...(absorbedBy
            ? { absorbedBy: { eventId: absorbedBy.eventId, eventTime: absorbedBy.eventTime, readBackAt: absorbedBy.readBackAt ?? absorbedBy.eventTime, approvedAs: absorbedBy.approvedAs } }
            : {}),
        },
      });
    }
    return findings;
  },
};

/**
 * docs/guarantees.md "Order does not matter": an identity the baseline holds only because an approved write's read-back
 * absorbed it is known only to a write that happened after that read-back (strictly: the same instant is
 * not after). The read-back time is what counts, not the approved write's eventTime: a user who attached the
 * identity seconds after the pipeline's write, before its read-back, is reported. Times that cannot be
 * compared count as "not after" (reported, and report only), never as known.
 */
function absorbedAfter(absorbed: AbsorbedBy | undefined, eventTime: string): AbsorbedBy | undefined {
  if (!absorbed) return undefined;
  const readBackAt = Date.parse(absorbed.readBackAt ?? absorbed.eventTime);
  const writtenAt = Date.parse(eventTime);
  return writtenAt > readBackAt ? undefined : absorbed;
}
