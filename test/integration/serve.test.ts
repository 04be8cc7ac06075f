import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
  return fetch(serve.webhook(), {
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
    const response = await fetch(serve.webhook(), { method: "OPTIONS", headers: { "WebHook-Request-Origin": "eventgrid.azure.net" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("webhook-allowed-origin")).toBe("eventgrid.azure.net");
  });

  it("runs the sweep timer on demand and serves HTTP routes", async () => {
    expect((await fetch(`${url}/admin/functions/sweep`, { method: "POST", headers: { "x-functions-key": serve.keys.master } })).status).toBe(202);
    await untilLogged(serve, /sweep sweep-[^:]+: \d+ findings/);
    expect(serve.stderr).toMatch(/sweep sweep-[^:]+: 6 findings/);
    const inventory = (await (await fetch(`${url}/api/identities`, { headers: { "x-functions-key": serve.keys.function } })).json()) as { identities: unknown[] };
    expect(inventory.identities).toHaveLength(2);
    expect((await fetch(`${url}/api/nope`)).status).toBe(404);
    expect((await fetch(serve.webhook("nope"), { method: "POST", headers: serve.eventHeaders, body: "[]" })).status).toBe(404);
    // Names from the URL are looked up among the registered functions only, never among an object's own names.
    for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      expect((await fetch(`${url}/api/${name}`)).status, `/api/${name}`).toBe(404);
      expect((await fetch(`${url}/admin/functions/${name}`, { method: "POST", headers: { "x-functions-key": serve.keys.master } })).status, `/admin/functions/${name}`).toBe(404);
      expect((await fetch(serve.webhook(name), { method: "POST", headers: serve.eventHeaders, body: "[]" })).status, `functionName=${name}`).toBe(404);
    }
  });

  it("requires keys as the Functions host does: function key for /api, eventgrid_extension for the webhook, master key for /admin", async () => {
    const post = (target: string, headers: Record<string, string> = serve.eventHeaders) => fetch(target, { method: "POST", headers, body: "[]" });
    const bare = `${url}/runtime/webhooks/eventgrid?functionName=onResourceEvent`;
    expect((await post(bare)).status).toBe(401);
    expect((await post(`${bare}&code=wrong`)).status).toBe(401);
    // The function key is not the webhook's key; the master key opens everything.
    expect((await post(`${bare}&code=${serve.keys.function}`)).status).toBe(401);
    expect((await post(`${bare}&code=${serve.keys.master}`)).status).toBe(200);
    expect((await fetch(`${url}/admin/functions/sweep`, { method: "POST" })).status).toBe(401);
    expect((await fetch(`${url}/admin/functions/sweep`, { method: "POST", headers: { "x-functions-key": serve.keys.function } })).status).toBe(401);
    expect((await fetch(`${url}/api/identities`)).status).toBe(401);
    expect((await fetch(`${url}/api/identities?code=${serve.keys.eventGrid}`)).status).toBe(401);
    expect((await fetch(`${url}/api/identities?code=${serve.keys.function}`)).status).toBe(200);
    // authLevel as registered in functions/: the deep health check is a function-key route too.
    expect((await fetch(`${url}/api/health`)).status).toBe(401);
    expect(serve.stderr.match(/master key\s+\S+/g)).toHaveLength(1);
  });

  it("takes only JSON with the aeg-event-type header on the webhook (no text/plain, no forms, no header-less posts)", async () => {
    const event = { id: "forged", eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: "2026-11-20T10:00:00Z", data: { operationName: "Microsoft.Compute/virtualMachines/write", resourceUri: VM } };
    const post = (headers: Record<string, string>) => fetch(serve.webhook(), { method: "POST", headers, body: JSON.stringify([event]) });
    expect((await post({ "content-type": "text/plain", "aeg-event-type": "Notification" })).status).toBe(415);
    expect((await post({ "content-type": "application/x-www-form-urlencoded", "aeg-event-type": "Notification" })).status).toBe(415);
    expect((await post({ "content-type": "application/json" })).status).toBe(400);
    expect((await post({ "content-type": "application/cloudevents-batch+json; charset=utf-8", "aeg-event-type": "Notification" })).status).toBe(200);
    expect(serve.stderr.match(/event forged:/g)?.length ?? 0).toBeLessThanOrEqual(1);
  });

  it("listens on 127.0.0.1 only", () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("keeps the keys of local.settings.json HostKeys", async () => {
    const dir = mkdtempSync(join(tmpdir(), "uami-guard-keys-"));
    const master = "m".repeat(32);
    writeFileSync(join(dir, "local.settings.json"), JSON.stringify({ IsEncrypted: false, Values: {}, HostKeys: { masterKey: master, functionKeys: { default: "f".repeat(32) }, systemKeys: { eventgrid_extension: "e".repeat(32) } } }));
    const keyed = await startServe(["--estate", fixturePath("small-estate.json")], {}, { cwd: dir });
    try {
      expect(keyed.keys).toEqual({ master, function: "f".repeat(32), eventGrid: "e".repeat(32) });
      expect((await fetch(`${keyed.url}/api/identities`, { headers: { "x-functions-key": "f".repeat(32) } })).status).toBe(200);
    } finally {
      await keyed.stop();
    }
  });

  it("serves the access-review page at /api/report with its CSP, its history from the app's finding state", async () => {
    // authLevel function, as /api/identities: the page lists every identity and who can act as it.
    expect((await fetch(`${url}/api/report`)).status).toBe(401);
    const response = await fetch(`${url}/api/report`, { headers: { "x-functions-key": serve.keys.function } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(response.headers.get("content-security-policy")).toBe(REPORT_CSP);
    const model = modelFromHtml(await response.text());
    expect(model.identities).toHaveLength(2);
    expect(Array.isArray(model.history)).toBe(true);
    expect(serve.stderr).toContain(`GET  ${url}/api/report`);
  });
});
