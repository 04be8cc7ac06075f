import { armError, json, type EmulatorRequest, type EmulatorResponse } from "../http.js";
import type { SinkCapture } from "./sinks.js";

/**
 * Application Insights ingestion ("Breeze"): `POST {IngestionEndpoint}/v2.1/track`, a JSON array of
 * envelopes, gzip-encoded as the exporter sends it (the server decodes Content-Encoding: gzip). The
 * answer is Breeze's `{ itemsReceived, itemsAccepted, errors }`: an envelope without `name`, `time`,
 * `iKey` or `data.baseType` is rejected with its index and 400, as the Track API does
 * (@azure/monitor-opentelemetry-exporter src/generated: TrackResponse, TelemetryErrorDetails).
 */
const BODY_LIMIT = 64 * 1024 * 1024;

export function handleAppInsights(capture: SinkCapture, request: EmulatorRequest): EmulatorResponse {
  if (request.method !== "POST" || request.path !== "/v2.1/track") return armError(404, "NotFound", `No route for ${request.url.pathname}`);
  if (request.rawBody.length > BODY_LIMIT) return { status: 413, body: { itemsReceived: 0, itemsAccepted: 0, errors: [{ index: 0, statusCode: 413, message: "Payload too large" }] } };
  const envelopes = Array.isArray(request.body) ? (request.body as unknown[]) : [request.body];
  const errors: Array<{ index: number; statusCode: number; message: string }> = [];
  envelopes.forEach((envelope, index) => {
    const item = envelope as { name?: unknown; time?: unknown; iKey?: unknown; data?: { baseType?: unknown } } | null;
    if (!item || typeof item.name !== "string" || typeof item.time !== "string" || typeof item.iKey !== "string" || typeof item.data?.baseType !== "string") {
      errors.push({ index, statusCode: 400, message: "Invalid telemetry item: name, time, iKey and data.baseType are required" });
      return;
    }
    capture.received.appinsights.push(item);
  });
  const body = { itemsReceived: envelopes.length, itemsAccepted: envelopes.length - errors.length, errors };
  return json(errors.length === 0 ? 200 : errors.length === envelopes.length ? 400 : 206, body);
}
