import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { saveEstateFile } from "../../local/emulator/estate.js";
import { MAX_DEQUEUE_COUNT } from "../../cli/serve.js";
import { startServe, untilLogged, type ServeProcess } from "../helpers/serve.js";
import { PROTECTED, cleanupEstate, cleanupEvents } from "../helpers/cleanupEstate.js";

let serve: ServeProcess;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "uami-guard-serve-cleanup-"));
  const estate = join(dir, "estate.json");
  saveEstateFile(estate, cleanupEstate());
  const policy = join(dir, "policy.json");
  writeFileSync(
    policy,
    JSON.stringify({
      protected: PROTECTED,
      cleanup: { dryRun: false },
      rules: { "role-assignment-outside-pipeline": { mode: "enforce" }, "attachment-outside-pipeline": { mode: "enforce" } },
    }),
  );
  serve = await startServe(["--estate", estate, "--policy", policy]);
});

afterAll(() => serve.stop());

const until = (pattern: RegExp, count: number, timeoutMs?: number): Promise<void> => untilLogged(serve, pattern, count, timeoutMs);

describe("uami-guard serve runs the cleanup queue trigger", () => {
  it("events in enforce mode become work items that the local host's queue trigger carries out", async () => {
    const response = await fetch(`${serve.url}/runtime/webhooks/eventgrid?functionName=onResourceEvent`, {
      method: "POST",
      headers: { "content-type": "application/json", "aeg-event-type": "Notification" },
      body: JSON.stringify(cleanupEvents()),
    });
    expect(response.status).toBe(200);
    expect(serve.stderr).toMatch(/cleanup queued: detach/);
    expect(serve.stderr).toMatch(/cleanup queued: delete role assignment/);
    await until(/\[cleanup\] cleanup event-cleanup-event-\d: done: /, 2);
    expect(serve.stderr).toMatch(/done: detach .*id-extra from .*vm-1/);
  }, 40_000);

  it("retries like the Functions host (host.json maxDequeueCount)", () => {
    const hostJson = JSON.parse(readFileSync(fileURLToPath(new URL("../../host.json", import.meta.url)), "utf8")) as { extensions: { queues: { maxDequeueCount: number } } };
    expect(MAX_DEQUEUE_COUNT).toBe(hostJson.extensions.queues.maxDequeueCount);
  });
});
