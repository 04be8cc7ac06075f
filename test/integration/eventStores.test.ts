import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAzurite, type RunningAzurite } from "../../local/azurite.js";
import { createAzureClients } from "../../shared/azure/clients.js";
import { AttachmentBaselineStore, DeliveryRecordStore } from "../../shared/state/eventStores.js";
import { keyFor } from "../../shared/state/tableStore.js";
import { idKey } from "../../shared/model.js";

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(() => azurite.stop());

const tableOn = (name: string) => createAzureClients({ kind: "emulator", url: "https://127.0.0.1:1", ca: "", storageConnectionString: azurite.connectionString }).table(name);
const VM = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1";
const VM2 = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm2";
const ID = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-a";

describe("event stores on Azurite", () => {
  it("delivery records: a second record of the same id is refused, by this process and by another; a forgotten one can be made again", async () => {
    const name = "dedupetest";
    const first = new DeliveryRecordStore(tableOn(name));
    const other = new DeliveryRecordStore(tableOn(name));
    const now = new Date("2026-11-20T10:00:00Z");
    expect(await first.record("event-1", now)).toBe(true);
    expect(await first.record("event-1", now)).toBe(false);
    expect(await other.record("event-1", now)).toBe(false);
    await first.forget("event-1");
    expect(await other.record("event-1", now)).toBe(true);
    expect(await first.record("event-1", now)).toBe(false);
    expect(await first.purge(new Date("2026-11-21T00:00:00Z"))).toBe(1);
  });

  it("baseline: entries written before the partition spread are read until a sweep's setMany moves them", async () => {
    const name = "baselinetest";
    const table = tableOn(name);
    await table.createTable();
    await table.upsertEntity({ partitionKey: "baseline", rowKey: keyFor(idKey(VM)), resourceId: VM, identityIds: JSON.stringify([ID]) });
    const store = new AttachmentBaselineStore(tableOn(name));
    expect(await store.isEmpty()).toBe(false);
    expect(await store.get(VM)).toEqual([ID]);
    expect(await store.resourcesReferencing(ID)).toEqual([VM]);
    // An event rewrites the entry: the spread one wins over the legacy one.
    await store.set(VM, []);
    expect(await store.get(VM)).toEqual([]);
    expect(await store.resourcesReferencing(ID)).toEqual([]);

    await store.setMany([[VM2, [ID]]]);
    const legacy = [];
    for await (const entity of table.listEntities({ queryOptions: { filter: "PartitionKey eq 'baseline'" } })) legacy.push(entity);
    expect(legacy).toEqual([]);
    expect(await store.get(VM)).toEqual([]);
    expect(await new AttachmentBaselineStore(tableOn(name)).get(VM2)).toEqual([ID]);
    expect(await store.resourcesReferencing(ID)).toEqual([VM2]);
  });
});
