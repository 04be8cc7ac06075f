import { describe, expect, it } from "vitest";
import type { TableClient } from "@azure/data-tables";
import { joinJson, keyFor, quoted, splitJson } from "../../shared/state/tableStore.js";
import { AttachmentBaselineStore, IdentityCatalogStore } from "../../shared/state/eventStores.js";

describe("Table storage chores (shared/state/tableStore.ts)", () => {
  it("JSON over several properties comes back whole; the count key can be named; too many parts is refused", () => {
    const big = { text: "x".repeat(65_000) };
    const parts = splitJson("prior", big);
    expect(parts["priorParts"]).toBe(3);
    expect(joinJson(parts, "prior")).toEqual(big);
    expect(joinJson({}, "prior")).toBeUndefined();
    const outbox = splitJson("payload", { a: 1 }, { countKey: "chunks" });
    expect(outbox).toEqual({ chunks: 1, payload0: '{"a":1}' });
    expect(joinJson(outbox, "payload", { countKey: "chunks" })).toEqual({ a: 1 });
    expect(() => splitJson("payload", big, { maxParts: 2 })).toThrow(/payload is \d+ characters/);
  });

  it("keys Table storage refuses are hashed; filter strings are quoted", () => {
    expect(keyFor("run-1.a_b")).toBe("run-1.a_b");
    expect(keyFor("/subscriptions/x")).toMatch(/^[0-9a-f]{64}$/);
    expect(quoted("it's")).toBe("'it''s'");
  });
});

describe("large writes are made a part at a time (a sweep of a million role assignments)", () => {
  /** A TableClient that takes transactions and says how many of the given items had been read when the first came. */
  function recording(read: () => number) {
    const firstAt: number[] = [];
    let entities = 0;
    const byPartition = new Map<string, { entities: number; transactions: number }>();
    const client = {
      createTable: async () => undefined,
      submitTransaction: async (actions: Array<[string, { partitionKey: string }]>) => {
        if (firstAt.length === 0) firstAt.push(read());
        entities += actions.length;
        const partition = byPartition.get(actions[0]?.[1].partitionKey ?? "") ?? { entities: 0, transactions: 0 };
        byPartition.set(actions[0]?.[1].partitionKey ?? "", { entities: partition.entities + actions.length, transactions: partition.transactions + 1 });
        return { status: 202 };
      },
      listEntities: () => ({ [Symbol.asyncIterator]: async function* () {} }),
    } as unknown as TableClient;
    // As few transactions as the partitions allow: each full (100) but its partition's last.
    const fewest = (): boolean => [...byPartition.values()].every((partition) => partition.transactions === Math.ceil(partition.entities / 100));
    return { client, firstAt, entities: () => entities, fewest };
  }

  /** The items, counting how many have had `field` read: what only their entity needs (its partition needs no more). */
  function counted<T extends object>(items: T[], field: string): { items: T[]; read: () => number } {
    const seen = new Set<T>();
    const wrapped = items.map((item) => new Proxy(item, { get: (target, key, receiver) => (key === field && seen.add(target), Reflect.get(target, key, receiver) as unknown) }));
    return { items: wrapped, read: () => seen.size };
  }

  it("the attachment baseline and the identity catalog: the first transaction goes before the last entry is made into an entity", async () => {
    const baseline = counted(Array.from({ length: 12_000 }, (_, n): [string, string[]] => [`/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-${n}`, [`/id/${n % 7}`]]), "1");
    const table = recording(baseline.read);
    await new AttachmentBaselineStore(table.client).setMany(baseline.items);
    expect(table.firstAt[0]).toBeLessThan(12_000);
    expect(table.entities()).toBe(12_000);
    expect(table.fewest()).toBe(true);

    const identities = counted(Array.from({ length: 12_000 }, (_, n) => ({ identityId: `/id/${n}`, principalId: `p-${n}`, clientId: `c-${n}`, attachedTo: [`/vm/${n}`] })), "principalId");
    const catalog = recording(identities.read);
    await new IdentityCatalogStore(catalog.client).putMany(identities.items);
    expect(catalog.firstAt[0]).toBeLessThan(12_000);
    expect(catalog.entities()).toBe(12_000);
    expect(catalog.fewest()).toBe(true);
  });
});
