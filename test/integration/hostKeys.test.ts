import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateHostKeys, startHost, type RunningHost } from "../../local/host.js";

/**
 * The local host answers 401 as the Functions host does when a key is missing or wrong (Learn: "Work
 * with access keys in Azure Functions"), and says which key the route takes: a user holding a function
 * key learns that /admin needs the master key. It never names a key's value.
 */
describe("the local Functions host's key errors", () => {
  const keys = generateHostKeys();
  let host: RunningHost;
  beforeAll(async () => {
    host = await startHost(
      {
        eventGrid: { onResourceEvent: async () => undefined },
        timers: { sweep: { handler: async () => undefined } },
        http: { health: { methods: ["GET"], authLevel: "function", handler: async () => ({ status: 200, jsonBody: { status: "ok" } }) } },
      },
      { keys, port: 0, log: () => undefined },
    );
  });
  afterAll(async () => {
    await host?.stop();
  });

  const error = async (path: string, init: RequestInit = {}): Promise<{ status: number; error: string }> => {
    const response = await fetch(`${host.url}${path}`, init);
    const body = (await response.json()) as { error: string };
    return { status: response.status, error: body.error };
  };

  it("/admin with a function key: 401 saying the master key is needed", async () => {
    const answer = await error("/admin/functions/sweep", { method: "POST", headers: { "x-functions-key": keys.function } });
    expect(answer).toEqual({ status: 401, error: "the master key (a function key does not open /admin) is required (?code= or x-functions-key); the key given is another one" });
    expect((await fetch(`${host.url}/admin/functions/sweep?code=${keys.master}`, { method: "POST" })).status).toBe(202);
  });

  it("/api/health without a key: 401 saying a function key is needed", async () => {
    expect(await error("/api/health")).toEqual({ status: 401, error: "a function key (or the master key) is required (?code= or x-functions-key)" });
    expect((await fetch(`${host.url}/api/health?code=${keys.function}`)).status).toBe(200);
  });

  it("the webhook with a function key: 401 naming the eventgrid_extension key, never a value", async () => {
    const answer = await error(`/runtime/webhooks/eventgrid?functionName=onResourceEvent&code=${keys.function}`, { method: "POST" });
    expect(answer.status).toBe(401);
    expect(answer.error).toMatch(/eventgrid_extension system key/);
    for (const key of Object.values(keys)) expect(answer.error).not.toContain(key);
  });
});
