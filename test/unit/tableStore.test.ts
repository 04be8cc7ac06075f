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
    const client = {
      createTable: async () => undefined,
      submitTransaction: async (actions: unknown[]) => {
        if (firstAt.length === 0) firstAt.push(read());
        entities += actions.length;
        return { status: 202 };
      },
      listEntities: () => ({ [Symbol.asyncIterator]: async function* () {} }),
    } as unknown as TableClient;
    return { client, firstAt, entities: () => entities };
  }

  /** The items, counting how far they have been read. */
  function counted<T>(items: T[]): { items: T[]; read: () => number } {
    let highest = 0;
    const proxy = new Proxy(items, {
      get(target, key, receiver) {
        if (typeof key === "string" && /^\d+$/.test(key)) highest = Math.max(highest, Number(key) + 1);
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    return { items: proxy, read: () => highest };
  }

  it("the attachment baseline and the identity catalog: the first transaction goes before the last entry is made into an entity", async () => {
    const baseline = counted(Array.from({ length: 12_000 }, (_, n): [string, string[]] => [`/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-${n}`, [`/id/${n % 7}`]]));
    const table = recording(baseline.read);
    await new AttachmentBaselineStore(table.client).setMany(baseline.items);
    expect(table.firstAt[0]).toBeLessThan(12_000);
    expect(table.entities()).toBe(12_000);

    const identities = counted(Array.from({ length: 12_000 }, (_, n) => ({ identityId: `/id/${n}`, principalId: `p-${n}`, clientId: `c-${n}`, attachedTo: [`/vm/${n}`] })));
    const catalog = recording(identities.read);
    await new IdentityCatalogStore(catalog.client).putMany(identities.items);
    expect(catalog.firstAt[0]).toBeLessThan(12_000);
    expect(catalog.entities()).toBe(12_000);
  });
});
