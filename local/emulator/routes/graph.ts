import type { EstateStore } from "../store.js";
import { graphError, json, type EmulatorRequest, type EmulatorResponse } from "../http.js";

const GUID = /^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$/i;
const MAX_IDS = 1000;

/** Microsoft Graph `POST /v1.0/directoryObjects/getByIds`: ids that do not resolve are simply absent. */
export function handleGraph(store: EstateStore, request: EmulatorRequest): EmulatorResponse {
  if (request.method !== "POST" || request.path !== "/graph/v1.0/directoryobjects/getbyids") {
    return graphError(404, "Request_ResourceNotFound", `Resource not found for the segment '${request.url.pathname}'.`);
  }
  const body = request.body as { ids?: unknown; types?: unknown } | null;
  if (!body || !Array.isArray(body.ids)) return graphError(400, "Request_BadRequest", "The request body must contain 'ids'.");
  if (body.ids.length > MAX_IDS) {
    return graphError(400, "Request_BadRequest", `The number of ids in the request (${body.ids.length}) exceeds the limit of ${MAX_IDS}.`);
  }
  const invalid = body.ids.find((id) => typeof id !== "string" || !GUID.test(id));
  if (invalid !== undefined) return graphError(400, "Request_BadRequest", `Invalid object identifier '${String(invalid)}'.`);
  const types = Array.isArray(body.types) ? new Set((body.types as unknown[]).map((type) => String(type).toLowerCase())) : undefined;
  const value = (body.ids as string[]).flatMap((id) => {
    const entry = store.directory.get(id.toLowerCase());
    if (!entry) return [];
    const kind = entry["@odata.type"].replace(/^#microsoft\.graph\./i, "").toLowerCase();
    return types && !types.has(kind) ? [] : [entry];
  });
  return json(200, { "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects", value });
}
