import { randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { QueueClient } from "@azure/storage-queue";
import { stoppable } from "./stoppable.js";
import functionsLibrary, { type HttpHandler, type InvocationContext, type Timer } from "@azure/functions";

// The library is CommonJS: Node's ESM loader sees `app` as a named export but not these classes.
const { HttpRequest, InvocationContext: InvocationContextClass } = functionsLibrary;

/**
 * The local stand-in for the Functions host (Core Tools cannot be installed here): the same URLs the
 * host exposes, over the very handlers registered in functions/.
 *   POST /runtime/webhooks/eventgrid?functionName=X   Event Grid webhook (Notification, SubscriptionValidation, CloudEvents)
 *   POST /admin/functions/<timer function>             run a timer function now
 *   <method> /api/<route>                              HTTP functions
 *   storage queues                                     polled like the host's queue trigger (poison queue after maxDequeueCount)
 */
export interface HostFunctions {
  eventGrid: Record<string, (event: unknown, context: InvocationContext) => Promise<unknown>>;
  /** Timer functions: run on POST /admin/functions/<name>, and every `everyMs` when given. */
  timers: Record<string, { handler: (timer: Timer, context: InvocationContext) => Promise<void>; everyMs?: number }>;
  /** `authLevel` as registered in functions/: "function" routes need a function key (or the master key). */
  http: Record<string, { methods: string[]; authLevel: "anonymous" | "function"; handler: HttpHandler }>;
  /** Queue triggers: messages are decoded from base64 (and JSON), as the host's default messageEncoding does. */
  queues?: Record<string, { queue: QueueClient; poison: QueueClient; maxDequeueCount: number; handler: (message: unknown, context: InvocationContext) => Promise<unknown> }>;
}

/**
 * The keys the Functions host checks (Learn: "Work with access keys in Azure Functions"): a function
 * key for HTTP routes of authLevel function (`?code=` or `x-functions-key`), the `eventgrid_extension`
 * system key for the Event Grid webhook (`?code=`), the master key for /admin (and for everything).
 */
export interface HostKeys {
  function: string;
  eventGrid: string;
  master: string;
}

/** Fresh keys, as the host generates them when none are stored. */
export function generateHostKeys(): HostKeys {
  const key = (): string => randomBytes(32).toString("base64url");
  return { function: key(), eventGrid: key(), master: key() };
}

function sameKey(given: string | undefined, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Event Grid posts JSON: the Event Grid schema or a CloudEvents batch. Anything else (text/plain, a form) is refused. */
const EVENT_CONTENT_TYPES = new Set(["application/json", "application/cloudevents-batch+json"]);

export interface RunningHost {
  url: string;
  stop(): Promise<void>;
}

export type HostLog = (level: string, message: string) => void;

const BODY_LIMIT = 64 * 1024 * 1024;

function context(functionName: string, log: HostLog): InvocationContext {
  return new InvocationContextClass({
    functionName,
    invocationId: randomUUID(),
    logHandler: (level, ...args) => log(level, `[${functionName}] ${args.map(String).join(" ")}`),
  });
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) throw new Error("request body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const payload = typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": typeof body === "string" ? "text/plain" : "application/json", ...headers }).end(payload);
}

export async function startHost(functions: HostFunctions, options: { keys: HostKeys; port?: number; log?: HostLog }): Promise<RunningHost> {
  const keys = options.keys;
  // Names from a URL are looked up in Maps of the registered functions only: `constructor` or `__proto__` is no function.
  const eventGridFunctions = new Map(Object.entries(functions.eventGrid));
  const timerFunctions = new Map(Object.entries(functions.timers));
  const httpFunctions = new Map(Object.entries(functions.http));
  const log = options.log ?? ((level, message) => process.stderr.write(`${level} ${message}\n`));
  const timer: Timer = { isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: { last: "", next: "", lastUpdated: new Date().toISOString() } };

  const eventGrid = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const name = url.searchParams.get("functionName") ?? "";
    const handler = eventGridFunctions.get(name);
    if (!handler) return send(res, 404, { error: `no Event Grid function named '${name}'` });
    const contentType = String(req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
    if (!EVENT_CONTENT_TYPES.has(contentType)) {
      return send(res, 415, { error: "content-type must be application/json or application/cloudevents-batch+json" });
    }
    const kind = req.headers["aeg-event-type"];
    if (kind !== "Notification" && kind !== "SubscriptionValidation") {
      return send(res, 400, { error: "aeg-event-type must be Notification or SubscriptionValidation" });
    }
    let body: unknown;
    try {
      body = JSON.parse((await readBody(req)).toString("utf8"));
    } catch {
      return send(res, 400, { error: "request body is not JSON" });
    }
    const events = Array.isArray(body) ? body : [body];
    if (kind === "SubscriptionValidation") {
      const code = (events[0] as { data?: { validationCode?: unknown } } | undefined)?.data?.validationCode;
      if (typeof code !== "string") return send(res, 400, { error: "no validationCode" });
      return send(res, 200, { validationResponse: code });
    }
    let failed = 0;
    for (const event of events) {
      try {
        await handler(event, context(name, log));
      } catch (error) {
        failed += 1;
        log("error", `[${name}] ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    // A failed event makes the delivery fail, as in the real host: Event Grid redelivers and dedupe skips the rest.
    return failed > 0 ? send(res, 500, { error: `${failed} of ${events.length} event(s) failed` }) : send(res, 200);
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const method = req.method ?? "GET";
    const header = req.headers["x-functions-key"];
    const given = url.searchParams.get("code") ?? (typeof header === "string" ? header : undefined);
    const allowed = (...accepted: string[]): boolean => [keys.master, ...accepted].some((key) => sameKey(given, key));
    // 401 as the Functions host answers; the body says which key the route takes, never a key itself.
    const unauthorized = (needed: string): void => {
      const wrongKey = given !== undefined && [keys.function, keys.eventGrid, keys.master].some((key) => sameKey(given, key));
      send(res, 401, { error: `${needed} is required (?code= or x-functions-key)${wrongKey ? "; the key given is another one" : ""}` });
    };
    if (url.pathname === "/runtime/webhooks/eventgrid") {
      if (!allowed(keys.eventGrid)) return unauthorized("the eventgrid_extension system key (or the master key)");
      if (method === "OPTIONS") {
        // CloudEvents abuse-protection handshake.
        return send(res, 200, undefined, { "WebHook-Allowed-Origin": String(req.headers["webhook-request-origin"] ?? "*"), "WebHook-Allowed-Rate": "*" });
      }
      if (method === "POST") return eventGrid(req, res, url);
    }
    if (url.pathname.startsWith("/admin/") && !allowed()) return unauthorized("the master key (a function key does not open /admin)");
    const admin = /^\/admin\/functions\/([^/]+)$/.exec(url.pathname);
    if (admin && method === "POST") {
      const entry = timerFunctions.get(admin[1] ?? "");
      if (!entry) return send(res, 404, { error: `no timer function named '${admin[1] ?? ""}'` });
      await entry.handler(timer, context(admin[1] ?? "", log));
      return send(res, 202);
    }
    const api = /^\/api\/(.+)$/.exec(url.pathname);
    const entry = api ? httpFunctions.get(api[1] ?? "") : undefined;
    if (entry && entry.methods.includes(method)) {
      if (entry.authLevel === "function" && !allowed(keys.function)) return unauthorized("a function key (or the master key)");
      const body = method === "GET" || method === "HEAD" ? undefined : await readBody(req);
      const request = new HttpRequest({
        method,
        url: `http://127.0.0.1${req.url ?? "/"}`,
        headers: Object.fromEntries(Object.entries(req.headers).map(([key, value]) => [key, String(value)])),
        ...(body ? { body: { bytes: body } } : {}),
      });
      const response = await entry.handler(request, context(api?.[1] ?? "", log));
      const init = response as { status?: number; jsonBody?: unknown; body?: unknown; headers?: Record<string, string> };
      // Any other body (a Blob, a stream) is read to bytes, as @azure/functions does before it answers the host (toRpcHttp).
      const bytes = init.jsonBody === undefined && init.body !== undefined && typeof init.body !== "string" ? Buffer.from(await new Response(init.body as Blob).arrayBuffer()) : undefined;
      return send(res, init.status ?? 200, bytes ?? init.jsonBody ?? init.body, init.headers ?? {});
    }
    return send(res, 404, { error: `no function at ${method} ${url.pathname}` });
  };

  const server: Server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      log("error", `host: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) send(res, 500, { error: "internal error" });
    });
  });
  server.keepAliveTimeout = 30_000;
  const stop = stoppable(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 7071, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const intervals = [...timerFunctions].flatMap(([name, entry]) =>
    entry.everyMs
      ? [
          setInterval(() => {
            entry.handler(timer, context(name, log)).catch((error: unknown) => log("error", `[${name}] ${error instanceof Error ? error.message : String(error)}`));
          }, entry.everyMs),
        ]
      : [],
  );
  const pollers = Object.entries(functions.queues ?? {}).map(([name, trigger]) => pollQueue(name, trigger, log));
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      for (const interval of intervals) clearInterval(interval);
      await Promise.all(pollers.map((poller) => poller.stop()));
      return stop();
    },
  };
}

const QUEUE_BATCH = 16;
const QUEUE_IDLE_MS = 1_000;
/** A failed message becomes visible again after this long (the host's visibilityTimeout). */
const RETRY_VISIBILITY_SECONDS = 1;

function decodeMessage(text: string): unknown {
  const decoded = Buffer.from(text, "base64").toString("utf8");
  try {
    return JSON.parse(decoded);
  } catch {
    return decoded;
  }
}

/** The queue trigger's loop: a batch at a time, retries by visibility, poison after maxDequeueCount. */
function pollQueue(name: string, trigger: NonNullable<HostFunctions["queues"]>[string], log: HostLog): { stop(): Promise<void> } {
  let stopped = false;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    await trigger.queue.createIfNotExists();
    await trigger.poison.createIfNotExists();
    while (!stopped) {
      let received = 0;
      try {
        const { receivedMessageItems } = await trigger.queue.receiveMessages({ numberOfMessages: QUEUE_BATCH, visibilityTimeout: 300 });
        received = receivedMessageItems.length;
        await Promise.all(
          receivedMessageItems.map(async (message) => {
            if (message.dequeueCount > trigger.maxDequeueCount) {
              await trigger.poison.sendMessage(message.messageText);
              await trigger.queue.deleteMessage(message.messageId, message.popReceipt);
              log("error", `[${name}] message ${message.messageId} moved to the poison queue after ${trigger.maxDequeueCount} attempts`);
              return;
            }
            try {
              await trigger.handler(decodeMessage(message.messageText), context(name, log));
              await trigger.queue.deleteMessage(message.messageId, message.popReceipt);
            } catch (error) {
              log("error", `[${name}] ${error instanceof Error ? error.message : String(error)} (attempt ${message.dequeueCount} of ${trigger.maxDequeueCount})`);
              await trigger.queue.updateMessage(message.messageId, message.popReceipt, undefined, RETRY_VISIBILITY_SECONDS).catch(() => undefined);
            }
          }),
        );
      } catch (error) {
        log("error", `[${name}] polling ${trigger.queue.name}: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (received === 0 && !stopped) {
        await new Promise<void>((resolve) => {
          const timeout = setTimeout(resolve, QUEUE_IDLE_MS);
          wake = () => {
            clearTimeout(timeout);
            resolve();
          };
        });
      }
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      wake?.();
      await loop.catch(() => undefined);
    },
  };
}
