import { HttpRequest, InvocationContext } from "@azure/functions";
import { describe, expect, it } from "vitest";
import { azuriteTargets } from "../helpers/azuriteTargets.js";
import { loadFixture } from "../helpers/estate.js";
import { healthHandler } from "../../functions/health.js";
import { policySchema } from "../../shared/config/policy.js";
import { readAppSettings } from "../../shared/config/settings.js";
import { TABLES, CLEANUP_QUEUE } from "../../shared/composition.js";
import { redact, runSelfCheck } from "../../shared/azure/selfCheck.js";
import type { AzureClients } from "../../shared/azure/clients.js";

const S1 = "11111111-1111-1111-1111-111111111111";
const S3 = "33333333-3333-3333-3333-333333333333";
const targets = azuriteTargets();

async function deepHealth(clients: AzureClients, subscriptions: string[]) {
  const settings = { ...readAppSettings({}), UAMI_GUARD_SUBSCRIPTIONS: subscriptions };
  const handler = healthHandler(async () => ({ clients, settings, policy: policySchema.parse({ self: { objectId: "eeeeeeee-0000-0000-0000-0000000000ee" } }) }));
  const response = await handler(new HttpRequest({ method: "GET", url: "http://127.0.0.1/api/health?deep=1" }), new InvocationContext({ functionName: "health", invocationId: "h", logHandler: () => undefined }));
  return response as { status: number; jsonBody: { status: string; checks: Record<string, string> } };
}

describe("GET /api/health?deep=1 (emulator and Azurite)", () => {
  it("answers ok for every check the app's identity passes", async () => {
    const target = await targets.start(loadFixture("guard-estate.json"));
    const { status, jsonBody } = await deepHealth(target.clients, [S1, S3]);
    expect(jsonBody.checks).toEqual({
      [`resourceGraph /subscriptions/${S1}`]: "ok",
      [`resourceGraph /subscriptions/${S3}`]: "ok",
      "graph getByIds": "ok",
      "graph appRoleAssignedTo": "ok",
      "graph directory role assignments": "ok",
      "graph directory role eligibilities": "ok",
      "graph $batch group reads": "ok",
      [`arm roleEligibilityScheduleInstances /subscriptions/${S1}`]: "ok",
      [`arm roleEligibilityScheduleInstances /subscriptions/${S3}`]: "ok",
      ...Object.fromEntries(Object.values(TABLES).map((table) => [`table ${table}`, "ok"])),
      [`queue ${CLEANUP_QUEUE}`]: "ok",
      "sink teams": "ok",
      "sink sentinel": "ok",
      "sink eventgrid": "ok",
    });
    expect([status, jsonBody.status]).toEqual([200, "ok"]);
    // The probe message was deleted: the cleanup trigger has nothing to take.
    const peeked = await target.clients.queue(CLEANUP_QUEUE).peekMessages({ numberOfMessages: 32 });
    expect(peeked.peekedMessageItems).toEqual([]);
  });

  it("names each failing check with its reason and answers 503", async () => {
    const estate = loadFixture("guard-estate.json");
    estate.emulator.faults = [
      { service: "graph", status: 403, rate: 1 },
      { service: "resourceGraph", status: 403, rate: 1 },
    ];
    const target = await targets.start(estate);
    const { status, jsonBody } = await deepHealth(target.clients, [S1]);
    expect(status).toBe(503);
    expect(jsonBody.status).toBe("failed");
    expect(jsonBody.checks["graph getByIds"]).toMatch(/^failed: .*403/);
    expect(jsonBody.checks["graph directory role assignments"]).toMatch(/^failed: .*403/);
    expect(jsonBody.checks["graph $batch group reads"]).toMatch(/^failed: .*403/);
    expect(jsonBody.checks[`resourceGraph /subscriptions/${S1}`]).toMatch(/^failed: .*403/);
    expect(jsonBody.checks["table uamiguardfindings"]).toBe("ok");
  });

  it("a sink that cannot be reached fails without its URL's secret", async () => {
    const target = await targets.start(loadFixture("guard-estate.json"));
    const report = await runSelfCheck(target.clients, {
      subscriptions: [S1],
      tables: [],
      queue: CLEANUP_QUEUE,
      sinks: { teamsWebhookUrl: "https://127.0.0.1:1/workflows/x/triggers/manual/paths/invoke?api-version=2016-06-01&sig=TOPSECRET" },
    });
    expect(report.checks["sink teams"]).toMatch(/^failed: /);
    expect(report.status).toBe("failed");
    expect(JSON.stringify(report)).not.toContain("TOPSECRET");
  });

  it("without deep=1 it is a liveness answer that calls nothing", async () => {
    const handler = healthHandler(async () => {
      throw new Error("must not be called");
    });
    const response = await handler(new HttpRequest({ method: "GET", url: "http://127.0.0.1/api/health" }), new InvocationContext({ functionName: "health", invocationId: "h", logHandler: () => undefined }));
    expect(response).toEqual({ status: 200, jsonBody: { status: "ok" } });
  });
});

describe("redact", () => {
  it.each([
    ["a URL's query", "POST https://prod-00.logic.azure.com/workflows/x?api-version=1&sig=abc failed", "POST https://prod-00.logic.azure.com/workflows/x?… failed"],
    ["a connection string's key", "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=c2VjcmV0;", "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=…;"],
    ["plain text", "connect ECONNREFUSED 127.0.0.1:1", "connect ECONNREFUSED 127.0.0.1:1"],
  ])("blanks %s", (_name, text, expected) => {
    expect(redact(text)).toBe(expected);
  });
});
