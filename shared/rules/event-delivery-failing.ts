import { z } from "zod";
import type { DeliveryMetrics } from "../model.js";
import type { FindingDraft, InventoryRule } from "./types.js";
import { sh } from "./lib/commands.js";

const COUNTS = ["DroppedEventCount", "DeadLetteredCount", "DeliveryAttemptFailCount"] as const;

/** `coverage.metricsLookbackHours`: how far back the metrics are read (Azure Monitor keeps platform metrics 93 days). */
const OPTIONS = {
  coverage: z
    .strictObject({ metricsLookbackHours: z.number().int().min(1).max(720).default(24) })
    .default({ metricsLookbackHours: 24 }),
};

/**
 * A system topic that delivers to the app whose Event Grid metrics show dropped, dead-lettered or failed
 * deliveries over the last `coverage.metricsLookbackHours`: events the guard should have seen and did not, or
 * saw late. Off without `self.functionAppId`; a topic whose metrics could not be read is an incomplete check
 * (`event-delivery-metrics`), never healthy.
 */
export const rule: InventoryRule<typeof OPTIONS> = {
  kind: "inventory",
  meta: {
    id: "event-delivery-failing",
    title: "Event Grid deliveries to the guard are failing",
    severity: "high",
    category: "guard",
    docs: { url: "docs/rules/event-delivery-failing.md" },
    // Which topics deliver to the app comes from the event subscriptions; their counts from the metrics.
    needs: ["event-coverage", "event-delivery-metrics"],
    options: OPTIONS,
    description:
      "Event Grid's own metrics for a Microsoft.Resources.Subscriptions system topic that delivers to the guard's onResourceEvent function show dropped (DroppedEventCount), dead-lettered (DeadLetteredCount) or failed (DeliveryAttemptFailCount) deliveries in the last coverage.metricsLookbackHours (default 24), read through Azure Monitor's metrics API. Only when self.functionAppId is set.",
    risk: "A dead endpoint, a throttled or stopped app, or a function that keeps failing loses or delays the events of a whole subscription: changes made in that window are only seen by the next sweep, hours later, and a dropped event is never seen by the event rules at all.",
    remediation: (finding) => {
      const topic = finding.subjectId;
      return {
        summary:
          "Check the Function App is running and healthy (its `failed` events, Application Insights exceptions), then read the dead-lettered events from the eventgrid-deadletter container and replay them (`uami-guard replay`); run a sweep to catch up on what was dropped.",
        cli: [
          `az monitor metrics list --resource ${sh(topic)} --metrics DroppedEventCount DeadLetteredCount DeliveryAttemptFailCount --aggregation Total --interval PT1H --offset 24h --output table`,
          `az eventgrid system-topic event-subscription list --ids ${sh(topic)} --query "[].{name:name, state:provisioningState}" --output table`,
          "az storage blob list --account-name <guard storage account> --container-name eventgrid-deadletter --auth-mode login --output table",
        ],
      };
    },
  },
  evaluate(index, policy): FindingDraft[] {
    if (!policy.self.functionAppId) return [];
    const metrics = index.inventory.deliveryMetrics;
    if (!metrics) return [];
    const lookbackHours = policy.coverage.metricsLookbackHours;
    return [...metrics.values()]
      .filter((read) => COUNTS.some((name) => read[name] > 0))
      .sort((a, b) => a.systemTopicId.localeCompare(b.systemTopicId))
      .map((read) => finding(read, lookbackHours));
  },
};

function finding(read: DeliveryMetrics, lookbackHours: number): FindingDraft {
  const counts = Object.fromEntries(COUNTS.map((name) => [name, read[name]]));
  const what = [
    read.DroppedEventCount > 0 ? `${read.DroppedEventCount} dropped` : "",
    read.DeadLetteredCount > 0 ? `${read.DeadLetteredCount} dead-lettered` : "",
    read.DeliveryAttemptFailCount > 0 ? `${read.DeliveryAttemptFailCount} failed delivery attempts` : "",
  ].filter(Boolean);
  const name = read.systemTopicId.split("/").pop() ?? read.systemTopicId;
  return {
    ruleId: "event-delivery-failing",
    severity: "high",
    subjectId: read.systemTopicId,
    title: `Event Grid deliveries of ${name} to the guard are failing`,
    message: `System topic ${read.systemTopicId} had ${what.join(", ")} in the last ${lookbackHours} h: events of its subscription were lost or late.`,
    evidence: { ...counts, lookbackHours },
  };
}
