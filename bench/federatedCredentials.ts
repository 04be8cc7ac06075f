import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEstate, saveEstateFile } from "../local/emulator/estate.js";
import { startEmulatorProcess } from "./processes.js";
import { createAzureClients } from "../shared/azure/clients.js";
import { listFederatedCredentials } from "../shared/azure/federatedCredentials.js";
import type { Identity } from "../shared/model.js";
import { Prng } from "./syntheticEstate.js";

/**
 * Federated-credential listing through ARM (issue #14): `identities` identities spread evenly over
 * `subscriptions` subscriptions, one in five with a credential, the emulator enforcing ARM's read
 * bucket per subscription. The floor is the bucket's: per subscription, the first `capacity` reads
 * answer at once and the rest at `refillPerSecond`; subscriptions have buckets of their own and are
 * listed side by side, so the floor is the largest subscription's.
 */
export interface FicBenchResult {
  identities: number;
  subscriptions: number;
  bucket: { capacity: number; refillPerSecond: number };
  credentials: number;
  requests: number;
  listRequests: number;
  throttled: number;
  failed: number;
  wallMs: number;
  floorMs: number;
  ratio: number;
  /** CPU time per list call: this process's (the client's pipeline, TLS, parsing) and the emulator's (answering). */
  cpuPerCallMs: { client: number; emulator: number };
}

export async function runFicBench(options: { identities: number; subscriptions: number; bucket: [number, number]; seed: number; log: (message: string) => void }): Promise<FicBenchResult> {
  const random = new Prng(options.seed);
  const tenantId = random.guid();
  const subscriptionIds = Array.from({ length: options.subscriptions }, () => random.guid());
  const resources = [];
  const federatedCredentials = [];
  const identities: Identity[] = [];
  for (let n = 0; n < options.identities; n += 1) {
    const subscriptionId = subscriptionIds[n % subscriptionIds.length] ?? "";
    const name = `id-wl${n}-prod-uks-01`;
    const id = `/subscriptions/${subscriptionId}/resourceGroups/rg-wl${n % 50}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
    const principalId = random.guid();
    const clientId = random.guid();
    resources.push({ id, name, type: "Microsoft.ManagedIdentity/userAssignedIdentities", location: "uksouth", tags: {}, properties: { principalId, clientId, tenantId } });
    identities.push({ id, name, subscriptionId, resourceGroup: `rg-wl${n % 50}`, location: "uksouth", tags: {}, principalId, clientId, tenantId });
    if (n % 5 === 0) {
      federatedCredentials.push({ id: `${id}/federatedIdentityCredentials/github-prod`, name: "github-prod", properties: { issuer: "https://token.actions.githubusercontent.com", subject: `repo:contoso/wl${n}:environment:prod`, audiences: ["api://AzureADTokenExchange"] } });
    }
  }
  const [capacity, refillPerSecond] = options.bucket;
  const estate = parseEstate(
    {
      tenantId,
      subscriptions: subscriptionIds.map((subscriptionId) => ({ subscriptionId })),
      resources,
      federatedCredentials,
      emulator: { latencyMs: 0, faults: [], seed: options.seed, armQuota: { reads: [capacity, refillPerSecond] } },
    },
    "federated-credential bench estate",
  );
  // The emulator runs in its own process, as in the sweep benchmark: this process measures the client alone.
  const directory = mkdtempSync(join(tmpdir(), "uami-guard-fic-bench-"));
  const file = join(directory, "estate.json");
  saveEstateFile(file, estate);
  const emulator = await startEmulatorProcess(["--estate", file], 5 * 60_000);
  try {
    // The client paces by ARM's documented bucket (250, 25/s); a scaled emulator bucket is reported as such.
    const clients = createAzureClients({ kind: "emulator", url: emulator.ready.url, ca: emulator.ready.ca });
    await emulator.reset();
    options.log(`fic: listing ${options.identities} identities over ${options.subscriptions} subscriptions, bucket ${capacity} + ${refillPerSecond}/s`);
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const listing = await listFederatedCredentials(clients, identities);
    const cpu = process.cpuUsage(cpuBefore);
    const wallMs = performance.now() - started;
    const perSubscription = Math.ceil(options.identities / options.subscriptions);
    const floorMs = (Math.max(0, perSubscription - capacity) / refillPerSecond) * 1000;
    const counts = await emulator.stats();
    const requests = counts.byService["arm"] ?? 0;
    const throttled = counts.byServiceStatus["arm"]?.["429"] ?? 0;
    const result: FicBenchResult = {
      identities: options.identities,
      subscriptions: options.subscriptions,
      bucket: { capacity, refillPerSecond },
      credentials: listing.credentials.length,
      requests,
      listRequests: counts.byServiceStatus["arm"]?.["200"] ?? 0,
      throttled,
      failed: listing.failed.length,
      wallMs,
      floorMs,
      ratio: floorMs > 0 ? wallMs / floorMs : Number.NaN,
      cpuPerCallMs: { client: (cpu.user + cpu.system) / 1000 / Math.max(1, requests), emulator: counts.cpuMs / Math.max(1, requests) },
    };
    options.log(
      `fic: ${(wallMs / 1000).toFixed(2)} s vs floor ${(floorMs / 1000).toFixed(2)} s, ${result.requests} ARM requests, ${result.throttled} × 429, ` +
        `CPU per call ${result.cpuPerCallMs.client.toFixed(3)} ms client, ${result.cpuPerCallMs.emulator.toFixed(3)} ms emulator`,
    );
    return result;
  } finally {
    await emulator.stop();
    rmSync(directory, { recursive: true, force: true });
  }
}
