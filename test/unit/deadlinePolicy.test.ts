import { getEventListeners } from "node:events";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { createHttpHeaders, createPipelineRequest, type PipelineResponse, type SendRequest } from "@azure/core-rest-pipeline";
import { deadlinePolicy, withRunDeadline } from "../../shared/azure/deadline.js";

/**
 * The deadline policy listens to the run's signal and the caller's for each call in flight, and must let go when the
 * call ends — for a streamed body, when the stream closes. A sweep has far more than Node's default 10 calls in
 * flight; the CLI's stderr must not carry a MaxListenersExceededWarning for that (test/integration/cliPipes.test.ts).
 */
const warnings: Error[] = [];
const onWarning = (warning: Error): void => {
  warnings.push(warning);
};

afterEach(() => {
  process.off("warning", onWarning);
  warnings.length = 0;
});

function answer(body?: NodeJS.ReadableStream): SendRequest {
  return async (request) => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    const response: PipelineResponse = { request, status: 200, headers: createHttpHeaders() };
    if (body) response.readableStreamBody = body;
    return response;
  };
}

describe("deadline policy", () => {
  it("warns of nothing when a run has many calls in flight at once", async () => {
    process.on("warning", onWarning);
    const policy = deadlinePolicy(5_000);
    await withRunDeadline(60_000, () =>
      Promise.all(Array.from({ length: 40 }, () => policy.sendRequest(createPipelineRequest({ url: "https://127.0.0.1/x" }), answer()))),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.map((warning) => warning.name)).not.toContain("MaxListenersExceededWarning");
  });

  it("stops listening to the caller's signal once a streamed body closes", async () => {
    const caller = new AbortController();
    const body = Readable.from(["{}"]);
    const request = createPipelineRequest({ url: "https://127.0.0.1/x", abortSignal: caller.signal });
    await deadlinePolicy(5_000).sendRequest(request, answer(body));
    expect(getEventListeners(caller.signal, "abort")).toHaveLength(1);
    body.resume();
    await new Promise((resolve) => body.once("close", resolve));
    expect(getEventListeners(caller.signal, "abort")).toHaveLength(0);
  });

  it("stops listening to the caller's signal when an answer without a stream comes", async () => {
    const caller = new AbortController();
    await deadlinePolicy(5_000).sendRequest(createPipelineRequest({ url: "https://127.0.0.1/x", abortSignal: caller.signal }), answer());
    expect(getEventListeners(caller.signal, "abort")).toHaveLength(0);
  });
});
