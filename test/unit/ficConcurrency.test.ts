import { describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import type { AzureClients } from "../../shared/azure/clients.js";
import { FIC_CONCURRENCY_PER_SUBSCRIPTION, FIC_CONCURRENCY_TOTAL, listFederatedCredentials } from "../../shared/azure/federatedCredentials.js";
import type { Identity } from "../../shared/model.js";

// A tenant of a million role assignments spans hundreds of subscriptions (Azure allows 4,000 assignments
// per subscription: Learn "Troubleshoot Azure RBAC limits"). The listing's scheduling is what is under
// test here, so the ARM GET is a stand-in that only counts the calls it has open.
function countingClients(): { clients: AzureClients; peak: () => { total: number; perSubscription: number } } {
  let open = 0;
  let peakTotal = 0;
  const openBySubscription = new Map<string, number>();
  let peakPerSubscription = 0;
  const clients = {
    endpoints: { arm: "https://management.azure.com" },
    armGet: (subscriptionId: string) => async () => {
      open += 1;
      const mine = (openBySubscription.get(subscriptionId) ?? 0) + 1;
      openBySubscription.set(subscriptionId, mine);
      peakTotal = Math.max(peakTotal, open);
      peakPerSubscription = Math.max(peakPerSubscription, mine);
      await sleep(2);
      open -= 1;
      openBySubscription.set(subscriptionId, (openBySubscription.get(subscriptionId) ?? 1) - 1);
      return { status: 200, body: { value: [] } };
    },
  } as unknown as AzureClients;
  return { clients, peak: () => ({ total: peakTotal, perSubscription: peakPerSubscription }) };
}

const identity = (subscription: number, n: number): Identity => {
  const subscriptionId = `00000000-0000-4000-8000-${subscription.toString().padStart(12, "0")}`;
  return {
    id: `/subscriptions/${subscriptionId}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-${n}`,
    name: `id-${n}`,
    subscriptionId,
    resourceGroup: "rg",
    location: "uksouth",
    tags: {},
    principalId: "",
    clientId: "",
    tenantId: "",
  };
};

describe("federated credential listing over many subscriptions", () => {
  it(`keeps at most ${FIC_CONCURRENCY_TOTAL} calls open in all and ${FIC_CONCURRENCY_PER_SUBSCRIPTION} per subscription`, async () => {
    const { clients, peak } = countingClients();
    const identities = Array.from({ length: 300 }, (_, subscription) => Array.from({ length: 12 }, (_, n) => identity(subscription, n))).flat();
    const listing = await listFederatedCredentials(clients, identities, { inThread: true });
    expect(listing.failed).toEqual([]);
    expect(peak().total).toBeLessThanOrEqual(FIC_CONCURRENCY_TOTAL);
    expect(peak().total).toBeGreaterThan(FIC_CONCURRENCY_PER_SUBSCRIPTION);
    expect(peak().perSubscription).toBeLessThanOrEqual(FIC_CONCURRENCY_PER_SUBSCRIPTION);
  });
});
