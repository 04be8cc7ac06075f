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

/** Longest ARM id accepted (docs/guarantees.md "Canonical ids only"). */
export const MAX_RESOURCE_ID_LENGTH = 2048;
/** Event Grid's system topics send GUIDs; a longer id cannot be one of theirs, nor a Table property we can keep. */
export const MAX_EVENT_ID_LENGTH = 1024;
/** Real system-topic events nest about five levels; anything far deeper is poison (and would overflow recursive code). */
export const MAX_EVENT_DEPTH = 32;

function idOf(raw: unknown): string {
  try {
    if (raw && typeof raw === "object" && !Array.isArray(raw) && Object.hasOwn(raw, "id")) {
      const id = (raw as { id?: unknown }).id;
      if (typeof id === "string") return printable(id.slice(0, 200));
    }
  } catch {
    // A getter or proxy that throws: the event has no usable id.
  }
  return "(no id)";
}

/** Control characters shown as \uXXXX, so an id can be logged and printed on one line. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Walks the event without recursion: its depth and roughly its JSON size, stopping at the first bound
 * passed. (JSON.stringify and recursive validators overflow the stack ~5,000 levels deep.)
 */
function measure(raw: object): { depth: number; bytes: number } | { tooDeep: true } | { tooLarge: number } | { protoKey: true } {
  const stack: Array<[unknown, number]> = [[raw, 1]];
  let bytes = 0;
  let depth = 0;
  while (stack.length > 0) {
    const [value, level] = stack.pop() as [unknown, number];
    if (level > MAX_EVENT_DEPTH) return { tooDeep: true };
    depth = Math.max(depth, level);
    if (typeof value === "string") bytes += value.length + 2;
    else if (value === null || typeof value !== "object") bytes += 8;
    else {
      const entries = Array.isArray(value) ? value.map((item): [string, unknown] => ["", item]) : Object.entries(value);
      bytes += 2;
      for (const [key, item] of entries) {
        // JSON.parse makes "__proto__" an own key; copied into a validated object it would become its prototype.
        if (key === "__proto__") return { protoKey: true };
        bytes += key.length + 4;
        stack.push([item, level + 1]);
      }
    }
    if (bytes > MAX_EVENT_BYTES) return { tooLarge: bytes };
  }
  return { depth, bytes };
}

/**
 * docs/guarantees.md "Canonical ids only": an id with `.`/`..` or empty segments, percent-encoding, control
 * characters, or over 2,048 characters is malformed — never approved by a scope prefix, never sent to
 * ARM (whose URL parsing would resolve it to some other resource).
 */
export function canonicalIdProblem(id: string): string | undefined {
  if (id.length > MAX_RESOURCE_ID_LENGTH) return `is ${id.length} characters, over ${MAX_RESOURCE_ID_LENGTH}`;
  if (!id.startsWith("/")) return "must be an ARM id (start with /)";
  if (/[\u0000-\u001f\u007f-\u009f]/.test(id)) return "contains control characters";
  if (id.includes("%")) return "contains percent-encoding";
  if (/[?#\\]/.test(id)) return "contains ?, # or a backslash";
  const segments = id.slice(1).split("/");
  if (segments.some((segment) => segment === "")) return "has an empty segment";
  if (segments.some((segment) => segment.trim() === "." || segment.trim() === "..")) return "has a . or .. segment";
  if (segments.some((segment) => segment !== segment.trim())) return "has a segment with leading or trailing blanks";
  return undefined;
}

/** Never throws: a malformed event comes back as `ok: false` with its id and what is wrong. */
export function parseResourceEvent(raw: unknown, sizeBytes?: number): ParsedEvent {
  const id = idOf(raw);
  try {
    return parseChecked(raw, id, sizeBytes);
  } catch (error) {
    return { ok: false, id, reason: `event could not be read: ${error instanceof Error ? error.message.slice(0, 200) : "unknown error"}` };
  }
}

function parseChecked(raw: unknown, id: string, sizeBytes?: number): ParsedEvent {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return { ok: false, id, reason: "event is not a JSON object" };
  const measured = measure(raw);
  if ("tooDeep" in measured) return { ok: false, id, reason: `event nests deeper than ${MAX_EVENT_DEPTH} levels` };
  if ("protoKey" in measured) return { ok: false, id, reason: "event has a __proto__ key" };
  const size = sizeBytes ?? ("tooLarge" in measured ? measured.tooLarge : measured.bytes);
  if ("tooLarge" in measured || size > MAX_EVENT_BYTES) return { ok: false, id, reason: `event is ${size} bytes, over the ${MAX_EVENT_BYTES}-byte limit` };
  const isCloudEvent = Object.hasOwn(raw, "specversion");
  const parsed = isCloudEvent ? cloudEventSchema.safeParse(raw) : eventGridSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? issue.path.map(String).join(".") || "(root)" : "(root)";
    return { ok: false, id, reason: `${printable(where.slice(0, 100))}: ${issue?.message ?? "invalid"}` };
  }
  if (parsed.data.id.length > MAX_EVENT_ID_LENGTH) return { ok: false, id, reason: `id is ${parsed.data.id.length} characters, over ${MAX_EVENT_ID_LENGTH}` };
  if (/[\u0000-\u001f\u007f-\u009f]/.test(parsed.data.id)) return { ok: false, id, reason: "id contains control characters" };
  const data = parsed.data.data;
  const uriProblem = canonicalIdProblem(data.resourceUri);
  if (uriProblem) return { ok: false, id, reason: `data.resourceUri ${uriProblem}` };
  const subject = parsed.data["subject"];
  if (typeof subject === "string" && subject.startsWith("/")) {
    const subjectProblem = canonicalIdProblem(subject);
    if (subjectProblem) return { ok: false, id, reason: `subject ${subjectProblem}` };
  }
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
