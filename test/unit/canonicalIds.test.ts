import { describe, expect, it } from "vitest";
import { MAX_RESOURCE_ID_LENGTH, canonicalIdProblem, parseResourceEvent } from "../../shared/events/resourceEvent.js";

/** docs/guarantees.md "Canonical ids only" and "Poison never loops" (parsing never throws). */
const VM = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm1";

function event(resourceUri: unknown, extra: Record<string, unknown> = {}) {
  return {
    id: "e1",
    eventType: "Microsoft.Resources.ResourceWriteSuccess",
    eventTime: "2026-11-20T10:00:00Z",
    subject: typeof resourceUri === "string" ? resourceUri : VM,
    data: { operationName: "Microsoft.Compute/virtualMachines/write", resourceUri, status: "Succeeded" },
    ...extra,
  };
}

function deep(levels: number): unknown {
  let value: unknown = "leaf";
  for (let level = 0; level < levels; level += 1) value = { a: value };
  return value;
}

describe("canonical ids", () => {
  it("accepts an ordinary ARM id", () => {
    expect(canonicalIdProblem(VM)).toBeUndefined();
    expect(parseResourceEvent(event(VM)).ok).toBe(true);
  });

  it.each([
    ["a .. segment", `${VM}/../../vm2`, /\.\. segment/],
    ["a . segment", VM.replace("/providers", "/./providers"), /\.\. segment|\. or \.\./],
    ["%2e%2e", VM.replace("/providers", "/%2e%2e/providers"), /percent/],
    ["percent-encoded letters", VM.replace("vm1", "vm%31"), /percent/],
    ["an empty segment", VM.replace("/providers", "//providers"), /empty segment/],
    ["a trailing slash", `${VM}/`, /empty segment/],
    ["a control character", VM.replace("vm1", "vm\u00001"), /control/],
    ["a newline", VM.replace("vm1", "vm\n1"), /control/],
    ["a C1 control character", VM.replace("vm1", "vm\u009b1"), /control/],
    ["a query", `${VM}?api-version=1`, /\?/],
    ["a backslash", VM.replace("/providers", "\\providers"), /backslash/],
    ["over 2,048 characters", `${VM}/${"x".repeat(MAX_RESOURCE_ID_LENGTH)}`, /over 2048/],
  ])("%s in data.resourceUri is malformed", (_name, uri, reason) => {
    const parsed = parseResourceEvent(event(uri));
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? "" : parsed.reason).toMatch(reason);
  });

  it("checks the subject too", () => {
    const parsed = parseResourceEvent(event(VM, { subject: `${VM}/../vm2` }));
    expect(parsed).toMatchObject({ ok: false, reason: expect.stringMatching(/^subject/) });
  });
});

describe("parsing never throws", () => {
  it.each([
    ["5,000 levels deep at the root", deep(5_000)],
    ["5,000 levels deep in data.claims", { ...event(VM), data: { ...event(VM).data, claims: deep(5_000) } }],
    ["20,000 levels deep in an unknown key", { ...event(VM), extra: deep(20_000) }],
    ["a __proto__ key carrying the data", JSON.parse(`{"id":"p","eventType":"Microsoft.Resources.ResourceWriteSuccess","eventTime":"t","data":{"__proto__":{"operationName":"Microsoft.Compute/virtualMachines/write","resourceUri":"${VM}"}}}`)],
    ["a 32K-character id", { ...event(VM), id: "x".repeat(32 * 1024) }],
    ["an id that is an object", { ...event(VM), id: { toString: 1 } }],
    ["data that is a string", { ...event(VM), data: "x" }],
    ["a getter that throws", Object.defineProperty({ ...event(VM) }, "data", { enumerable: true, get: () => { throw new Error("boom"); } })],
  ])("%s: malformed, not thrown", (_name, raw) => {
    const parsed = parseResourceEvent(raw);
    expect(parsed.ok).toBe(false);
  });

  it("prints a control character in an id as an escape", () => {
    const parsed = parseResourceEvent({ ...event(VM), id: "bad\u001b[31mred\nline", eventType: 5 });
    expect(parsed.ok ? "" : parsed.id).toBe("bad\\u001b[31mred\\u000aline");
  });
});
