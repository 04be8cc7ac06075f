import { CHANGE_KINDS } from "../events/operations.js";
import type { CorePolicy } from "../config/policyCore.js";
import type { EventFacts, EventRule, FindingDraft } from "./types.js";
import { callerLabel, guardExemption } from "./lib/approval.js";
import { sh } from "./lib/commands.js";
import { extensionScope, guardResourceUnderScope, guardResources, ownResourcePrefix } from "./lib/guard.js";
import { subscriptionOf } from "../model.js";

/**
 * Someone changes the guard itself: any write, delete or action on its own resources (`self.resources`,
 * `self.functionAppId`), a lock or policy assignment on a scope above them, a custom role its identity holds,
 * or one of its own role assignments. Only the app's own identity and `self.deployers` may: an approved
 * pipeline may not, since its approval is for the app teams' resources, not for switching the guard off.
 */
export const rule: EventRule = {
  kind: "event",
  changes: CHANGE_KINDS,
  meta: {
    id: "governance-tampering",
    title: "Governance app changed by someone other than its deployers",
    severity: "critical",
    category: "guard",
    docs: { url: "docs/rules/governance-tampering.md" },
    needs: [],
    description:
      "A caller other than uami-guard's own identity and self.deployers (approved pipelines included) writes, deletes or acts on anything under self.resources (the Function App, its functions, config, slots and plan; storage and its tables, queues and containers; Key Vault; Event Grid system topics and event subscriptions; the findings topic; the DCR and DCE; Application Insights and its workspace), puts a lock or a policy assignment on a scope that contains one of them, writes or deletes a custom role the app's identity holds, or deletes a role assignment of the app's identity (self.objectId).",
    risk: "Deleting the event subscription, a table or the app's role, locking its resource group read-only, or stopping the Function App ends detection without any other signal; it is what an attacker does first, and an app team's pipeline has the rights to do it.",
    remediation: (finding) => ({
      summary: "Find out who made the change and why; redeploy the guard (`azd provision`, by a deployer) to restore what was removed, and remove a lock or policy assignment that was not yours.",
      cli: [
        `az monitor activity-log list --resource-id ${sh(finding.subjectId)} --offset 1d --output table`,
        "az deployment sub create --location <region> --template-file infra/main.bicep --parameters infra/main.parameters.json",
      ],
    }),
  },
  evaluate(facts, policy): FindingDraft[] {
    if (guardExemption(facts.event.caller, policy)) return [];
    const tamper = tamperingOf(facts, policy);
    if (!tamper) return [];
    const id = facts.event.resourceUri;
    const who = callerLabel(facts.event.caller);
    return [
      {
        ruleId: "governance-tampering",
        severity: "critical",
        subjectId: id,
        title: `${who} ${tamper.title}`,
        message: `${who} ${tamper.what} with ${facts.event.operationName} (${facts.approval.approved ? `${facts.approval.reason}: approved pipelines may not change the guard` : facts.approval.reason}).`,
        evidence: {
          caller: facts.event.caller,
          approval: facts.approval.reason,
          operationName: facts.event.operationName,
          eventType: facts.event.eventType,
          eventId: facts.event.id,
          eventTime: facts.event.eventTime,
          ...tamper.evidence,
        },
      },
    ];
  },
};

interface Tampering {
  title: string;
  what: string;
  evidence: Record<string, unknown>;
}

function tamperingOf(facts: EventFacts, policy: CorePolicy): Tampering | undefined {
  const id = facts.event.resourceUri;
  if (facts.change === "guard-scope-write") {
    const held = facts.guardManagementGroup;
    const reached = guardResourceUnderScope(id, policy) ?? ownResourcePrefix(id, policy) ?? (held ? guardResources(policy).find((resource) => subscriptionOf(resource)?.toLowerCase() === held.subscriptionId.toLowerCase()) : undefined);
    const scope = extensionScope(id) ?? id;
    const kind = /\/locks\/[^/]+$/i.test(id) ? "a lock" : "a policy assignment";
    if (reached !== undefined) return { title: `put ${kind} over the governance app`, what: `put ${kind} on ${scope}, which holds the guard's ${reached}`, evidence: { scope, selfResource: reached } };
  }
  const own = ownResourcePrefix(id, policy);
  if (own !== undefined) {
    return { title: `changed governance resource ${id.split("/").pop() ?? id}`, what: `changed the guard's own resource ${id}`, evidence: { selfResource: own } };
  }
  if (facts.change === "role-definition-change" && facts.selfRoleDefinition === true) {
    return { title: "changed a role the governance app holds", what: `changed the custom role ${id}, which the guard's own identity (${policy.self.objectId ?? "self"}) holds`, evidence: { selfObjectId: policy.self.objectId, roleDefinitionId: id } };
  }
  if (facts.change === "role-assignment-delete" && facts.selfRoleAssignment === true) {
    return { title: "removed a role of the governance app", what: `deleted a role assignment of the guard's own identity (${policy.self.objectId ?? "self"})`, evidence: { selfObjectId: policy.self.objectId } };
  }
  return undefined;
}
