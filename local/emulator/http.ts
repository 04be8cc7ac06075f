import type { IncomingMessage, ServerResponse } from "node:http";

/** What a route handler returns; the server writes it. */
export interface EmulatorResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface EmulatorRequest {
  method: string;
  url: URL;
  /** Lower-cased path without query, e.g. /subscriptions/…; original spelling in `url.pathname`. */
  path: string;
  headers: IncomingMessage["headers"];
  body: unknown;
  rawBody: Buffer;
}

export function json(status: number, body?: unknown, headers?: Record<string, string>): EmulatorResponse {
  return headers ? { status, body, headers } : { status, body };
}

/** ARM's error envelope. */
export function armError(status: number, code: string, message: string): EmulatorResponse {
  return { status, body: { error: { code, message } } };
}

/** Microsoft Graph's error envelope. */
export function graphError(status: number, code: string, message: string): EmulatorResponse {
  return {
    status,
    body: { error: { code, message, innerError: { date: new Date().toISOString(), "request-id": "00000000-0000-0000-0000-000000000000" } } },
  };
}

const JSON_BYTES = Symbol("jsonBytes");

/**
 * Gives `body` the bytes JSON.stringify(body) would make, as pieces to send one after the other,
 * computed by `bytes` when the answer is written: a route that keeps its answers' JSON (Resource
 * Graph pages) spares the server a stringify, a UTF-8 encode and a copy. The body itself stays what a
 * fault or a test inspects; the property is a non-enumerable symbol, which JSON.stringify,
 * Object.keys and a spread all skip, so a copy of the body is serialized afresh.
 */
export function withJsonBytes<T extends object>(body: T, bytes: () => Buffer[]): T {
  Object.defineProperty(body, JSON_BYTES, { value: bytes });
  return body;
}

/** The UTF-8 JSON of a body in pieces: those it was given, or JSON.stringify's. */
function jsonPiecesOf(body: unknown): Buffer[] {
  const known = typeof body === "object" && body !== null ? (body as { [JSON_BYTES]?: () => Buffer[] })[JSON_BYTES] : undefined;
  return known ? known() : [Buffer.from(JSON.stringify(body))];
}

/** The UTF-8 JSON of a body, as writeResponse sends it. */
export function jsonBytesOf(body: unknown): Buffer {
  return Buffer.concat(jsonPiecesOf(body));
}

export function writeResponse(res: ServerResponse, response: EmulatorResponse): void {
  const headers: Record<string, string> = { ...(response.headers ?? {}) };
  headers["x-ms-request-id"] ??= cryptoRandomId();
  if (response.body === undefined) {
    res.writeHead(response.status, headers);
    res.end();
    return;
  }
  const pieces = jsonPiecesOf(response.body);
  headers["content-type"] ??= "application/json; charset=utf-8";
  headers["content-length"] = String(pieces.reduce((length, piece) => length + piece.length, 0));
  res.writeHead(response.status, headers);
  // Written in one go: the socket is corked until the next tick, so the pieces leave as one TLS write.
  for (let index = 0; index < pieces.length - 1; index += 1) res.write(pieces[index]);
  res.end(pieces[pieces.length - 1]);
}

let counter = 0;
function cryptoRandomId(): string {
  counter += 1;
  return `00000000-0000-4000-8000-${counter.toString(16).padStart(12, "0")}`;
}

export const EMPTY_BODY = Buffer.alloc(0);

/** Without Content-Length or Transfer-Encoding a request has no body (RFC 9112 §6.3): most are such GETs. */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return !((length === undefined || length === "0") && req.headers["transfer-encoding"] === undefined);
}

export async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer | "too-large"> {
  if (!hasBody(req)) return EMPTY_BODY;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limitBytes) return "too-large";
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}
