import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixturePath } from "../helpers/estate.js";
import { startServe, untilLogged, type ServeProcess } from "../helpers/serve.js";
import { modelFromHtml, REPORT_CSP } from "../../shared/report/html.js";

const RG = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-app";
const VM = `${RG}/providers/Microsoft.Compute/virtualMachines/vm1`;

let serve: ServeProcess;
let url: string;

beforeAll(async () => {
  serve = await startServe(["--estate", fixturePath("small-estate.json")]);
  url = serve.url;
});

afterAll(() => serve.stop());

function webhook(body: unknown, kind = "Notification") {
  return fetch(`${url}/runtime/webhooks/eventgrid?functionName=onResourceEvent`, {
    method: "POST",
    headers: { "content-type": "application/json", "aeg-event-type": kind },
    body: JSON.stringify(body),
  });
}

describe("uami-guard serve (the local Functions host)", () => {
  it("answers the Event Grid subscription validation handshake", async () => {
    const response = await webhook([{ id: "v", eventType: "Microsoft.EventGrid.SubscriptionValidationEvent", data: { validationCode: "code-123" } }], "SubscriptionValidation");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ validationResponse: "code-123" });
  });

  it("takes a batch of notifications, malformed ones included, and logs the finding", async () => {
    const write = { id: "serve-1", eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: "2026-11-20T10:00:00Z", data: { operationName: "Microsoft.Compute/virtualMachines/write", resourceUri: VM, status: "Succeeded", claims: { appid: "x", idtyp: "app" } } };
    const response = await webhook([write, { id: "junk" }, write]);
    expect(response.status).toBe(200);
    // serve logs after it answers: wait for the lines rather than read stderr at once.
    await untilLogged(serve, /event serve-1: high/, 2);
    await untilLogged(serve, /event serve-1: duplicate/);
    await untilLogged(serve, /event junk: malformed, dropped/);
    expect(serve.stderr).toMatch(/event serve-1: high attachment-outside-pipeline/);
    expect(serve.stderr).toMatch(/event junk: malformed, dropped/);
    expect(serve.stderr.match(/event serve-1: high/g)).toHaveLength(2);
    expect(serve.stderr).toMatch(/event serve-1: duplicate/);
  });

  it("answers the CloudEvents abuse-protection handshake", async () => {
    const response = await fetch(`${url}/runtime/webhooks/eventgrid?functionName=onResourceEvent`, { method: "OPTIONS", headers: { "WebHook-Request-Origin": "eventgrid.azure.net" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("webhook-allowed-origin")).toBe("eventgrid.azure.net");
  });

  it("runs the sweep timer on demand and serves HTTP routes", async () => {
    expect((await fetch(`${url}/admin/functions/sweep`, { method: "POST" })).status).toBe(202);
    await untilLogged(serve, /sweep sweep-[^:]+: \d+ findings/);
    expect(serve.stderr).toMatch(/sweep sweep-[^:]+: 6 findings/);
    const inventory = (await (await fetch(`${url}/api/identities`)).json()) as { identities: unknown[] };
    expect(inventory.identities).toHaveLength(2);
    expect((await fetch(`${url}/api/nope`)).status).toBe(404);
    expect((await fetch(`${url}/runtime/webhooks/eventgrid?functionName=nope`, { method: "POST", body: "[]" })).status).toBe(404);
  });

  it("serves the access-review page at /api/report with its CSP, its history from the app's finding state", async () => {
    const response = await fetch(`${url}/api/report`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(response.headers.get("content-security-policy")).toBe(REPORT_CSP);
    const model = modelFromHtml(await response.text());
    expect(model.identities).toHaveLength(2);
    expect(Array.isArray(model.history)).toBe(true);
    expect(serve.stderr).toContain(`GET  ${url}/api/report`);
  });
});
