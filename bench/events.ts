import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BENCH_TENANT, generateSyntheticEstate, PIPELINE_APP_ID, Prng } from "./syntheticEstate.js";
import { percentile } from "./stats.js";

/**
 * The event path: `uami-guard serve --estate` (emulator in-process, Azurite for dedupe, baseline and
 * catalog) fed Event Grid deliveries over HTTP, as the Functions host would be. Latency is measured
 * client-side, from sending the request to its 200.
 */
export interface EventMix {
  vmWrite: number;
  roleAssignmentWrite: number;
  irrelevant: number;
  duplicate: number;
}

export interface EventPhase {
  events: number;
  requests: number;
  batchSize: number;
  concurrency: number;
  wallMs: number;
  eventsPerSecond: number;
  /** Per request (one event, or one batch): ms from send to the complete response. */
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  statuses: Record<string, number>;
  mix: EventMix;
  /** CPU seconds spent during the phase by serve (handlers + in-process emulator), Azurite and this client. */
  cpuSeconds: { serve: number | null; azurite: number | null; client: number };
}

export interface EventBenchResult {
  estateAssignments: number;
  warmupEvents: number;
  single: EventPhase;
  /** One event at a time: the handling latency without queueing behind other deliveries. */
  unloaded: EventPhase;
  /** One event per request at each further concurrency (`--curve`), so latency can be read against load. */
  curve: EventPhase[];
  batched: EventPhase;
  /** Peak RSS of the serve process (emulator in-process), from /proc when available. */
  serveMaxRssBytes: number | null;
  serveStartMs: number;
}

export interface EventBenchOptions {
  root: string;
  events: number;
  concurrency: number;
  batchSize: number;
  seed: number;
  estateAssignments: number;
  log: (message: string) => void;
  /** Extra node flags for the serve process (e.g. --cpu-prof). */
  serveNodeFlags?: string[];
  /** Further concurrencies to measure one event per request at, with `curveEvents` events each. */
  curve: number[];
  curveEvents: number;
}

const USER_CLAIMS = {
  aud: "https://management.core.windows.net/",
  iss: `https://sts.windows.net/${BENCH_TENANT}/`,
  appid: "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
  appidacr: "0",
  "http://schemas.microsoft.com/identity/claims/objectidentifier": "dddddddd-0000-4000-8000-0000000000bb",
  "http://schemas.microsoft.com/identity/claims/scope": "user_impersonation",
  "http://schemas.microsoft.com/identity/claims/tenantid": BENCH_TENANT,
  "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "someone@contoso.example",
  ver: "1.0",
};
const PIPELINE_CLAIMS = {
  aud: "https://management.core.windows.net/",
  iss: `https://sts.windows.net/${BENCH_TENANT}/`,
  appid: PIPELINE_APP_ID,
  appidacr: "2",
  idtyp: "app",
  "http://schemas.microsoft.com/identity/claims/objectidentifier": "ffffffff-0000-4000-8000-0000000000dd",
  "http://schemas.microsoft.com/identity/claims/tenantid": BENCH_TENANT,
  ver: "1.0",
};

const IRRELEVANT: ReadonlyArray<readonly [operation: string, provider: string, type: string, eventType: string]> = [
  ["Microsoft.Storage/storageAccounts/write", "Microsoft.Storage", "storageAccounts", "Microsoft.Resources.ResourceWriteSuccess"],
  ["Microsoft.Network/networkInterfaces/write", "Microsoft.Network", "networkInterfaces", "Microsoft.Resources.ResourceWriteSuccess"],
  ["Microsoft.KeyVault/vaults/secrets/write", "Microsoft.KeyVault", "vaults", "Microsoft.Resources.ResourceWriteSuccess"],
  ["Microsoft.Storage/storageAccounts/listKeys/action", "Microsoft.Storage", "storageAccounts", "Microsoft.Resources.ResourceActionSuccess"],
  ["Microsoft.Compute/virtualMachines/restart/action", "Microsoft.Compute", "virtualMachines", "Microsoft.Resources.ResourceActionSuccess"],
];

interface EventTargets {
  vms: string[];
  roleAssignments: string[];
  resourceGroups: string[];
  subscription: string;
}

function subscriptionIn(id: string): string {
  return /^\/subscriptions\/([^/]+)/i.exec(id)?.[1] ?? "";
}

function gridEvent(random: Prng, id: string, eventType: string, operationName: string, resourceUri: string, resourceProvider: string, claims: Record<string, string>, status = "Succeeded") {
  const subscriptionId = subscriptionIn(resourceUri);
  return {
    id,
    topic: `/subscriptions/${subscriptionId}`,
    subject: resourceUri,
    eventType,
    eventTime: new Date(Date.UTC(2026, 10, 20, 10) + random.int(3_600_000)).toISOString(),
    dataVersion: "2",
    metadataVersion: "1",
    data: {
      authorization: {
        scope: resourceUri,
        action: operationName,
        evidence: { role: "Contributor", roleAssignmentScope: `/subscriptions/${subscriptionId}`, roleAssignmentId: random.guid().replace(/-/g, ""), roleDefinitionId: "b24988ac618042a0ab8820f7382dd24c", principalId: claims["http://schemas.microsoft.com/identity/claims/objectidentifier"]?.replace(/-/g, "") ?? "", principalType: claims["idtyp"] === "app" ? "ServicePrincipal" : "User" },
      },
      claims,
      correlationId: random.guid(),
      httpRequest: { clientRequestId: random.guid(), clientIpAddress: "203.0.113.10", method: "PUT", url: `https://management.azure.com${resourceUri}?api-version=2024-07-01` },
      resourceProvider,
      resourceUri,
      operationName,
      status,
      subscriptionId,
      tenantId: BENCH_TENANT,
    },
  };
}

/** `count` deliveries: 40 % VM writes, 20 % role-assignment writes, 25 % irrelevant, 15 % duplicates of earlier ones. */
export function buildEvents(targets: EventTargets, count: number, prefix: string, seed: number): { bodies: unknown[]; mix: EventMix } {
  const random = new Prng(seed);
  const bodies: unknown[] = [];
  const mix: EventMix = { vmWrite: 0, roleAssignmentWrite: 0, irrelevant: 0, duplicate: 0 };
  for (let n = 0; n < count; n += 1) {
    const draw = random.float();
    const id = `${prefix}-${n}-${random.guid()}`;
    const claims = random.float() < 0.25 ? PIPELINE_CLAIMS : USER_CLAIMS;
    if (draw < 0.15 && n >= 32) {
      bodies.push(bodies[random.int(n - 16)]);
      mix.duplicate += 1;
    } else if (draw < 0.55) {
      bodies.push(gridEvent(random, id, "Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Compute/virtualMachines/write", random.pick(targets.vms), "Microsoft.Compute", claims));
      mix.vmWrite += 1;
    } else if (draw < 0.75) {
      bodies.push(gridEvent(random, id, "Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Authorization/roleAssignments/write", random.pick(targets.roleAssignments), "Microsoft.Authorization", claims));
      mix.roleAssignmentWrite += 1;
    } else {
      const [operation, provider, type, eventType] = random.pick(IRRELEVANT);
      const group = random.pick(targets.resourceGroups);
      const failedVmWrite = random.float() < 0.2;
      bodies.push(
        failedVmWrite
          ? gridEvent(random, id, "Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Compute/virtualMachines/write", random.pick(targets.vms), "Microsoft.Compute", claims, "Failed")
          : gridEvent(random, id, eventType, operation, `${group}/providers/${provider}/${type}/r${n.toString(36)}`, provider, claims),
      );
      mix.irrelevant += 1;
    }
  }
  return { bodies, mix };
}

function startServe(root: string, estatePath: string, policyPath: string, nodeFlags: string[], log: (message: string) => void): Promise<{ child: ChildProcess; url: string; eventGridKey: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, join(root, "bin", "uami-guard.js"), "serve", "--estate", estatePath, "--policy", policyPath, "--port", "0", "--quiet"], {
      cwd: root,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    let ready = false;
    const timer = setTimeout(() => {
      child.kill("SIGTERM");
      reject(new Error(`serve did not start within 120 s: ${stderr.slice(-1000)}`));
    }, 120_000);
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      if (ready) {
        // Warnings and errors only (--quiet); keep the last few for the report.
        stderr = (stderr + chunk).slice(-4000);
        return;
      }
      stderr += chunk;
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
      // serve prints its keys once, after the address; the webhook needs the eventgrid_extension key.
      const key = /eventgrid_extension\s+(\S+)/.exec(stderr);
      if (match?.[1] && key?.[1]) {
        ready = true;
        clearTimeout(timer);
        resolve({ child, url: match[1], eventGridKey: key[1] });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`serve exited with ${code}: ${stderr.slice(-1000)}`));
      else if (code !== 0 && code !== null) log(`serve exited with ${code}: ${stderr.slice(-500)}`);
    });
  });
}

function post(agent: Agent, url: URL, body: string): Promise<{ status: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(
      url,
      { method: "POST", agent, headers: { "content-type": "application/json", "aeg-event-type": "Notification", "content-length": Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error("request timed out after 30 s")));
    req.on("error", reject);
    req.end(body);
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc; null where /proc is not there. */
function cpuSecondsOf(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** Direct children of a process (Azurite is serve's), from /proc. */
function childrenOf(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

interface Processes {
  serve: number | undefined;
  azurite: number | undefined;
}

function cpuNow(processes: Processes): { serve: number | null; azurite: number | null; client: number } {
  const own = process.cpuUsage();
  return { serve: cpuSecondsOf(processes.serve), azurite: cpuSecondsOf(processes.azurite), client: (own.user + own.system) / 1e6 };
}

const minus = (after: number | null, before: number | null): number | null => (after === null || before === null ? null : Math.round((after - before) * 100) / 100);

/** Sends `bodies` in requests of `batchSize` events with at most `concurrency` requests in flight. */
async function drive(webhook: URL, bodies: unknown[], batchSize: number, concurrency: number, mix: EventMix, processes: Processes): Promise<EventPhase> {
  const payloads: string[] = [];
  for (let start = 0; start < bodies.length; start += batchSize) payloads.push(JSON.stringify(bodies.slice(start, start + batchSize)));
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = new Array<number>(payloads.length).fill(0);
  const statuses: Record<string, number> = {};
  let next = 0;
  const cpuBefore = cpuNow(processes);
  const started = performance.now();
  const worker = async (): Promise<void> => {
    for (;;) {
      const index = next;
      next += 1;
      if (index >= payloads.length) return;
      const { status, ms } = await post(agent, webhook, payloads[index] ?? "[]").catch((error: unknown) => ({ status: 0, ms: 0, error }));
      latencies[index] = ms;
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  const wallMs = performance.now() - started;
  const cpuAfter = cpuNow(processes);
  agent.destroy();
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    events: bodies.length,
    requests: payloads.length,
    batchSize,
    concurrency,
    wallMs,
    eventsPerSecond: bodies.length / (wallMs / 1000),
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1] ?? 0,
    statuses,
    mix,
    cpuSeconds: { serve: minus(cpuAfter.serve, cpuBefore.serve), azurite: minus(cpuAfter.azurite, cpuBefore.azurite), client: Math.round((cpuAfter.client - cpuBefore.client) * 100) / 100 },
  };
}

function peakRss(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match?.[1] ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export async function runEventBench(options: EventBenchOptions): Promise<EventBenchResult> {
  const directory = mkdtempSync(join(tmpdir(), "uami-guard-bench-events-"));
  try {
    const { estate } = generateSyntheticEstate({ assignments: options.estateAssignments, seed: options.seed, baseline: true });
    const estatePath = join(directory, "estate.json");
    const policyPath = join(directory, "policy.json");
    writeFileSync(estatePath, JSON.stringify(estate));
    const firstSubscription = estate.subscriptions[0]?.subscriptionId ?? "";
    writeFileSync(policyPath, JSON.stringify({ approvedPipelines: [{ name: "deploy-bench", appId: PIPELINE_APP_ID, scopes: [`/subscriptions/${firstSubscription}`] }] }));
    const targets: EventTargets = {
      vms: estate.resources.filter((resource) => resource.type === "Microsoft.Compute/virtualMachines").map((resource) => resource.id),
      roleAssignments: estate.roleAssignments.map((assignment) => assignment.id),
      resourceGroups: [...new Set(estate.resources.map((resource) => resource.id.replace(/\/providers\/.*$/, "")))],
      subscription: firstSubscription,
    };

    options.log(`events: starting serve (estate of ${options.estateAssignments} assignments, Azurite)`);
    const serveStarted = performance.now();
    const { child, url, eventGridKey } = await startServe(options.root, estatePath, policyPath, options.serveNodeFlags ?? [], options.log);
    const serveStartMs = performance.now() - serveStarted;
    const processes: Processes = { serve: child.pid, azurite: childrenOf(child.pid)[0] };
    try {
      const webhook = new URL(`/runtime/webhooks/eventgrid?functionName=onResourceEvent&code=${encodeURIComponent(eventGridKey)}`, url);
      // Warm-up: JIT, keep-alive connections, Table storage tables created. Not measured.
      const warmup = buildEvents(targets, 300, "warm", options.seed + 100);
      await drive(webhook, warmup.bodies, 1, options.concurrency, warmup.mix, processes);

      options.log(`events: ${options.events} events, one per request, ${options.concurrency} in flight`);
      const singleEvents = buildEvents(targets, options.events, "single", options.seed + 200);
      const single = await drive(webhook, singleEvents.bodies, 1, options.concurrency, singleEvents.mix, processes);

      const curve: EventPhase[] = [];
      for (const [index, concurrency] of options.curve.entries()) {
        options.log(`events: ${options.curveEvents} events, one per request, ${concurrency} in flight`);
        const curveEvents = buildEvents(targets, options.curveEvents, `curve${concurrency}`, options.seed + 400 + index);
        curve.push(await drive(webhook, curveEvents.bodies, 1, concurrency, curveEvents.mix, processes));
      }

      const unloadedCount = Math.min(1000, options.events);
      options.log(`events: ${unloadedCount} events, one per request, 1 in flight`);
      const unloadedEvents = buildEvents(targets, unloadedCount, "unloaded", options.seed + 250);
      const unloaded = await drive(webhook, unloadedEvents.bodies, 1, 1, unloadedEvents.mix, processes);

      options.log(`events: ${options.events} events in batches of ${options.batchSize}, ${options.concurrency} in flight`);
      const batchEvents = buildEvents(targets, options.events, "batch", options.seed + 300);
      const batched = await drive(webhook, batchEvents.bodies, options.batchSize, options.concurrency, batchEvents.mix, processes);
      return { estateAssignments: options.estateAssignments, warmupEvents: warmup.bodies.length, single, unloaded, curve, batched, serveMaxRssBytes: peakRss(child.pid), serveStartMs };
    } finally {
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill("SIGTERM");
      });
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
