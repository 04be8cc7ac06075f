import { afterEach, describe, expect, it } from "vitest";
import { readIdentities } from "../../shared/azure/estateReader.js";
import { ServiceCallFailed } from "../../shared/errors.js";
import { emptyEstate, guid, identityResource, startTarget, type TestTarget } from "../helpers/estate.js";

function identities(count: number) {
  return Array.from({ length: count }, (_, index) => identityResource(`id-${index}`, guid(index, "aaaa"), guid(index, "cccc")));
}

let target: TestTarget | undefined;
afterEach(async () => {
  await target?.stop();
  target = undefined;
});

describe("Resource Graph paging against the emulator (real @azure/arm-resourcegraph client)", () => {
  it("pages 1,000 rows at a time with $skipToken and returns every row once", async () => {
    target = await startTarget(emptyEstate({ resources: identities(2500) }));
    const read = await readIdentities(target.clients);
    expect(read).toHaveLength(2500);
    expect(new Set(read.map((identity) => identity.id)).size).toBe(2500);
    const pages = target.emulator.requests.filter((request) => request.service === "resourceGraph");
    expect(pages).toHaveLength(3);
  });

  it("paces itself by the quota headers and is never throttled", async () => {
    target = await startTarget(
      emptyEstate({ resources: identities(5500), emulator: { latencyMs: 0, faults: [], seed: 1, resourceGraphQuota: { requests: 2, windowSeconds: 0.4 } } }),
    );
    const started = Date.now();
    const read = await readIdentities(target.clients);
    const elapsed = Date.now() - started;
    expect(read).toHaveLength(5500);
    const statuses = target.emulator.requests.map((request) => request.status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    // 6 requests at 2 per 0.4 s: at least two full windows waited.
    expect(elapsed).toBeGreaterThanOrEqual(750);
  });

  it("retries a 429 with Retry-After through the SDK pipeline", async () => {
    target = await startTarget(
      emptyEstate({ resources: identities(10), emulator: { latencyMs: 0, seed: 1, faults: [{ service: "resourceGraph", status: 429, rate: 1, count: 1, retryAfterSeconds: 0 }] } }),
    );
    expect(await readIdentities(target.clients)).toHaveLength(10);
    expect(target.emulator.requests.map((request) => request.status)).toEqual([429, 200]);
  });

  it("turns a persistent failure into ServiceCallFailed, not an empty result", async () => {
    target = await startTarget(
      emptyEstate({ resources: identities(10), emulator: { latencyMs: 0, seed: 1, faults: [{ service: "resourceGraph", status: 403, rate: 1 }] } }),
    );
    await expect(readIdentities(target.clients)).rejects.toBeInstanceOf(ServiceCallFailed);
    await expect(readIdentities(target.clients)).rejects.toThrow(/resourceGraph: HTTP 403/);
  });
});
