import type { SubscriptionEventDelivery } from "../model.js";
import { OPERATIONS } from "../events/operations.js";
import type { FindingDraft, InventoryRule } from "./types.js";
import { sh } from "./lib/commands.js";
import { EVENT_FUNCTION, judgeDelivery, summarizeReasons, type DeliveryVerdict } from "./lib/eventDelivery.js";

/**
 * A subscription the sweep read whose changes do not all reach the guard in real time: its
 * `Microsoft.Resources.Subscriptions` system topics have no event subscriptions that, between them, deliver
 * every operation of the app's table to its onResourceEvent function (judged in lib/eventDelivery.ts: provisioned,
 * unexpired, event types, subject and advanced filters, destination). Off without `self.functionAppId`; a
 * subscription whose event subscriptions could not be listed is an incomplete check, not a finding.
 */
export const rule: InventoryRule = {
  kind: "inventory",
  meta: {
    id: "event-coverage-missing",
    title: "Subscription not watched by Event Grid",
    severity: "high",
    category: "guard",
    docs: { url: "docs/rules/event-coverage-missing.md" },
    needs: ["event-coverage"],
    description:
      "A subscription the sweep read has no Event Grid event subscriptions that deliver its changes to the guard: on a provisioned Microsoft.Resources.Subscriptions system topic, provisioned and unexpired, for ResourceWriteSuccess, ResourceDeleteSuccess and ResourceActionSuccess, with no subject filter and no advanced filter that drops an operation the app watches, to the app's onResourceEvent function. Only when self.functionAppId is set.",
    risk: "Attachments, grants and federated credentials made in this subscription are only seen by the next sweep, hours later, instead of within seconds; an event subscription that is expired, failed, filtered to nothing or pointed elsewhere switches real-time detection off as silently as a deleted one.",
    remediation: (finding) => {
      const subscription = finding.subjectId.split("/")[2] ?? "<subscription id>";
      const functionId = typeof finding.evidence["expectedFunctionAppId"] === "string" ? `${finding.evidence["expectedFunctionAppId"]}/functions/onResourceEvent` : "<function app id>/functions/onResourceEvent";
      return {
        summary: "Deploy the event plumbing for this subscription (infra/app/governed-events.bicep via `azd provision` with the subscription in UAMI_GUARD_SUBSCRIPTIONS), or create the event subscription by hand.",
        cli: [
          `az eventgrid system-topic list --subscription ${sh(subscription)} --query "[?topicType=='Microsoft.Resources.Subscriptions']" --output table`,
          `az eventgrid system-topic event-subscription create --subscription ${sh(subscription)} --resource-group <topic resource group> --system-topic-name <topic name> --name uami-guard --endpoint-type azurefunction --endpoint ${sh(functionId)}`,
        ],
      };
    },
  },
  evaluate(index, policy): FindingDraft[] {
    const functionAppId = policy.self.functionAppId;
    const delivery = index.inventory.eventDelivery;
    if (!functionAppId || !delivery) return [];
    const findings: FindingDraft[] = [];
    const context = { functionAppId, now: index.inventory.now, operations: WATCHED_OPERATIONS };
    // The engine read the subscriptions the sweep covers; one whose read failed is not in the map.
    for (const [, read] of [...delivery].sort(([a], [b]) => a.localeCompare(b))) {
      const verdict = judgeDelivery(read, context);
      if (!verdict.delivers) findings.push(finding(read, verdict, functionAppId));
    }
    return findings;
  },
};

const WATCHED_OPERATIONS = Object.keys(OPERATIONS);
const MAX_MISSING_LISTED = 25;

function finding(read: SubscriptionEventDelivery, verdict: DeliveryVerdict, functionAppId: string): FindingDraft {
  const subjectId = `/subscriptions/${read.subscriptionId}`;
  const topics = read.systemTopics.filter((topic) => topic.topicType.toLowerCase() === "microsoft.resources.subscriptions");
  const why =
    topics.length === 0
      ? "has no Microsoft.Resources.Subscriptions system topic"
      : verdict.eventSubscriptions.length === 0
        ? "has a system topic but no event subscription"
        : `has no event subscription that delivers every watched operation to the guard's ${EVENT_FUNCTION} function (${summarizeReasons(verdict)})`;
  return {
    ruleId: "event-coverage-missing",
    severity: "high",
    subjectId,
    title: `Subscription ${read.subscriptionId} is not watched in real time`,
    message: `Subscription ${read.subscriptionId} ${why}: its changes are only seen by the sweep.`,
    evidence: {
      expectedFunctionAppId: functionAppId,
      expectedDestination: `${functionAppId}/functions/${EVENT_FUNCTION}`,
      systemTopics: topics.map((topic) => ({ id: topic.id, provisioningState: topic.provisioningState })),
      eventSubscriptions: verdict.eventSubscriptions.map((entry) => {
        const destination = topics.flatMap((topic) => topic.eventSubscriptions).find((subscription) => subscription.id === entry.id)?.destination;
        return {
          id: entry.id,
          endpointType: destination?.endpointType ?? "",
          ...(destination?.resourceId ? { resourceId: destination.resourceId } : {}),
          ...(destination?.endpointBaseUrl ? { endpointBaseUrl: destination.endpointBaseUrl } : {}),
          delivers: entry.reasons.length === 0,
          operationsKept: entry.keeps.size,
          reasons: entry.reasons,
        };
      }),
      missingOperations: verdict.missing.slice(0, MAX_MISSING_LISTED),
      missingOperationCount: verdict.missing.length,
      watchedOperationCount: WATCHED_OPERATIONS.length,
    },
  };
}
