import { setTimeout as sleep } from "node:timers/promises";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";

/**
 * ARM throttles with a token bucket per subscription, per principal and per operation type: reads
 * hold 250 and refill 25 a second (writes and deletes 200 and 10). Every answer says what is left in
 * `x-ms-ratelimit-remaining-subscription-reads`; past it ARM answers 429.
 * Source: https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling
 * ("Subscription and tenant limits": bucket size 250, refill rate 25 per second for reads).
 */
export const ARM_READ_BUCKET = { capacity: 250, refillPerSecond: 25 } as const;

/** Until the first answer says how full the bucket is, one request at a time: someone else may have drained it. */
const PROBE_WAIT_MS = 5;

/**
 * Keeps one subscription's ARM reads inside its bucket. Our estimate of the bucket is spent when a
 * request goes out and refilled at ARM's documented rate; each answer's remaining count replaces it,
 * minus the requests still in flight (they may not have been counted yet), unless a request sent
 * later has already answered (an older answer arriving late says nothing new). So other callers
 * draining the same bucket are seen, a late answer never lets us send early, and a bucket that
 * refills faster than documented is used as it refills. When the estimate is below one request we
 * wait for the refill instead of spending a request on a 429; the SDK's retry policy still honours
 * a 429's Retry-After if one comes.
 */
export class ArmBucketPacer {
  /** Tokens at `at` (epoch ms), after every request sent so far; undefined until the first answer. */
  private tokens: number | undefined;
  private at = 0;
  private inFlight = 0;
  private sent = 0;
  /** The latest-sent request whose answer has been taken into the estimate. */
  private newestAnswered = 0;
  /** An answer came without the header (an endpoint that does not throttle): nothing to pace by. */
  private unmetered = false;

  constructor(
    private readonly bucket: { capacity: number; refillPerSecond: number } = ARM_READ_BUCKET,
    private readonly now: () => number = Date.now,
    private readonly wait: (ms: number) => Promise<unknown> = sleep,
  ) {}

  /** Resolves, with the ticket to hand to `release`, when a request may go out. */
  async acquire(): Promise<number> {
    for (;;) {
      const now = this.now();
      if (this.unmetered) return ++this.sent;
      if (this.tokens === undefined) {
        if (this.inFlight === 0) {
          this.inFlight += 1;
          return ++this.sent;
        }
        await this.wait(PROBE_WAIT_MS);
        continue;
      }
      const available = this.level(now);
      if (available >= 1) {
        this.tokens = available - 1;
        this.at = now;
        this.inFlight += 1;
        return ++this.sent;
      }
      await this.wait(Math.max(1, Math.ceil(((1 - available) * 1000) / this.bucket.refillPerSecond)));
    }
  }

  /** Call when the request ended: `answered` when a response came back, with its remaining-reads header. */
  release(ticket: number, answered: boolean, remainingHeader?: string): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    const remaining = remainingHeader === undefined ? Number.NaN : Number(remainingHeader);
    if (!Number.isFinite(remaining)) {
      if (answered && remainingHeader === undefined && this.tokens === undefined) this.unmetered = true;
      return;
    }
    this.unmetered = false;
    if (ticket < this.newestAnswered) return;
    this.newestAnswered = ticket;
    // Requests still in flight may not have been counted yet: assume they were not.
    this.tokens = Math.max(0, remaining - this.inFlight);
    this.at = this.now();
  }

  private level(now: number): number {
    const tokens = this.tokens ?? 0;
    return Math.min(this.bucket.capacity, tokens + ((now - this.at) * this.bucket.refillPerSecond) / 1000);
  }
}

/**
 * Paces every GET an SDK client of one subscription sends (each attempt, retries and next pages
 * included) by that subscription's read bucket.
 */
export function armReadPacingPolicy(pacer: ArmBucketPacer): PipelinePolicy {
  return {
    name: "uamiGuardArmReadPacing",
    async sendRequest(request, next) {
      if (request.method !== "GET") return next(request);
      const ticket = await pacer.acquire();
      let answered = false;
      let remaining: string | undefined;
      try {
        const response = await next(request);
        answered = true;
        remaining = response.headers.get("x-ms-ratelimit-remaining-subscription-reads");
        return response;
      } finally {
        pacer.release(ticket, answered, remaining);
      }
    },
  };
}
