import type { Deadlines } from "../../shared/azure/deadline.js";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseEstate, type Estate } from "../../local/emulator/estate.js";
import { startEmulator, type RunningEmulator } from "../../local/emulator/server.js";
import { createAzureClients, type AzureClients } from "../../shared/azure/clients.js";

export const SUB = "11111111-1111-1111-1111-111111111111";
export const TENANT = "22222222-2222-2222-2222-222222222222";

export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}

export function loadFixture(name: string): Estate {
  return parseEstate(JSON.parse(readFileSync(fixturePath(name), "utf8")), name);
}

export function emptyEstate(overrides: Partial<Estate> = {}): Estate {
  return parseEstate({ tenantId: TENANT, subscriptions: [{ subscriptionId: SUB, displayName: "prod" }], ...overrides }, "test estate");
}

export interface TestTarget {
  emulator: RunningEmulator;
  clients: AzureClients;
  stop(): Promise<void>;
}

/** The emulator seeded from `estate` and real SDK clients pointed at it over HTTPS. */
export async function startTarget(estate: Estate, storageConnectionString?: string, deadlines?: Deadlines): Promise<TestTarget> {
  const emulator = await startEmulator(estate);
  const clients = createAzureClients({
    kind: "emulator",
    url: emulator.url,
    ca: emulator.ca,
    ...(storageConnectionString ? { storageConnectionString } : {}),
    ...(deadlines ? { deadlines } : {}),
    ...(readBucketOf(estate) ?? {}),
  });
  return { emulator, clients, stop: () => emulator.stop() };
}

/** A read bucket the estate scales down: the clients' pacers are told, as they know ARM's own. */
function readBucketOf(estate: Estate): { armReadBucket: { capacity: number; refillPerSecond: number } } | undefined {
  const quota = estate.emulator.armQuota;
  const reads = typeof quota === "object" ? quota.reads : undefined;
  return reads ? { armReadBucket: { capacity: reads[0], refillPerSecond: reads[1] } } : undefined;
}

/** A deterministic GUID from a number, for synthetic estates. */
export function guid(n: number, prefix = "0000"): string {
  const hex = n.toString(16).padStart(12, "0");
  return `${prefix.padStart(8, "0")}-0000-4000-8000-${hex}`;
}

export function identityResource(name: string, principalId: string, clientId: string, tags: Record<string, string> = {}, resourceGroup = "rg-app") {
  return {
    id: `/subscriptions/${SUB}/resourceGroups/${resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`,
    name,
    type: "Microsoft.ManagedIdentity/userAssignedIdentities",
    location: "uksouth",
    tags,
    properties: { principalId, clientId, tenantId: TENANT },
  };
}
