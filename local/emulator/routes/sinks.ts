import type { EstateStore } from "../store.js";
import { armError, json, type EmulatorRequest, type EmulatorResponse } from "../http.js";
import { compileQuery, LOG_ANALYTICS, QueryError } from "../kql/index.js";

export type SinkName = "teams" | "sentinel" | "eventgrid" | "appinsights";

/** What each sink received: request bodies in arrival order (`appinsights`: telemetry envelopes, one by one). */
export class SinkCapture {
  readonly received: Record<SinkName, unknown[]> = { teams: [], sentinel: [], eventgrid: [], appinsights: [] };
}

const LOGS_INGESTION_LIMIT = 1024 * 1024;
const TEAMS_LIMIT = 28 * 1024;

/** Logs Ingestion API: `POST /dataCollectionRules/{dcr}/streams/{stream}`; 1 MB per call. */
export function handleLogsIngestion(capture: SinkCapture, request: EmulatorRequest): EmulatorResponse {
  const match = /^\/ingestion\/datacollectionrules\/(dcr-[0-9a-f]{32})\/streams\/(custom-[a-z0-9_-]+)$/.exec(request.path);
  if (request.method !== "POST" || !match) return armError(404, "NotFound", `No route for ${request.url.pathname}`);
  if (request.rawBody.length > LOGS_INGESTION_LIMIT) return armError(413, "ContentLengthLimitExceeded", "Maximum allowed content length: 1048576 bytes.");
  if (!Array.isArray(request.body)) return armError(400, "InvalidContent", "The request body must be a JSON array.");
  capture.received.sentinel.push(request.body);
  return { status: 204 };
}

/** Event Grid topic publish: an array of CloudEvents (or Event Grid events). */
export function handleEventGrid(capture: SinkCapture, request: EmulatorRequest): EmulatorResponse {
  if (request.method !== "POST" || request.path !== "/eventgrid/api/events") return armError(404, "NotFound", `No route for ${request.url.pathname}`);
  const events = Array.isArray(request.body) ? request.body : [request.body];
  const malformed = events.find((event) => !event || typeof event !== "object" || !("id" in event) || !("type" in event || "eventType" in event));
  if (malformed !== undefined) return armError(400, "BadRequest", "Every event needs an id and a type.");
  capture.received.eventgrid.push(request.body);
  return json(200, undefined);
}

/** Teams Workflows webhook: an Adaptive Card message, at most 28 KB. */
export function handleTeams(capture: SinkCapture, request: EmulatorRequest): EmulatorResponse {
  if (request.method !== "POST" || !request.path.startsWith("/teams/")) return armError(404, "NotFound", `No route for ${request.url.pathname}`);
  if (request.rawBody.length > TEAMS_LIMIT) return { status: 413, body: { error: { code: "MessageSizeTooBig", message: "Message size exceeds 28 KB." } } };
  const body = request.body as { type?: unknown; attachments?: unknown } | null;
  if (!body || body.type !== "message" || !Array.isArray(body.attachments)) {
    return { status: 400, body: { error: { code: "BadRequest", message: "Expected {type: 'message', attachments: [...]}" } } };
  }
  capture.received.teams.push(request.body);
  return { status: 202 };
}

/**
 * Log Analytics query API (`POST /v1/workspaces/{id}/query`): the query is executed over the estate's
 * `signIns` as rows of AADManagedIdentitySignInLogs, within the request's `timespan` (ISO 8601 duration).
 * Errors in the API's shape: `{error: {code: "BadArgumentError", message, innererror: {code, message}}}`.
 */
export function handleLogAnalytics(store: EstateStore, request: EmulatorRequest): EmulatorResponse {
  const match = /^\/loganalytics\/v1\/workspaces\/([^/]+)\/query$/.exec(request.path);
  if (request.method !== "POST" || !match) return armError(404, "PathNotFoundError", `No route for ${request.url.pathname}`);
  const body = request.body as { query?: unknown; timespan?: unknown } | null;
  if (typeof body?.query !== "string" || body.query.trim() === "") return armError(400, "BadArgumentError", "The request had some invalid properties: query is required.");
  const now = new Date();
  const windowMs = typeof body.timespan === "string" ? isoDurationMs(body.timespan) : undefined;
  let result;
  try {
    result = compileQuery(body.query, LOG_ANALYTICS).run((table, push) => {
      if (table !== "AADManagedIdentitySignInLogs") return;
      for (const signIn of store.signIns) {
        const time = new Date(signIn.lastSignIn);
        if (windowMs !== undefined && now.getTime() - time.getTime() > windowMs) continue;
        push({ TimeGenerated: time, Id: "", ServicePrincipalId: signIn.servicePrincipalId, ServicePrincipalName: "", AppId: "", ResourceIdentity: "", ResourceDisplayName: "", ResultType: "0", IPAddress: "", CorrelationId: "", TenantId: store.tenantId, Type: "AADManagedIdentitySignInLogs" });
      }
    }, now);
  } catch (error) {
    if (!(error instanceof QueryError)) throw error;
    return { status: 400, body: { error: { code: "BadArgumentError", message: "The request had some invalid properties", innererror: { code: error.code, message: error.message } } } };
  }
  return json(200, {
    tables: [
      {
        name: "PrimaryResult",
        columns: result.columns.map((column) => ({ name: column.name, type: column.type })),
        rows: result.rows.map((row) => result.columns.map((column) => row[column.name] ?? null)),
      },
    ],
  });
}

/** `P30D`, `PT12H`, `P1DT2H30M` → milliseconds. */
function isoDurationMs(text: string): number | undefined {
  const match = /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(text.trim());
  if (!match) return undefined;
  const [, days, hours, minutes, seconds] = match;
  return Number(days ?? 0) * 86_400_000 + Number(hours ?? 0) * 3_600_000 + Number(minutes ?? 0) * 60_000 + Number(seconds ?? 0) * 1000;
}
