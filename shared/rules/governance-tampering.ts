import { CHANGE_KINDS } from "../events/operations.js";
import type { CorePolicy } from "../config/policyCore.js";
import type { EventRule, FindingDraft } from "./types.js";
import { callerLabel } from "./lib/approval.js";
import { sh } from "./lib/commands.js";

/**
 * Someone other than the guard (and its approved pipelines) changes the guard itself: writes,
 * deletes or stops one of its own resources (`self.resources`, `self.functionAppId`), or deletes
 * one of its own role assignments (its principal was `self.objectId` at the last sweep). A guard
 * that can be switched off silently is no guard.
 */
export const rule: EventRule = {
  kind: "event",
  changes: CHANGE_KINDS,
  meta: {
    id: "governance-tampering",
    title: "Governance app changed outside a pipeline",
    severity: "critical",
    category: "guard",
    docs: { url: "docs/rules/governance-tampering.md" },
    needs: [],
    description:
      "A caller that is not approved writes, deletes or stops one of uami-guard's own resources (self.resources: the Function App, its storage, Key Vault, Event Grid system topics and event subscriptions, the findings topic, the DCR), or deletes a role assignment of the app's own identity (self.objectId).",
    risk: "Deleting the event subscription, the app's Reader role or stopping the Function App ends detection without any other signal; it is what an attacker does first.",
    remediation: (finding) => ({
      summary: "Find out who made the change and why; redeploy the guard (`azd provision`) to restore what was removed.",
      cli: [
        `az monitor activity-log list --resource-id ${sh(finding.subjectId)} --offset 1d --output table`,
        "az deployment sub create --location <region> --template-file infra/main.bicep --parameters infra/main.parameters.json",
      ],
    }),
  },
  evaluate(facts, policy): FindingDraft[] {
    if (facts.approval.approved) return [];
    const id = facts.event.resourceUri;
    const ownAssignment = facts.change === "role-assignment-delete" && facts.selfRoleAssignment === true;
    const ownResource = ownResourcePrefix(id, policy);
    if (!ownAssignment && ownResource === undefined) return [];
    const who = callerLabel(facts.event.caller);
    const what = ownAssignment ? `deleted a role assignment of the guard's own identity (${policy.self.objectId ?? "self"})` : `changed the guard's own resource ${id}`;
    return [
      {
        ruleId: "governance-tampering",
        severity: "critical",
        subjectId: id,
        title: `${who} ${ownAssignment ? "removed a role of the governance app" : `changed governance resource ${id.split("/").pop() ?? id}`}`,
        message: `${who} ${what} with ${facts.event.operationName} (${facts.approval.reason}).`,
        evidence: {
          caller: facts.event.caller,
          approval: facts.approval.reason,
          operationName: facts.event.operationName,
          eventId: facts.event.id,
          eventTime: facts.event.eventTime,
          ...(ownResource !== undefined ? { selfResource: ownResource } : {}),
          ...(ownAssignment ? { selfObjectId: policy.self.objectId } : {}),
        },
      },
    ];
  },
};

/** The entry of `self.resources` (or the Function App id) that contains `id`, by prefix, case-insensitively. */
function ownResourcePrefix(id: string, policy: CorePolicy): string | undefined {
  const uri = id.toLowerCase();
  const own = [...policy.self.resources, ...(policy.self.functionAppId ? [policy.self.functionAppId] : [])];
  return own.find((entry) => {
    const prefix = entry.toLowerCase().replace(/\/+$/, "");
    return prefix !== "" && (uri === prefix || uri.startsWith(`${prefix}/`));
  });
}
