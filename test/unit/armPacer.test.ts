import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { ROOT } from "../helpers/sources.js";
import { ArmBucketPacer } from "../../shared/azure/armPacer.js";
import { ArmQuota } from "../../local/emulator/faults.js";

/** A pacer and ARM's bucket on one fake clock; `wait` advances it. */
function simulation(bucket: [number, number], concurrency: number, requests: number) {
  let now = 0;
  const quota = new ArmQuota({ reads: bucket, writes: [200, 10], deletes: [200, 10] });
  const pacer = new ArmBucketPacer({ capacity: bucket[0], refillPerSecond: bucket[1] }, () => now, async (ms) => {
    now += ms;
  });
  let throttled = 0;
  let sent = 0;
  const worker = async () => {
    while (sent < requests) {
      sent += 1;
      const ticket = await pacer.acquire();
      const decision = quota.take("/subscriptions/s1/resourcegroups/rg/x", "GET", "principal", now);
      if (!decision.allowed) throttled += 1;
      now += 1;
      pacer.release(ticket, true, decision.headers["x-ms-ratelimit-remaining-subscription-reads"]);
    }
  };
  return { run: async () => (await Promise.all(Array.from({ length: concurrency }, worker)), { throttled, elapsed: now }) };
}

describe("ArmBucketPacer against ARM's read bucket", () => {
  it("never draws a 429 and finishes near the bucket's floor", async () => {
    const { throttled, elapsed } = await simulation([250, 25], 8, 2000).run();
    expect(throttled).toBe(0);
    const floor = ((2000 - 250) / 25) * 1000;
    expect(elapsed).toBeGreaterThanOrEqual(floor);
    expect(elapsed).toBeLessThanOrEqual(floor * 1.1);
  });

  it("sends one request at a time until an answer says how full the bucket is", async () => {
    const pacer = new ArmBucketPacer(undefined, () => 0, async () => undefined);
    const first = await pacer.acquire();
    let second = false;
    const pending = pacer.acquire().then(() => (second = true));
    await Promise.resolve();
    expect(second).toBe(false);
    pacer.release(first, true, "10");
    await pending;
    expect(second).toBe(true);
  });

  it("ignores an answer older than one already taken into account", async () => {
    let now = 0;
    const pacer = new ArmBucketPacer({ capacity: 250, refillPerSecond: 25 }, () => now, async (ms) => {
      now += ms;
    });
    const probe = await pacer.acquire();
    pacer.release(probe, true, "2");
    const older = await pacer.acquire();
    const newer = await pacer.acquire();
    pacer.release(newer, true, "0");
    pacer.release(older, true, "200");
    const before = now;
    await pacer.acquire();
    // The bucket is empty (the newer answer): one token takes 40 ms to refill.
    expect(now - before).toBeGreaterThanOrEqual(40);
  });

  it("does not count on refill while its requests are in flight and ARM's bucket may sit full", async () => {
    let now = 0;
    let mayWait = true;
    const pacer = new ArmBucketPacer({ capacity: 10, refillPerSecond: 10 }, () => now, async (ms) => {
      if (!mayWait) throw new Error("would wait");
      now += ms;
    });
    pacer.release(await pacer.acquire(), true, "9");
    mayWait = false;
    for (let n = 0; n < 8; n += 1) await pacer.acquire();
    // Ten seconds later none of the eight has reached ARM: its bucket sat at 10 and will be at 2 after them.
    now += 10_000;
    // One more fits beside the reserve; the next must wait (the old estimate, refilled to 10, sent more).
    await pacer.acquire();
    await expect(pacer.acquire()).rejects.toThrow("would wait");
  });

  it("two threads' pacers of one bucket share one estimate: separate estimates count each refill twice and draw 429s", async () => {
    // The federated credential listing's worker (8 at a time) and the main thread's reads (PIM eligibility,
    // 2 at a time) of one subscription, on one fake clock against one bucket.
    const run = async (shared: boolean) => {
      let now = 0;
      const quota = new ArmQuota({ reads: [250, 25], writes: [200, 10], deletes: [200, 10] });
      const wait = async (ms: number) => {
        now += ms;
      };
      const worker = new ArmBucketPacer(undefined, () => now, wait);
      const main = new ArmBucketPacer(undefined, () => now, wait, shared ? worker.shared : undefined);
      let throttled = 0;
      const drive = (pacer: ArmBucketPacer, total: number, concurrency: number) => {
        let sent = 0;
        const one = async () => {
          while (sent < total) {
            sent += 1;
            const ticket = await pacer.acquire();
            const decision = quota.take("/subscriptions/s1/x", "GET", "principal", now);
            if (!decision.allowed) throttled += 1;
            now += 1;
            pacer.release(ticket, true, decision.headers["x-ms-ratelimit-remaining-subscription-reads"]);
          }
        };
        return Promise.all(Array.from({ length: concurrency }, one));
      };
      await Promise.all([drive(worker, 1000, 8), drive(main, 200, 2)]);
      return { throttled, elapsed: now };
    };
    expect((await run(false)).throttled).toBeGreaterThan(0);
    const { throttled, elapsed } = await run(true);
    expect(throttled).toBe(0);
    expect(elapsed).toBeLessThanOrEqual(((1200 - 250) / 25) * 1000 * 1.1);
  });

  it("shares the estimate with a pacer in a real worker thread: every ticket once, nothing left in flight", async () => {
    const pacer = new ArmBucketPacer({ capacity: 100_000, refillPerSecond: 10_000 });
    pacer.release(await pacer.acquire(), true, "99999");
    // The worker runs the build's pacer (npm test builds first) over this pacer's shared memory.
    const built = pathToFileURL(join(ROOT, "dist/shared/azure/armPacer.js")).href;
    const worker = new Worker(
      `const { parentPort, workerData } = require("node:worker_threads");
      import(workerData.built).then(async ({ ArmBucketPacer }) => {
        const pacer = new ArmBucketPacer(undefined, undefined, undefined, workerData.shared);
        const tickets = [];
        for (let n = 0; n < 2000; n += 1) {
          const ticket = await pacer.acquire();
          tickets.push(ticket);
          pacer.release(ticket, true, String(99000 - n));
        }
        parentPort.postMessage(tickets);
      });`,
      { eval: true, workerData: { built, shared: pacer.shared } },
    );
    const theirs = new Promise<number[]>((resolve, reject) => worker.once("message", resolve).once("error", reject));
    const mine: number[] = [];
    for (let n = 0; n < 2000; n += 1) {
      const ticket = await pacer.acquire();
      mine.push(ticket);
      pacer.release(ticket, true, String(99000 - n));
    }
    const all = [...mine, ...(await theirs)];
    await worker.terminate();
    expect(new Set(all).size).toBe(4000);
    expect(Math.max(...all)).toBe(4001);
    expect(new Int32Array(pacer.shared, 32, 5)[1]).toBe(0);
  });

  it("does not pace an endpoint that sends no header", async () => {
    const pacer = new ArmBucketPacer(undefined, () => 0, async () => {
      throw new Error("must not wait");
    });
    pacer.release(await pacer.acquire(), true, undefined);
    await Promise.all(Array.from({ length: 500 }, () => pacer.acquire()));
  });
});

describe("emulator ArmQuota", () => {
  it("keeps one bucket per subscription, principal and operation type with ARM's headers and Retry-After", () => {
    const quota = ArmQuota.from({ reads: [2, 1], deletes: [1, 1] });
    expect(quota?.take("/subscriptions/s1/x", "GET", "p", 0).headers).toEqual({ "x-ms-ratelimit-remaining-subscription-reads": "1" });
    expect(quota?.take("/subscriptions/s1/x", "GET", "p", 0).allowed).toBe(true);
    expect(quota?.take("/subscriptions/s1/x", "GET", "p", 0)).toEqual({ allowed: false, headers: { "x-ms-ratelimit-remaining-subscription-reads": "0", "retry-after": "1" } });
    expect(quota?.take("/subscriptions/s1/x", "GET", "other principal", 0).allowed).toBe(true);
    expect(quota?.take("/subscriptions/s2/x", "GET", "p", 0).allowed).toBe(true);
    expect(quota?.take("/subscriptions/s1/x", "DELETE", "p", 0).headers).toEqual({ "x-ms-ratelimit-remaining-subscription-deletes": "0" });
    expect(quota?.take("/subscriptions/s1/x", "PATCH", "p", 0).headers).toEqual({ "x-ms-ratelimit-remaining-subscription-writes": "199" });
    expect(quota?.take("/subscriptions/s1/x", "GET", "p", 1000).allowed).toBe(true);
    expect(ArmQuota.from(false)).toBeUndefined();
    expect(ArmQuota.from(undefined)).toBeUndefined();
  });
});
