import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServe } from "../helpers/serve.js";
import { loadFixture } from "../helpers/estate.js";

/*
 * A real export: `serve --estate` with APPLICATIONINSIGHTS_CONNECTION_STRING set (to a host that does
 * not exist) sends telemetry to the emulator's ingestion endpoint instead, flushes it on exit, and
 * `--capture` writes what arrived to appinsights.json. Every other request the process makes through a
 * proxy-aware client (the Azure SDK pipeline honours HTTPS_PROXY; NO_PROXY exempts the loopback) would
 * reach the recording proxy: statsbeat, live metrics and OneSettings must not.
 */
const S1 = "11111111-1111-1111-1111-111111111111";
const S4 = "44444444-4444-4444-4444-444444444444";
const GUARD_RG = `/subscriptions/${S1}/resourceGroups/rg-guard`;
const EVENT_SUBSCRIPTION = `${GUARD_RG}/providers/Microsoft.EventGrid/systemTopics/evgst-uamiguard-prod/eventSubscriptions/uami-guard`;

interface Envelope {
  name: string;
  data: { baseType: string; baseData: { name?: string; metrics?: Array<{ name: string; value: number }>; properties?: Record<string, string> } };
}

let proxy: Server;
const proxied: string[] = [];
beforeAll(async () => {
  proxy = createServer((req, res) => {
    proxied.push(`${req.method ?? ""} ${req.url ?? ""}`);
    res.writeHead(502).end();
  });
  proxy.on("connect", (req, socket) => {
    proxied.push(`CONNECT ${req.url ?? ""}`);
    socket.end("HTTP/1.1 502 Bad Gateway\r\n\r\n");
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
});
afterAll(() => new Promise<void>((resolve) => proxy.close(() => resolve())));

describe("Application Insights telemetry through serve", () => {
  it("exports the guard's metrics and trigger spans to the emulator's ingestion endpoint, and nothing elsewhere", async () => {
    const dir = mkdtempSync(join(tmpdir(), "uamiguard-telemetry-"));
    const estate = loadFixture("guard-estate.json");
    // One subscription whose event subscriptions cannot be listed: an incomplete check.
    estate.emulator.faults = [{ service: "arm", status: 403, rate: 1, pathContains: `/subscriptions/${S4}/resourcegroups/rg-guard/providers/microsoft.eventgrid/systemtopics/evgst-uamiguard-prod/eventsubscriptions` }];
    writeFileSync(join(dir, "estate.json"), JSON.stringify(estate));
    writeFileSync(
      join(dir, "policy.json"),
      JSON.stringify({ self: { objectId: "eeeeeeee-0000-0000-0000-0000000000ee", functionAppId: `${GUARD_RG}/providers/Microsoft.Web/sites/func-uamiguard-x`, resources: [GUARD_RG] } }),
    );
    const address = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const serve = await startServe(["--estate", join(dir, "estate.json"), "--policy", join(dir, "policy.json"), "--notify", "--capture", join(dir, "capture")], {
      APPLICATIONINSIGHTS_CONNECTION_STRING: "InstrumentationKey=00000000-0000-4000-8000-00000000a1a1;IngestionEndpoint=https://uksouth-1.in.applicationinsights.azure.com/",
      UAMI_GUARD_SUBSCRIPTIONS: `${S1},33333333-3333-3333-3333-333333333333,${S4}`,
      HTTPS_PROXY: address,
      HTTP_PROXY: address,
      NO_PROXY: "127.0.0.1,localhost",
    });
    try {
      expect((await fetch(`${serve.url}/admin/functions/sweep`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status).toBe(202);
      const event = {
        id: "tamper-1",
        eventType: "Microsoft.Resources.ResourceDeleteSuccess",
        eventTime: "2026-11-20T10:00:00Z",
        subject: EVENT_SUBSCRIPTION,
        dataVersion: "2",
        metadataVersion: "1",
        data: { operationName: "Microsoft.EventGrid/systemTopics/eventSubscriptions/delete", resourceUri: EVENT_SUBSCRIPTION, status: "Succeeded", subscriptionId: S1, claims: { appid: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "http://schemas.microsoft.com/identity/claims/objectidentifier": "dddddddd-0000-0000-0000-0000000000bb", "http://schemas.microsoft.com/identity/claims/scope": "user_impersonation" } },
      };
      const delivered = await fetch(`${serve.url}/runtime/webhooks/eventgrid?functionName=onResourceEvent`, { method: "POST", headers: { "content-type": "application/json", "aeg-event-type": "Notification" }, body: JSON.stringify([event]) });
      expect(delivered.status).toBeLessThan(300);
      await waitFor(() => /\] sweep sweep-/.test(serve.stderr), 20_000);
    } finally {
      await serve.stop();
    }
    const envelopes = JSON.parse(readFileSync(join(dir, "capture", "appinsights.json"), "utf8")) as Envelope[];
    const metrics = envelopes.filter((envelope) => envelope.data.baseType === "MetricData").flatMap((envelope) => (envelope.data.baseData.metrics ?? []).map((metric) => ({ name: metric.name, value: metric.value, properties: envelope.data.baseData.properties ?? {} })));
    const named = (name: string) => metrics.filter((metric) => metric.name === name);
    expect(named("uamiguard.events").map((metric) => metric.properties)).toContainEqual({ status: "processed" });
    expect(named("uamiguard.findings").map((metric) => metric.properties)).toEqual(
      expect.arrayContaining([
        { ruleId: "governance-tampering", severity: "critical", mode: "audit" },
        { ruleId: "event-coverage-missing", severity: "high", mode: "audit" },
      ]),
    );
    expect(named("uamiguard.sweep.duration")).toHaveLength(1);
    expect(named("uamiguard.sweep.duration")[0]?.value).toBeGreaterThanOrEqual(0);
    expect(named("uamiguard.incomplete").map((metric) => metric.properties)).toContainEqual({ check: "event-coverage" });
    expect(named("uamiguard.outbox.pending").map((metric) => metric.properties.sink).sort()).toEqual(expect.arrayContaining(["teams"]));
    const spans = envelopes.filter((envelope) => envelope.data.baseType === "RemoteDependencyData" || envelope.data.baseType === "RequestData").map((envelope) => envelope.data.baseData);
    expect(spans.some((span) => span.name === "sweep" && (span.properties?.["uamiguard.runId"] ?? "").startsWith("sweep-"))).toBe(true);
    expect(spans.some((span) => span.name === "onResourceEvent" && span.properties?.["uamiguard.runId"] === "event-tamper-1")).toBe(true);
    expect(proxied).toEqual([]);
  });
});

async function waitFor(done: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!done() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100));
}
