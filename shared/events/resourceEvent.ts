import { z } from "zod";

/**
 * A subscription system-topic event, normalised from either the Event Grid schema or CloudEvents
 * 1.0. Only what the handlers need; the caller comes from the token claims ARM copied into it.
 */
export interface ResourceEvent {
  id: string;
  eventType: string;
  eventTime: string;
  operationName: string;
  resourceUri: string;
  status: string;
  subscriptionId: string;
  correlationId?: string;
  caller: Caller;
}

export interface Caller {
  appId?: string;
  objectId?: string;
  /** UPN or name for a user; absent for an app-only token. */
  upn?: string;
  /** A delegated (user) token: it has a scope claim, or idtyp says user. */
  delegated: boolean;
}

export const MAX_EVENT_BYTES = 1024 * 1024;
export const SYSTEM_TOPIC_EVENT_TYPES = [
  "Microsoft.Resources.ResourceWriteSuccess",
  "Microsoft.Resources.ResourceDeleteSuccess",
  "Microsoft.Resources.ResourceActionSuccess",
] as const;

const OBJECT_ID_CLAIM = "http://schemas.microsoft.com/identity/claims/objectidentifier";
const SCOPE_CLAIM = "http://schemas.microsoft.com/identity/claims/scope";
const UPN_CLAIMS = ["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn", "upn", "unique_name", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"];

const dataSchema = z.looseObject({
  operationName: z.string().min(1),
  resourceUri: z.string().startsWith("/", "must be an ARM id"),
  status: z.string().optional(),
  subscriptionId: z.string().optional(),
  correlationId: z.string().optional(),
  claims: z.record(z.string(), z.unknown()).optional(),
});

const eventGridSchema = z.looseObject({
  id: z.string().min(1),
  eventType: z.string().min(1),
  eventTime: z.string().min(1),
  subject: z.string().optional(),
  data: dataSchema,
});

const cloudEventSchema = z.looseObject({
  specversion: z.literal("1.0"),
  id: z.string().min(1),
  type: z.string().min(1),
  time: z.string().optional(),
  source: z.string().optional(),
  data: dataSchema,
});

export type ParsedEvent = { ok: true; event: ResourceEvent } | { ok: false; id: string; reason: string };

function text(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}

export function callerOf(claims: Record<string, unknown> | undefined): Caller {
  if (!claims) return { delegated: false };
  const caller: Caller = {
    delegated: text(claims[SCOPE_CLAIM]) !== undefined || text(claims["scp"]) !== undefined || text(claims["idtyp"])?.toLowerCase() === "user",
  };
  const appId = text(claims["appid"]) ?? text(claims["azp"]);
  const objectId = text(claims[OBJECT_ID_CLAIM]) ?? text(claims["oid"]);
  const upn = UPN_CLAIMS.map((claim) => text(claims[claim])).find((value) => value !== undefined);
  if (appId) caller.appId = appId;
  if (objectId) caller.objectId = objectId;
  if (upn) caller.upn = upn;
  return caller;
}

function idOf(raw: unknown): string {
  if (raw && typeof raw === "object" && typeof (raw as { id?: unknown }).id === "string") return (raw as { id: string }).id.slice(0, 200);
  return "(no id)";
}

/** Never throws: a malformed event comes back as `ok: false` with its id and what is wrong. */
export function parseResourceEvent(raw: unknown, sizeBytes?: number): ParsedEvent {
  const id = idOf(raw);
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return { ok: false, id, reason: "event is not a JSON object" };
  const size = sizeBytes ?? Buffer.byteLength(JSON.stringify(raw));
  if (size > MAX_EVENT_BYTES) return { ok: false, id, reason: `event is ${size} bytes, over the ${MAX_EVENT_BYTES}-byte limit` };
  const isCloudEvent = "specversion" in raw;
  const parsed = isCloudEvent ? cloudEventSchema.safeParse(raw) : eventGridSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? issue.path.join(".") || "(root)" : "(root)";
    return { ok: false, id, reason: `${where}: ${issue?.message ?? "invalid"}` };
  }
  const data = parsed.data.data;
  const eventType = isCloudEvent ? String(parsed.data["type"]) : String(parsed.data["eventType"]);
  const eventTime = String((isCloudEvent ? parsed.data["time"] : parsed.data["eventTime"]) ?? "");
  const subscriptionId = data.subscriptionId ?? /^\/subscriptions\/([^/]+)/i.exec(data.resourceUri)?.[1] ?? "";
  const event: ResourceEvent = {
    id: parsed.data.id,
    eventType,
    eventTime,
    operationName: data.operationName,
    resourceUri: data.resourceUri,
    status: data.status ?? "Succeeded",
    subscriptionId,
    caller: callerOf(data.claims),
  };
  if (data.correlationId) event.correlationId = data.correlationId;
  return { ok: true, event };
}
