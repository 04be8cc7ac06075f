import type { NoticeRule } from "./types.js";

/**
 * Raised by the event path, not evaluated: an event that an event rule could not decide (Microsoft Graph,
 * ARM or storage kept failing for a check the rule needs) failed every delivery Event Grid made, and is
 * acknowledged on the last one with this finding so that a person looks at the change.
 */
export const rule: NoticeRule = {
  kind: "notice",
  meta: {
    id: "event-undecided",
    title: "Change could not be judged",
    severity: "high",
    category: "guard",
    docs: { url: "docs/rules/event-undecided.md" },
    needs: [],
    description:
      "An event the event rules watch could not be decided on its last delivery: a check a rule needs (the directory lookup of a new role assignment's principal, the read-back from ARM, the state in storage) kept failing. Subject: the event's resource id. Evidence: the event id, operation, caller and what failed.",
    risk: "An Owner grant to a managed identity or an identity attached outside a pipeline that the guard could not judge would otherwise pass unreported.",
    remediation: (finding) => ({
      summary: "Look at the change yourself: who made it, and whether it was approved.",
      cli: [`az resource show --ids ${finding.subjectId}`, `az monitor activity-log list --correlation-id ${String(finding.evidence["correlationId"] ?? "<correlation id>")}`],
    }),
  },
};
