import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { stoppable } from "../stoppable.js";
import { setTimeout as sleep } from "node:timers/promises";
import { gunzipSync } from "node:zlib";
import type { EmulatedService, Estate } from "./estate.js";
import { EstateStore } from "./store.js";
import { loopbackCertificate } from "./tls.js";
import { ArmQuota, FaultInjector, ResourceGraphQuota, faultResponse } from "./faults.js";
import { armError, EMPTY_BODY, hasBody, json, readBody, writeResponse, type EmulatorRequest, type EmulatorResponse } from "./http.js";
import { ResourceGraphRoute } from "./routes/resourceGraph.js";
import { ArmRoute } from "./routes/arm.js";
import { AsyncOperations } from "./asyncOperations.js";
import { GraphRoute } from "./routes/graph.js";
import { handleAppInsights } from "./routes/appInsights.js";
import { SinkCapture, handleEventGrid, handleLogAnalytics, handleLogsIngestion, handleTeams } from "./routes/sinks.js";

export interface ServedRequest {
  service: EmulatedService;
  method: string;
  path: string;
  status: number;
  /** Time the emulator spent answering (routing, executing, serializing), not waiting for the client. */
  busyMs?: number;
}

export interface RunningEmulator {
  /** https://127.0.0.1:<port> */
  url: string;
  /** PEM of the certificate the server presents; clients trust exactly this. */
  ca: string;
  store: EstateStore;
  capture: SinkCapture;
  requests: ServedRequest[];
  countByService(): Record<string, number>;
  /** Serializes the Resource Graph results cached so far, so their pages are answered by copying bytes (the bench's warm-up). */
  serializeResourceGraphResults(): void;
  stop(): Promise<void>;
}

const BODY_LIMIT = 8 * 1024 * 1024;

function serviceOf(path: string): EmulatedService {
  if (path.startsWith("/graph/")) return "graph";
  if (path.startsWith("/loganalytics/")) return "logAnalytics";
  if (path.startsWith("/ingestion/")) return "logsIngestion";
  if (path.startsWith("/eventgrid/")) return "eventGrid";
  if (path.startsWith("/teams/")) return "teams";
  if (path === "/v2.1/track") return "appInsights";
  if (path.includes("/providers/microsoft.resourcegraph/")) return "resourceGraph";
  return "arm";
}

/**
 * The HTTPS emulator of the slice of Azure uami-guard calls, on 127.0.0.1. The real SDK clients
 * talk to it exactly as they would to Azure (see shared/azure/clients.ts).
 */
export async function startEmulator(estate: Estate, options: { port?: number } = {}): Promise<RunningEmulator> {
  const store = new EstateStore(estate);
  const capture = new SinkCapture();
  const requests: ServedRequest[] = [];
  const faults = new FaultInjector(estate.emulator);
  const quotaSettings = estate.emulator.resourceGraphQuota;
  const quota = quotaSettings ? new ResourceGraphQuota(quotaSettings.requests, quotaSettings.windowSeconds * 1000) : undefined;
  const armQuota = ArmQuota.from(estate.emulator.armQuota);
  const resourceGraph = new ResourceGraphRoute(store);
  const arm = new ArmRoute(store, new AsyncOperations(store, estate.emulator.asyncArm));
  // Each request inside a Graph $batch is answered, and can be throttled, on its own.
  const graph = new GraphRoute(store, (path, method) => faults.check("graph", path, method));
  const { cert, key } = await loopbackCertificate();
  let base = "https://127.0.0.1";

  const route = (service: EmulatedService, request: EmulatorRequest): EmulatorResponse => {
    switch (service) {
      case "resourceGraph":
        return resourceGraph.handle(request);
      case "graph":
        return graph.handle(request);
      case "logAnalytics":
        return handleLogAnalytics(store, request);
      case "logsIngestion":
        return handleLogsIngestion(capture, request);
      case "eventGrid":
        return handleEventGrid(capture, request);
      case "teams":
        return handleTeams(capture, request);
      case "appInsights":
        return handleAppInsights(capture, request);
      case "arm":
        return arm.handle(request);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // SDKs send ids that start with "/" after a "/" (e.g. getById): ARM treats "//" as "/", and so do we
    // (a leading "//" would otherwise parse as a protocol-relative URL).
    const url = new URL((req.url ?? "/").replace(/^\/{2,}/, "/"), base);
    const path = url.pathname.toLowerCase().replace(/\/+$/, "") || "/";
    if (path === "/_emulator/stats") return writeResponse(res, json(200, { requests: countByService(requests) }));
    if (path === "/_emulator/estate") return writeResponse(res, json(200, store.snapshot()));
    if (path === "/_emulator/capture") return writeResponse(res, json(200, capture.received));
    const service = serviceOf(path);
    const response = await answer(service, req, res, url, path);
    // The client went away before its answer (its deadline, or stop()): `destroyed` is set as the response's close is emitted.
    if (response === "reset" || res.destroyed) {
      requests.push({ service, method: req.method ?? "GET", path: url.pathname, status: 0 });
      req.socket.destroy();
      return;
    }
    const writing = performance.now();
    writeResponse(res, response);
    const busyMs = (busy.get(response) ?? 0) + performance.now() - writing;
    requests.push({ service, method: req.method ?? "GET", path: url.pathname, status: response.status, busyMs });
  };

  /** How long each answer took to compute (the bench sums it per service). */
  const busy = new WeakMap<EmulatorResponse, number>();

  const answer = async (service: EmulatedService, req: IncomingMessage, res: ServerResponse, url: URL, path: string): Promise<EmulatorResponse | "reset"> => {
    const received = hasBody(req) ? await readBody(req, BODY_LIMIT) : EMPTY_BODY;
    if (received === "too-large") return armError(413, "RequestEntityTooLarge", "The request body is too large.");
    let raw = received;
    if (String(req.headers["content-encoding"] ?? "").toLowerCase() === "gzip") {
      try {
        raw = gunzipSync(received);
      } catch {
        return armError(400, "InvalidContentEncoding", "The body is not valid gzip.");
      }
    }
    if (estate.emulator.latencyMs > 0) await sleep(estate.emulator.latencyMs);
    // Ingestion with an instrumentation key needs no token; with Entra auth the exporter sends one.
    const authorized = service === "teams" || service === "appInsights" || typeof req.headers["authorization"] === "string" || typeof req.headers["aeg-sas-key"] === "string";
    if (!authorized) return armError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.");
    const fault = faults.check(service, path, req.method ?? "GET");
    if (fault?.hangMs !== undefined) {
      // A client that gives up during the hang never had its request processed: nothing is applied.
      // Made only here: an AbortController and a close listener per answer cost more than the rest of a small GET.
      const gone = new AbortController();
      const abort = (): void => gone.abort();
      if (res.destroyed) abort();
      else res.once("close", abort);
      await sleep(fault.hangMs, undefined, { signal: gone.signal }).catch(() => undefined);
      res.off("close", abort);
      if (gone.signal.aborted) return "reset";
    }
    if (fault && !fault.afterApply) {
      if (fault.reset) return "reset";
      if (fault.status !== undefined) return faultResponse(fault, service);
    }
    const response = applied(service, req, url, path, raw);
    if (fault?.afterApply) return fault.reset ? "reset" : faultResponse(fault, service);
    return response;
  };

  const applied = (service: EmulatedService, req: IncomingMessage, url: URL, path: string, raw: Buffer): EmulatorResponse => {
    let quotaHeaders: Record<string, string> = {};
    if (service === "resourceGraph" && quota) {
      const decision = quota.take();
      if (!decision.allowed) {
        return { ...armError(429, "RateLimiting", "Please provide below info when asking for support: the client has exceeded its quota."), headers: decision.headers };
      }
      quotaHeaders = decision.headers;
    }
    if (service === "arm" && armQuota) {
      // The bucket is per principal: the bearer token stands for it here.
      const decision = armQuota.take(path, (req.method ?? "GET").toUpperCase(), String(req.headers["authorization"] ?? ""));
      if (!decision.allowed) {
        return { ...armError(429, "TooManyRequests", "The request is being throttled as the limit has been reached for operation type - Read_ObservationWindow_00:00:10."), headers: decision.headers };
      }
      quotaHeaders = decision.headers;
    }
    let body: unknown = null;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        return armError(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.");
      }
    }
    const started = performance.now();
    const routed = route(service, { method: req.method ?? "GET", url, path, headers: req.headers, body, rawBody: raw });
    const response = { ...routed, headers: { ...quotaHeaders, ...(routed.headers ?? {}) } };
    busy.set(response, performance.now() - started);
    return response;
  };

  const server: Server = createServer({ cert, key }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      writeResponse(res, armError(500, "InternalServerError", `emulator: ${error instanceof Error ? error.message : String(error)}`));
    });
  });
  server.keepAliveTimeout = 30_000;
  const stop = stoppable(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  base = `https://127.0.0.1:${port}`;

  return {
    url: base,
    ca: cert,
    store,
    capture,
    requests,
    countByService: () => countByService(requests),
    serializeResourceGraphResults: () => resourceGraph.serializeCached(),
    stop,
  };
}

function countByService(requests: ServedRequest[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const request of requests) counts[request.service] = (counts[request.service] ?? 0) + 1;
  return counts;
}
