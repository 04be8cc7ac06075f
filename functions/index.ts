// The Function App's entry module (package.json "main"): telemetry first, then the table of functions the
// worker registers with `app`. Registration is synchronous, at import; a function's module — and with it the
// engine and the SDK clients — is imported on the function's first invocation, so the worker's start loads
// @azure/functions and nothing heavier (test/unit/layering.test.ts keeps it so).
import "./telemetry.js";
import { app } from "@azure/functions";
import { CLEANUP_QUEUE } from "../shared/cleanupQueue.js";

/** A handler that imports its module on its first call; later calls use the loaded handler. */
function loadedOnFirstCall<A extends unknown[], R>(load: () => Promise<(...args: A) => R>): (...args: A) => Promise<Awaited<R>> {
  let loading: Promise<(...args: A) => R> | undefined;
  return async (...args: A): Promise<Awaited<R>> => {
    loading ??= load();
    const handler = await loading;
    return await handler(...args);
  };
}

const DEFAULT_SCHEDULE = "0 0 */6 * * *";

app.eventGrid("onResourceEvent", { handler: loadedOnFirstCall(async () => (await import("./onResourceEvent.js")).onResourceEvent) });
app.timer("sweep", {
  // Read at registration: the host needs the schedule before any invocation.
  schedule: process.env["SWEEP_SCHEDULE"] || DEFAULT_SCHEDULE,
  runOnStartup: false,
  handler: loadedOnFirstCall(async () => (await import("./sweep.js")).sweep),
});
app.storageQueue("cleanup", { queueName: CLEANUP_QUEUE, connection: "AzureWebJobsStorage", handler: loadedOnFirstCall(async () => (await import("./cleanup.js")).cleanup) });
app.http("health", { methods: ["GET"], authLevel: "function", route: "health", handler: loadedOnFirstCall(async () => (await import("./health.js")).health) });
app.http("identities", { methods: ["GET"], authLevel: "function", route: "identities", handler: loadedOnFirstCall(async () => (await import("./identities.js")).identities) });
app.http("report", { methods: ["GET"], authLevel: "function", route: "report", handler: loadedOnFirstCall(async () => (await import("./report.js")).report) });
