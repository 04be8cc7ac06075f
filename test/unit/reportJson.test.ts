import { describe, expect, it } from "vitest";
import { jsonBlob, jsonParts } from "../../shared/report/json.js";

/** The report's JSON a piece at a time must be, joined, exactly JSON.stringify's text: pages and tools parse it. */
const VALUES: Array<[string, object]> = [
  ["empty", {}],
  ["scalars and nesting", { schema: "v1", count: 3, none: null, flag: true, summary: { byRule: [{ ruleId: "a", count: 2 }], byGrade: null } }],
  ["arrays, empty and not", { empty: [], identities: [{ id: "/x", tags: { owner: "</script>\u2028" }, list: [1, [2, []]] }, { id: "/y" }], numbers: [1, 2] }],
  ["keys JSON leaves out", { kept: 1, gone: undefined, alsoKept: [undefined, 2], last: "é\"\\" }],
];

describe("jsonParts", () => {
  it.each(VALUES)("joins to JSON.stringify's text, compact and indented: %s", (_name, value) => {
    expect([...jsonParts(value)].join("")).toBe(JSON.stringify(value));
    expect([...jsonParts(value, 2)].join("")).toBe(JSON.stringify(value, null, 2));
  });

  it("yields each item of a top-level array on its own, never the whole text", () => {
    const items = Array.from({ length: 1000 }, (_, at) => ({ id: `/identity/${at}`, roles: ["Owner"] }));
    const parts = [...jsonParts({ identities: items })];
    expect(parts.length).toBeGreaterThan(items.length);
    expect(Math.max(...parts.map((part) => part.length))).toBeLessThan(100);
  });

  it("makes a Blob of the same text, or none when it would pass the bytes allowed", async () => {
    const [, value] = VALUES[2] as [string, object];
    expect(await jsonBlob(value)?.text()).toBe(JSON.stringify(value));
    expect(jsonBlob(value, Buffer.byteLength(JSON.stringify(value)))).toBeDefined();
    expect(jsonBlob(value, 10)).toBeUndefined();
  });
});
