import type { AzureClients } from "./clients.js";
import type { DeliveryMetrics } from "../model.js";
import { subscriptionOf } from "../model.js";
import { ServiceCallFailed, toServiceCallFailed } from "../errors.js";

/**
 * Event Grid's own delivery metrics of a system topic, through Azure Monitor's metrics API ("Metrics - List",
 * `GET {resourceUri}/providers/Microsoft.Insights/metrics`, api-version 2024-02-01; response shape as
 * azure-rest-api-specs specification/monitor/resource-manager/Microsoft.Insights/stable/2024-02-01/examples/GetMetric.json
 * @f7b84a5c). Client: `@azure/arm-monitor`, which Microsoft names as the replacement of `@azure/monitor-query`'s
 * deprecated MetricsQueryClient (`@azure/monitor-query-metrics` holds only the regional metrics:getBatch API).
 * Metric names and their Total aggregation: Learn "Supported metrics for Microsoft.EventGrid/systemTopics".
 */
export const DELIVERY_METRIC_NAMES = ["DroppedEventCount", "DeadLetteredCount", "DeliveryAttemptFailCount"] as const;
const METRIC_NAMESPACE = "Microsoft.EventGrid/systemTopics";
/** One point per hour: the sum over the lookback is what counts, and hourly grain is offered for every span. */
const INTERVAL = "PT1H";

/**
 * The Total of each delivery metric over the last `lookbackHours` up to `now`. Anything short of an answer for
 * every metric — a failed call, a metric reported with an error, a metric missing — throws: a read that fails
 * is never "no failed deliveries".
 */
export async function readDeliveryMetrics(clients: AzureClients, systemTopicId: string, lookbackHours: number, now: Date): Promise<DeliveryMetrics> {
  const start = new Date(now.getTime() - lookbackHours * 3_600_000);
  let response;
  try {
    const client = await clients.monitor(subscriptionOf(systemTopicId) ?? "00000000-0000-0000-0000-000000000000");
    // The SDK's URL template adds the slash before the resource id itself.
    response = await client.metrics.list(systemTopicId.replace(/^\/+/, ""), {
      timespan: `${start.toISOString()}/${now.toISOString()}`,
      interval: INTERVAL,
      metricnames: DELIVERY_METRIC_NAMES.join(","),
      aggregation: "Total",
      metricnamespace: METRIC_NAMESPACE,
    });
  } catch (error) {
    throw toServiceCallFailed("arm", error);
  }
  const totals: Record<string, number> = {};
  for (const metric of response.value ?? []) {
    const name = DELIVERY_METRIC_NAMES.find((wanted) => wanted.toLowerCase() === (metric.name?.value ?? "").toLowerCase());
    if (!name) continue;
    if (metric.errorCode && metric.errorCode !== "Success") {
      throw new ServiceCallFailed("arm", undefined, `arm: metric ${name} of ${systemTopicId}: ${metric.errorCode}${metric.errorMessage ? ` ${metric.errorMessage}` : ""}`);
    }
    totals[name] = (metric.timeseries ?? []).flatMap((series) => series.data ?? []).reduce((sum, point) => sum + (typeof point.total === "number" && Number.isFinite(point.total) ? point.total : 0), 0);
  }
  const missing = DELIVERY_METRIC_NAMES.filter((name) => totals[name] === undefined);
  if (missing.length > 0) throw new ServiceCallFailed("arm", undefined, `arm: Azure Monitor answered no ${missing.join(", ")} for ${systemTopicId}`);
  return {
    systemTopicId,
    DroppedEventCount: totals["DroppedEventCount"] ?? 0,
    DeadLetteredCount: totals["DeadLetteredCount"] ?? 0,
    DeliveryAttemptFailCount: totals["DeliveryAttemptFailCount"] ?? 0,
  };
}
