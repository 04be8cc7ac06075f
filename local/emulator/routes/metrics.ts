import type { EstateStore } from "../store.js";
import { armError, json, type EmulatorRequest, type EmulatorResponse } from "../http.js";

/**
 * Azure Monitor "Metrics - List" (`GET {resourceUri}/providers/Microsoft.Insights/metrics`), answered from the
 * estate's `metrics` (totals per resource) in the shape of azure-rest-api-specs
 * specification/monitor/resource-manager/Microsoft.Insights/stable/2024-02-01/examples/GetMetric.json @f7b84a5c:
 * `{cost, timespan, interval, value: [{id, type, name: {value, localizedValue}, displayDescription, unit,
 * timeseries: [{metadatavalues, data: [{timeStamp, total}]}], errorCode}], namespace, resourceregion}`. Only
 * Event Grid system topics have metrics here (Learn "Supported metrics for Microsoft.EventGrid/systemTopics");
 * a metric the namespace lacks is a 400, a resource the estate lacks a 404, as Azure answers.
 */
const METRICS_SUFFIX = "/providers/microsoft.insights/metrics";
const NAMESPACE = "microsoft.eventgrid/systemtopics";
const SYSTEM_TOPIC_METRICS: Record<string, { localizedValue: string; description: string }> = {
  DroppedEventCount: { localizedValue: "Dropped Events", description: "Total dropped events matching to this event subscription" },
  DeadLetteredCount: { localizedValue: "Dead Lettered Events", description: "Total dead lettered events matching to this event subscription" },
  DeliveryAttemptFailCount: { localizedValue: "Delivery Failed Events", description: "Total events failed to deliver to this event subscription" },
  DeliverySuccessCount: { localizedValue: "Delivered Events", description: "Total events delivered to this event subscription" },
  MatchedEventCount: { localizedValue: "Matched Events", description: "Total events matched to this event subscription" },
  PublishSuccessCount: { localizedValue: "Published Events", description: "Total events published to this topic" },
};
const MAX_POINTS = 1_500;

export function isMetricsPath(path: string): boolean {
  return path.endsWith(METRICS_SUFFIX);
}

/** ISO 8601 durations Azure Monitor takes as an interval (PT1M … P1D), in ms; FULL is the whole span. */
function intervalMs(interval: string): number | "full" | undefined {
  if (interval.toUpperCase() === "FULL") return "full";
  const match = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/i.exec(interval);
  if (!match || interval.toUpperCase() === "P" || interval.toUpperCase() === "PT") return undefined;
  const ms = (Number(match[1] ?? 0) * 24 * 60 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0)) * 60_000;
  return ms > 0 ? ms : undefined;
}

export function handleMetrics(store: EstateStore, request: EmulatorRequest): EmulatorResponse {
  if (request.method !== "GET") return armError(405, "MethodNotAllowed", `The method '${request.method}' is not allowed.`);
  const query = request.url.searchParams;
  if (!query.get("api-version")) return armError(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.");
  const resourceKey = request.path.slice(0, -METRICS_SUFFIX.length);
  const resource = store.resources.get(resourceKey);
  if (!resource) return armError(404, "ResourceNotFound", `The Resource '${request.url.pathname.slice(0, -METRICS_SUFFIX.length)}' was not found.`);
  const namespace = (query.get("metricnamespace") ?? resource.type).toLowerCase();
  if (resource.type.toLowerCase() !== NAMESPACE || namespace !== NAMESPACE) {
    return armError(400, "BadRequest", `Failed to find metric configuration for provider: ${resource.type}, resource Id: ${request.url.pathname.slice(0, -METRICS_SUFFIX.length)}, metric namespace: ${namespace}`);
  }
  const names = (query.get("metricnames") ?? "").split(",").map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !Object.keys(SYSTEM_TOPIC_METRICS).some((known) => known.toLowerCase() === name.toLowerCase()));
  if (names.length === 0 || unknown.length > 0) {
    return armError(400, "BadRequest", `Failed to find metric configuration for provider: Microsoft.EventGrid, resource Id: ${request.url.pathname.slice(0, -METRICS_SUFFIX.length)}, metric: ${unknown[0] ?? "(none)"}, Valid metrics: ${Object.keys(SYSTEM_TOPIC_METRICS).join(",")}`);
  }
  const aggregation = (query.get("aggregation") ?? "average").toLowerCase();
  const now = Date.now();
  const [startText, endText] = (query.get("timespan") ?? `${new Date(now - 3_600_000).toISOString()}/${new Date(now).toISOString()}`).split("/");
  const start = Date.parse(startText ?? "");
  const end = Date.parse(endText ?? "");
  if (Number.isNaN(start) || Number.isNaN(end) || end <= start) return armError(400, "BadRequest", `Invalid timespan '${query.get("timespan") ?? ""}'.`);
  const step = intervalMs(query.get("interval") ?? "PT1M");
  if (step === undefined) return armError(400, "BadRequest", `Invalid interval '${query.get("interval") ?? ""}'.`);
  const width = step === "full" ? end - start : step;
  const points = Math.ceil((end - start) / width);
  if (points > MAX_POINTS) return armError(400, "BadRequest", `The requested interval ${query.get("interval") ?? ""} gives more than ${MAX_POINTS} points over the timespan.`);
  const totals = store.metricsOf(resourceKey) ?? {};
  const value = names.map((requested) => {
    const name = Object.keys(SYSTEM_TOPIC_METRICS).find((known) => known.toLowerCase() === requested.toLowerCase()) ?? requested;
    const total = totals[name] ?? 0;
    // The estate holds a total for the span: it lands in the last point, the others are 0.
    const data = Array.from({ length: points }, (_, index) => ({
      timeStamp: new Date(start + index * width).toISOString().replace(/\.000Z$/, "Z"),
      ...(aggregation.split(",").includes("total") ? { total: index === points - 1 ? total : 0 } : {}),
      ...(aggregation.split(",").includes("count") ? { count: index === points - 1 ? total : 0 } : {}),
    }));
    return {
      id: `${request.url.pathname.slice(0, -METRICS_SUFFIX.length)}/providers/Microsoft.Insights/metrics/${name}`,
      type: "Microsoft.Insights/metrics",
      name: { value: name, localizedValue: SYSTEM_TOPIC_METRICS[name]?.localizedValue ?? name },
      displayDescription: SYSTEM_TOPIC_METRICS[name]?.description ?? "",
      unit: "Count",
      timeseries: [{ metadatavalues: [], data }],
      errorCode: "Success",
    };
  });
  return json(200, {
    cost: points * names.length,
    timespan: `${new Date(start).toISOString()}/${new Date(end).toISOString()}`,
    interval: step === "full" ? "FULL" : (query.get("interval") ?? "PT1M"),
    value,
    namespace: NAMESPACE,
    resourceregion: resource.location ?? "global",
  });
}
