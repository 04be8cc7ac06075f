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
      await pacer.acquire();
      const decision = quota.take(now);
      expect(decision.allowed).toBe(true);
      pacer.release({
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
      await pacer.acquire();
      pacer.release(undefined);
    }
    expect(waits).toEqual([]);
  });
});
