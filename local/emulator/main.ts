import { createServer } from "node:http";
import { PerformanceObserver, constants as perfConstants } from "node:perf_hooks";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { loadEstateFile, parseEstate, type Estate } from "./estate.js";
import { startEmulator, type RunningEmulator } from "./server.js";
import { generateSyntheticEstate } from "../../bench/syntheticEstate.js";
import { privilegeFloor, type PrivilegeFloor } from "../../bench/privilegeFloor.js";
import { QUERIES } from "../../shared/azure/queries.js";

/**
 * The emulator as a standalone process (the benchmark runs it apart from the sweep so the sweep's
 * own memory is measured):
 *
 *   node dist/local/emulator/main.js (--estate FILE | --synthetic ASSIGNMENTS [--seed N])
 *        [--quota REQUESTS/WINDOW_SECONDS] [--quota-instance REQUESTS/WINDOW_SECONDS]
 *        [--latency MS] [--port N] [--no-warm]
 *
 * Prints one JSON line on stdout when ready — {url, ca, control, expected, timings, quota,
 * quotaInstance} — and serves until SIGTERM/SIGINT, when it prints one more JSON line with the final
 * request counts. `control` is a plain-http port on 127.0.0.1: GET /stats (requests by service and
 * status), GET /timeline (each request as [answered at in epoch ms, status, service]), POST /reset
 * (forget the requests served so far); `?instance=quota` addresses the second instance. Synthetic estates are generated in this process, so no estate file of a million rows is
 * ever written.
 *
 * `--quota-instance` starts a second emulator over the same estate objects with that Resource Graph
 * quota (its own store, cache, quota window and request log), so one generated estate serves both an
 * unthrottled and a throttled sweep. The two share resource objects: use it for read-only runs.
 */

type Counted = "identities" | "role-definitions" | "attachments" | "federated-credentials" | "role-assignments" | "subscriptions";

interface Expected {
  /** Rows each Resource Graph query returns (and the federated credentials, listed through ARM), by name. */
  rows: Record<Counted, number>;
  /** Distinct principals of non-ForeignGroup role assignments (what a sweep looks up). */
  lookedUpPrincipals: number;
  directoryObjects: number;
  /** Issue 24: what the privilege reads cost at their floor. */
  privilege: PrivilegeFloor;
}

function fail(message: string): never {
  process.stderr.write(`emulator: ${message}\n`);
  process.exit(2);
}

function parseQuota(text: string): { requests: number; windowSeconds: number } {
  const match = /^(\d+)\/(\d+(?:\.\d+)?)$/.exec(text);
  if (!match) fail(`--quota ${text}: expected REQUESTS/WINDOW_SECONDS, e.g. 15/5`);
  const requests = Number(match[1]);
  const windowSeconds = Number(match[2]);
  if (requests < 1 || windowSeconds <= 0) fail(`--quota ${text}: both numbers must be positive`);
  return { requests, windowSeconds };
}

function expectedOf(emulator: RunningEmulator): Expected {
  const { store } = emulator;
  let identities = 0;
  let attachments = 0;
  for (const resource of store.resources.values()) {
    if (resource.type.toLowerCase() === "microsoft.managedidentity/userassignedidentities") identities += 1;
    if (resource.identity?.userAssignedIdentities != null) attachments += 1;
  }
  const principals = new Set<string>();
  for (const assignment of store.roleAssignments.values()) {
    if ((assignment.properties.principalType ?? "").toLowerCase() !== "foreigngroup") principals.add(assignment.properties.principalId.toLowerCase());
  }
  return {
    rows: {
      identities,
      "role-definitions": store.roleDefinitions.size,
      attachments,
      "federated-credentials": store.federatedCredentials.size,
      "role-assignments": store.roleAssignments.size,
      subscriptions: store.subscriptions.length,
    },
    lookedUpPrincipals: principals.size,
    directoryObjects: store.directory.size,
    privilege: privilegeFloor(store),
  };
}

/**
 * One small Resource Graph request per query the sweep sends, so the emulator compiles each and
 * builds (and sorts) its result before the clock starts.
 */
async function warm(emulator: RunningEmulator): Promise<void> {
  for (const [name, query] of Object.entries(QUERIES)) {
    const body = JSON.stringify({ query, options: { $top: 1, resultFormat: "objectArray" } });
    const url = new URL("/providers/Microsoft.ResourceGraph/resources?api-version=2022-10-01", emulator.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(
        url,
        { method: "POST", ca: emulator.ca, headers: { authorization: "Bearer warm-up", "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    if (status !== 200) fail(`warm-up query ${name} answered ${status}`);
  }
  emulator.serializeResourceGraphResults();
}

/** When each request was answered (epoch ms, high resolution), in the order of `emulator.requests`. */
const answeredAt = new WeakMap<RunningEmulator, number[]>();

/** server.ts records what it served but not when: stamp every entry as it is recorded. */
function stampRequests(emulator: RunningEmulator): void {
  const stamps: number[] = [];
  answeredAt.set(emulator, stamps);
  const record = emulator.requests.push.bind(emulator.requests);
  emulator.requests.push = (...served) => {
    const now = performance.timeOrigin + performance.now();
    for (let n = 0; n < served.length; n += 1) stamps.push(now);
    return record(...served);
  };
}

function clearRequests(emulator: RunningEmulator): void {
  emulator.requests.length = 0;
  cpuAtReset = process.cpuUsage();
  gcPauses.length = 0;
  const stamps = answeredAt.get(emulator);
  if (stamps) stamps.length = 0;
}

/** Requests in order: when each was answered, its status and service (for pacing analysis). */
function timeline(emulator: RunningEmulator): Array<[at: number, status: number, service: string]> {
  const stamps = answeredAt.get(emulator) ?? [];
  return emulator.requests.map((served, index) => [Math.round((stamps[index] ?? 0) * 10) / 10, served.status, served.service]);
}

/** This process's garbage-collection pauses since the last reset: a long one stalls every client. */
const gcPauses: Array<[at: number, ms: number, kind: string]> = [];
function watchGarbageCollection(): void {
  const kinds: Record<number, string> = {
    [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: "major",
    [perfConstants.NODE_PERFORMANCE_GC_MINOR]: "minor",
    [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
    [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: "weakcb",
  };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
      gcPauses.push([Math.round(performance.timeOrigin + entry.startTime), Math.round(entry.duration * 10) / 10, kinds[kind] ?? String(kind)]);
    }
  }).observe({ entryTypes: ["gc"] });
}

function gcSummary() {
  let totalMs = 0;
  let maxMs = 0;
  for (const [, ms] of gcPauses) {
    totalMs += ms;
    maxMs = Math.max(maxMs, ms);
  }
  return { count: gcPauses.length, totalMs: Math.round(totalMs), maxMs, over100ms: gcPauses.filter(([, ms]) => ms >= 100) };
}

/** This process's CPU time at the last reset (µs): the emulator's own cost of a measured run. */
let cpuAtReset = process.cpuUsage();

function counts(emulator: RunningEmulator) {
  const cpu = process.cpuUsage(cpuAtReset);
  const busyMsByService: Record<string, number> = {};
  for (const served of emulator.requests) busyMsByService[served.service] = (busyMsByService[served.service] ?? 0) + (served.busyMs ?? 0);
  const byService: Record<string, number> = {};
  const byStatus: Record<string, number> = {};
  const byServiceStatus: Record<string, Record<string, number>> = {};
  for (const served of emulator.requests) {
    byService[served.service] = (byService[served.service] ?? 0) + 1;
    byStatus[served.status] = (byStatus[served.status] ?? 0) + 1;
    const perService = (byServiceStatus[served.service] ??= {});
    perService[served.status] = (perService[served.status] ?? 0) + 1;
  }
  const rounded = Object.fromEntries(Object.entries(busyMsByService).map(([service, ms]) => [service, Math.round(ms)]));
  return { total: emulator.requests.length, byService, byStatus, byServiceStatus, gc: gcSummary(), busyMsByService: rounded, cpuMs: Math.round((cpu.user + cpu.system) / 1000) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      estate: { type: "string" },
      synthetic: { type: "string" },
      seed: { type: "string", default: "1" },
      quota: { type: "string" },
      "quota-instance": { type: "string" },
      latency: { type: "string" },
      port: { type: "string", default: "0" },
      "no-warm": { type: "boolean", default: false },
    },
    strict: true,
  });
  if (Boolean(values.estate) === Boolean(values.synthetic)) fail("give exactly one of --estate FILE or --synthetic ASSIGNMENTS");

  const started = performance.now();
  let estate: Estate;
  if (values.estate) {
    estate = loadEstateFile(values.estate);
  } else {
    const assignments = Number(values.synthetic);
    const seed = Number(values.seed);
    if (!Number.isInteger(assignments) || assignments < 10) fail(`--synthetic ${values.synthetic}: an integer ≥ 10`);
    if (!Number.isInteger(seed)) fail(`--seed ${values.seed}: an integer`);
    // Validated like any estate file: the generator must produce what the schema accepts.
    estate = parseEstate(generateSyntheticEstate({ assignments, seed }).estate, `synthetic estate (${assignments}, seed ${seed})`);
  }
  const generatedMs = performance.now() - started;
  if (values.quota) estate.emulator.resourceGraphQuota = parseQuota(values.quota);
  if (values.latency) estate.emulator.latencyMs = Number(values.latency);

  const emulator = await startEmulator(estate, { port: Number(values.port) });
  const quotaEstate: Estate | undefined = values["quota-instance"]
    ? { ...estate, emulator: { ...estate.emulator, resourceGraphQuota: parseQuota(values["quota-instance"]) } }
    : undefined;
  const quotaEmulator = quotaEstate ? await startEmulator(quotaEstate) : undefined;
  for (const instance of [emulator, quotaEmulator]) if (instance) stampRequests(instance);
  const warmStarted = performance.now();
  if (!values["no-warm"]) {
    for (const instance of [emulator, quotaEmulator]) {
      if (!instance) continue;
      await warm(instance);
      clearRequests(instance);
    }
    // The warm-up spent part of the first quota window: start the measured run on a fresh one.
    const windows = [estate, quotaEstate].map((each) => each?.emulator.resourceGraphQuota?.windowSeconds ?? 0);
    const longest = Math.max(...windows);
    if (longest > 0) await sleep(longest * 1000 + 50);
  }
  // Generating and validating a synthetic estate leaves gigabytes of garbage; collected later, that
  // would stall whichever measured run it lands in (the bench starts this process with --expose-gc).
  (globalThis as { gc?: () => void }).gc?.();
  const warmMs = performance.now() - warmStarted;
  watchGarbageCollection();

  const control = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const instance = url.searchParams.get("instance") === "quota" ? quotaEmulator : emulator;
    if (!instance) {
      res.writeHead(404).end();
    } else if (req.method === "GET" && url.pathname === "/stats") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(counts(instance)));
    } else if (req.method === "GET" && url.pathname === "/timeline") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(timeline(instance)));
    } else if (req.method === "POST" && url.pathname === "/reset") {
      clearRequests(instance);
      res.writeHead(204).end();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));
  const controlUrl = `http://127.0.0.1:${(control.address() as AddressInfo).port}`;

  const stop = async (): Promise<void> => {
    const final = { stopped: true, requests: counts(emulator), ...(quotaEmulator ? { quotaInstanceRequests: counts(quotaEmulator) } : {}) };
    process.stdout.write(`${JSON.stringify(final)}\n`);
    control.close();
    control.closeAllConnections();
    await Promise.all([emulator.stop(), quotaEmulator?.stop()]);
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());

  process.stdout.write(
    `${JSON.stringify({
      url: emulator.url,
      ca: emulator.ca,
      control: controlUrl,
      expected: expectedOf(emulator),
      timings: { generateMs: Math.round(generatedMs), warmMs: Math.round(warmMs) },
      quota: estate.emulator.resourceGraphQuota ?? null,
      quotaInstance: quotaEmulator && quotaEstate ? { url: quotaEmulator.url, ca: quotaEmulator.ca, quota: quotaEstate.emulator.resourceGraphQuota } : null,
    })}\n`,
  );
}

main().catch((error: unknown) => fail(error instanceof Error ? (error.stack ?? error.message) : String(error)));
