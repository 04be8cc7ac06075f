import { startEmulator } from "../local/emulator/server.js";
import { parseEstate } from "../local/emulator/estate.js";
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
  const emulator = await startEmulator(estate);
  try {
    // The client paces by ARM's documented bucket (250, 25/s); a scaled emulator bucket is reported as such.
    const clients = createAzureClients({ kind: "emulator", url: emulator.url, ca: emulator.ca });
    options.log(`fic: listing ${options.identities} identities over ${options.subscriptions} subscriptions, bucket ${capacity} + ${refillPerSecond}/s`);
    const started = performance.now();
    const listing = await listFederatedCredentials(clients, identities);
    const wallMs = performance.now() - started;
    const perSubscription = Math.ceil(options.identities / options.subscriptions);
    const floorMs = (Math.max(0, perSubscription - capacity) / refillPerSecond) * 1000;
    const arm = emulator.requests.filter((request) => request.service === "arm");
    const result: FicBenchResult = {
      identities: options.identities,
      subscriptions: options.subscriptions,
      bucket: { capacity, refillPerSecond },
      credentials: listing.credentials.length,
      requests: arm.length,
      listRequests: arm.filter((request) => request.status !== 429 && /\/federatedIdentityCredentials$/i.test(request.path)).length,
      throttled: arm.filter((request) => request.status === 429).length,
      failed: listing.failed.length,
      wallMs,
      floorMs,
      ratio: floorMs > 0 ? wallMs / floorMs : Number.NaN,
    };
    options.log(`fic: ${(wallMs / 1000).toFixed(2)} s vs floor ${(floorMs / 1000).toFixed(2)} s, ${result.requests} ARM requests, ${result.throttled} × 429`);
    return result;
  } finally {
    await emulator.stop();
  }
}
