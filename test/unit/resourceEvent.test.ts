import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseResourceEvent } from "../../shared/events/resourceEvent.js";

const example = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../docs/examples/${name}`, import.meta.url), "utf8")) as Record<string, unknown>;

const eventGrid = {
  id: "e1",
  eventType: "Microsoft.Resources.ResourceWriteSuccess",
  eventTime: "2026-11-20T10:00:00Z",
  data: {
    operationName: "Microsoft.Compute/virtualMachines/write",
    resourceUri: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1",
    status: "Succeeded",
    claims: { appid: "app-1", "http://schemas.microsoft.com/identity/claims/objectidentifier": "obj-1", idtyp: "app" },
  },
};

describe("parseResourceEvent", () => {
  it("reads the Event Grid schema with an app-only caller", () => {
    const parsed = parseResourceEvent(eventGrid);
    expect(parsed).toMatchObject({ ok: true, event: { id: "e1", subscriptionId: "s", caller: { appId: "app-1", objectId: "obj-1", delegated: false } } });
  });

  it("reads CloudEvents 1.0", () => {
    const cloud = { specversion: "1.0", id: "c1", type: eventGrid.eventType, source: "/subscriptions/s", time: "2026-11-20T10:00:00Z", data: eventGrid.data };
    expect(parseResourceEvent(cloud)).toMatchObject({ ok: true, event: { id: "c1", eventType: eventGrid.eventType, operationName: eventGrid.data.operationName } });
  });

  it("reads the examples of docs/events.md: a user token is delegated", () => {
    const user = parseResourceEvent(example("event-role-assignment-write.json"));
    expect(user).toMatchObject({ ok: true, event: { caller: { delegated: true, upn: "someone@contoso.example", appId: "04b07795-8ddb-461a-bbee-02f9e1bf7b46" } } });
    const pipeline = parseResourceEvent(example("event-vm-write-by-pipeline.json"));
    expect(pipeline).toMatchObject({ ok: true, event: { caller: { delegated: false, appId: "99999999-0000-4000-8000-000000000042" } } });
  });

  it.each([
    ["null", null, /not a JSON object/],
    ["an array", [eventGrid], /not a JSON object/],
    ["a string", "event", /not a JSON object/],
    ["data not an object", { ...eventGrid, data: "x" }, /data/],
    ["no operationName", { ...eventGrid, data: { ...eventGrid.data, operationName: undefined } }, /data\.operationName/],
    ["operationName a number", { ...eventGrid, data: { ...eventGrid.data, operationName: 42 } }, /data\.operationName/],
    ["resourceUri not an id", { ...eventGrid, data: { ...eventGrid.data, resourceUri: "vm1" } }, /data\.resourceUri/],
    ["no id", { ...eventGrid, id: undefined }, /id/],
    ["huge", { ...eventGrid, data: { ...eventGrid.data, padding: "x".repeat(1_100_000) } }, /over the 1048576-byte limit/],
  ])("drops %s with a reason", (_name, raw, reason) => {
    const parsed = parseResourceEvent(raw);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(reason);
  });
});
