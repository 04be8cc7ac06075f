import type { EventRule, FindingDraft } from "./types.js";
import { callerLabel } from "./lib/approval.js";
import { showIdentity } from "./lib/commands.js";

/** Identity create/update/delete by a caller that is not an approved pipeline. */
export const rule: EventRule = {
  kind: "event",
  changes: ["identity-write", "identity-delete"],
  meta: {
    id: "identity-change-outside-pipeline",
    title: "Identity changed outside a pipeline",
    severity: "medium",
    category: "pipeline",
    docs: { url: "docs/rules/identity-change-outside-pipeline.md" },
    needs: [],
    description: "A user-assigned identity created, updated or deleted by a caller that is not an approved pipeline.",
    risk: "Identities made by hand have no owner, no review and usually no clean-up; changes outside the pipeline drift from what is in code.",
    remediation: (finding) => ({
      summary: "Confirm the change with the caller and bring the identity under the deployment pipeline (or delete it).",
      cli: [showIdentity(finding.subjectId), "az monitor activity-log list --resource-id " + finding.subjectId + " --offset 1d --output table"],
    }),
  },
  evaluate(facts): FindingDraft[] {
    if (facts.approval.approved) return [];
    const id = facts.event.resourceUri;
    const verb = facts.change === "identity-delete" ? "deleted" : "created or updated";
    return [
      {
        ruleId: "identity-change-outside-pipeline",
        severity: "medium",
        subjectId: id,
        title: `${callerLabel(facts.event.caller)} ${verb} identity ${id.split("/").pop() ?? id}`,
        message: `${callerLabel(facts.event.caller)} ${verb} user-assigned identity ${id} (${facts.approval.reason}).`,
        evidence: { caller: facts.event.caller, approval: facts.approval.reason, operationName: facts.event.operationName, eventId: facts.event.id, eventTime: facts.event.eventTime },
      },
    ];
  },
};
