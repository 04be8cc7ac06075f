import type { EventRule, FindingDraft } from "./types.js";
import { callerLabel } from "./lib/approval.js";
import { detachIdentity } from "./lib/commands.js";

/** An identity deleted (by anyone) while resources still reference it or role assignments name its principal. */
export const rule: EventRule = {
  kind: "event",
  changes: ["identity-delete"],
  meta: {
    id: "identity-deleted-while-in-use",
    title: "Identity deleted while still in use",
    severity: "high",
    category: "attachment",
    docs: { url: "docs/rules/identity-deleted-while-in-use.md" },
    needs: [],
    description: "Microsoft.ManagedIdentity/userAssignedIdentities/delete (any caller) while resources still reference the identity or role assignments still name its principal. Evidence lists both.",
    risk: "Workloads using the identity start failing to get tokens; re-creating it with the same name gives a new principal without the old grants, and the old assignments become orphans.",
    remediation: (finding) => ({
      summary: "Re-create the identity and its grants if the deletion was a mistake; otherwise detach it from the listed resources and delete the orphaned role assignments.",
      cli: [
        ...((finding.evidence["resources"] as string[] | undefined) ?? []).map((resourceId) => detachIdentity(resourceId, "", finding.subjectId)),
        ...((finding.evidence["roleAssignments"] as string[] | undefined) ?? []).map((assignmentId) => `az role assignment delete --ids ${assignmentId}`),
      ].slice(0, 20).concat(`az identity show --ids ${finding.subjectId}`),
    }),
  },
  evaluate(facts): FindingDraft[] {
    const usage = facts.usage;
    if (!usage || (usage.resources.length === 0 && usage.roleAssignments.length === 0)) return [];
    const id = facts.event.resourceUri;
    return [
      {
        ruleId: "identity-deleted-while-in-use",
        severity: "high",
        subjectId: id,
        title: `Identity ${id.split("/").pop() ?? id} deleted while in use`,
        message: `${callerLabel(facts.event.caller)} deleted identity ${id}; ${usage.resources.length} resource(s) still reference it and ${usage.roleAssignments.length} role assignment(s) still name its principal.`,
        evidence: {
          caller: facts.event.caller,
          principalId: usage.principalId ?? null,
          resources: usage.resources,
          roleAssignments: usage.roleAssignments,
          eventId: facts.event.id,
          eventTime: facts.event.eventTime,
        },
      },
    ];
  },
};
