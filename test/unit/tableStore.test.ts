import { describe, expect, it } from "vitest";
import { joinJson, keyFor, quoted, splitJson } from "../../shared/state/tableStore.js";

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
