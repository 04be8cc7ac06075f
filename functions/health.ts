import { app, type HttpResponseInit } from "@azure/functions";

/** GET /api/health: liveness for probes and the local host. */
export async function health(): Promise<HttpResponseInit> {
  return { status: 200, jsonBody: { status: "ok" } };
}

app.http("health", { methods: ["GET"], authLevel: "anonymous", route: "health", handler: health });
