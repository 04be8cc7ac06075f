import { describe, expect, it } from "vitest";
import { QuotaPacer, parseResetsAfter } from "../../shared/azure/resourceGraph.js";
import { formatTimeSpan, ResourceGraphQuota } from "../../local/emulator/faults.js";

describe("x-ms-user-quota-resets-after", () => {
  it.each([
    ["00:00:05", 5000],
    ["00:01:00", 60_000],
    ["01:00:00", 3_600_000],
    ["00:00:00.500", 500],
    ["garbage", undefined],
    [undefined, undefined],
  ])("parses %s", (value, expected) => {
    expect(parseResetsAfter(value)).toBe(expected);
  });

  it("round-trips the emulator's format", () => {
    expect(parseResetsAfter(formatTimeSpan(4200))).toBe(4200);
    expect(parseResetsAfter(formatTimeSpan(5000))).toBe(5000);
  });
});

describe("QuotaPacer", () => {
  it("waits for the reset when the quota is spent, and only then", async () => {
    let now = 0;
    const waits: number[] = [];
    const pacer = new QuotaPacer(
      () => now,
      async (ms) => {
        waits.push(ms);
        now += ms;
      },
    );
    const quota = new ResourceGraphQuota(3, 5000);
    for (let request = 0; request < 7; request += 1) {
      const sentAt = await pacer.acquire();
      const decision = quota.take(now);
      expect(decision.allowed).toBe(true);
      pacer.release(sentAt, {
        remaining: decision.headers["x-ms-user-quota-remaining"],
        resetsAfter: decision.headers["x-ms-user-quota-resets-after"],
      });
      now += 10;
    }
    // 7 requests at 3 per 5 s: two waits, each until the window resets.
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThan(4900);
  });

  it("does not wait when no quota headers arrive", async () => {
    const waits: number[] = [];
    const pacer = new QuotaPacer(() => 0, async (ms) => waits.push(ms));
    for (let request = 0; request < 20; request += 1) {
      pacer.release(await pacer.acquire(), undefined);
    }
    expect(waits).toEqual([]);
  });

  it("is not thrown off by an answer read late, and reopens the window as soon as it resets", async () => {
    let now = 1_000;
    const pacer = new QuotaPacer(
      () => now,
      async (ms) => {
        now += ms;
      },
    );
    const quota = new ResourceGraphQuota(15, 500);
    const windowsOpenedAt: number[] = [];
    let throttled = 0;
    for (let request = 0; request < 150; request += 1) {
      const sentAt = await pacer.acquire();
      now += 3;
      const decision = quota.take(now);
      if (!decision.allowed) throttled += 1;
      if (decision.headers["x-ms-user-quota-remaining"] === "14") windowsOpenedAt.push(now);
      // Every 20th answer is read after a 200 ms pause (a garbage collection, say).
      now += request % 20 === 3 ? 200 : 5;
      pacer.release(sentAt, {
        remaining: decision.headers["x-ms-user-quota-remaining"],
        resetsAfter: decision.headers["x-ms-user-quota-resets-after"],
      });
    }
    expect(throttled).toBe(0);
    expect(windowsOpenedAt).toHaveLength(10);
    // Each window opens within a few ms of the previous one's reset.
    windowsOpenedAt.slice(1).forEach((openedAt, index) => expect(openedAt - ((windowsOpenedAt[index] ?? 0) + 500)).toBeLessThanOrEqual(10));
  });
});
