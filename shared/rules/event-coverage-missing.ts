import type { EventDestination, SubscriptionEventDelivery } from "../model.js";
import type { FindingDraft, InventoryRule } from "./types.js";
import { sh } from "./lib/commands.js";

/**
 * A subscription the sweep read whose changes never reach the guard in real time: none of its
 * `Microsoft.Resources.Subscriptions` system topics has an event subscription delivering to the
 * Function App (`self.functionAppId`). Off without `self.functionAppId`; a subscription whose event
 * subscriptions could not be listed is an incomplete check, not a finding.
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
      "A subscription the sweep read has no Event Grid system topic (topicType Microsoft.Resources.Subscriptions) with an event subscription whose destination is the guard's Function App. Only when self.functionAppId is set.",
    risk: "Attachments, grants and federated credentials made in this subscription are only seen by the next sweep, hours later, instead of within seconds; a deleted event subscription silently switches real-time detection off.",
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
    // The engine read the subscriptions the sweep covers; one whose read failed is not in the map.
    for (const [, read] of [...delivery].sort(([a], [b]) => a.localeCompare(b))) {
      if (read.destinations.some((destination) => deliversTo(destination, functionAppId))) continue;
      findings.push(finding(read, functionAppId));
    }
    return findings;
  },
};

function finding(read: SubscriptionEventDelivery, functionAppId: string): FindingDraft {
  const subjectId = `/subscriptions/${read.subscriptionId}`;
  const why = read.systemTopicIds.length === 0 ? "has no Microsoft.Resources.Subscriptions system topic" : "has no event subscription delivering to the guard";
  return {
    ruleId: "event-coverage-missing",
    severity: "high",
    subjectId,
    title: `Subscription ${read.subscriptionId} is not watched in real time`,
    message: `Subscription ${read.subscriptionId} ${why} (${functionAppId}): its changes are only seen by the sweep.`,
    evidence: {
      expectedFunctionAppId: functionAppId,
      systemTopics: read.systemTopicIds,
      eventSubscriptions: read.destinations.map((destination) => ({
        id: destination.eventSubscriptionId,
        endpointType: destination.endpointType,
        ...(destination.resourceId ? { resourceId: destination.resourceId } : {}),
        ...(destination.endpointBaseUrl ? { endpointBaseUrl: destination.endpointBaseUrl } : {}),
      })),
    },
  };
}

/**
 * An AzureFunction destination names a function of the app (`<app id>/functions/<name>`); a WebHook
 * names the app's host: `<name>.azurewebsites.net`, or the unique default hostname
 * `<name>-<hash>.<region>.azurewebsites.net` that apps created since June 2024 may get (MicrosoftDocs/azure-docs
 * articles/app-service/includes/regionalization-note.md: "myapp-ds27dh7271aah175.westus-01.azurewebsites.net").
 */
export function deliversTo(destination: EventDestination, functionAppId: string): boolean {
  const type = destination.endpointType.toLowerCase();
  if (type === "azurefunction") return (destination.resourceId ?? "").toLowerCase().startsWith(`${functionAppId.toLowerCase().replace(/\/+$/, "")}/functions/`);
  if (type !== "webhook" || !destination.endpointBaseUrl) return false;
  let host: string;
  try {
    host = new URL(destination.endpointBaseUrl).hostname.toLowerCase();
  } catch {
    return false;
  }
  const name = (functionAppId.split("/").filter(Boolean).pop() ?? "").toLowerCase();
  if (!name) return false;
  if (host === `${name}.azurewebsites.net`) return true;
  const unique = /^([a-z0-9-]+)-[a-z0-9]{16}\.[a-z0-9-]+\.azurewebsites\.net$/.exec(host);
  return unique?.[1] === name;
}
