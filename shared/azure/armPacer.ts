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

/**
 * Tokens left in the bucket for timing we cannot see (a request counted a little earlier than we
 * modelled it); costs one refill interval once, not per request.
 */
const RESERVE = 1;
/** Until the first answer says how full the bucket is, one request at a time: someone else may have drained it. */
const PROBE_WAIT_MS = 5;

/**
 * Keeps one subscription's ARM reads inside its bucket. Our estimate of the bucket is spent when a
 * request goes out and refilled at ARM's documented rate; an answer whose remaining count is below
 * the estimate (someone else draining the same bucket) lowers it, unless a request sent later has
 * already answered (an older answer arriving late says nothing new). When the estimate is below one
 * request we wait for the refill instead of spending a request on a 429; the SDK's retry policy
 * still honours a 429's Retry-After if one comes.
 */
export class ArmBucketPacer {
  /** Tokens at `at` (epoch ms), after every request sent so far; undefined until the first answer. */
  private tokens: number | undefined;
  private at = 0;
  private inFlight = 0;
  private sent = 0;
  /** When each request in flight went out (ticket → epoch ms). */
  private readonly sentAt = new Map<number, number>();
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
          return this.issue(now);
        }
        await this.wait(PROBE_WAIT_MS);
        continue;
      }
      const available = this.level(now);
      if (available >= 1 + RESERVE) {
        this.tokens = available - 1;
        this.at = now;
        this.inFlight += 1;
        return this.issue(now);
      }
      await this.wait(Math.max(1, Math.ceil(((1 + RESERVE - available) * 1000) / this.bucket.refillPerSecond)));
    }
  }

  private issue(now: number): number {
    this.sent += 1;
    this.sentAt.set(this.sent, now);
    return this.sent;
  }

  /** Call when the request ended: `answered` when a response came back, with its remaining-reads header. */
  release(ticket: number, answered: boolean, remainingHeader?: string): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    const sentAt = this.sentAt.get(ticket);
    this.sentAt.delete(ticket);
    const remaining = remainingHeader === undefined ? Number.NaN : Number(remainingHeader);
    if (!Number.isFinite(remaining)) {
      if (answered && remainingHeader === undefined && this.tokens === undefined) this.unmetered = true;
      return;
    }
    this.unmetered = false;
    if (ticket < this.newestAnswered) return;
    this.newestAnswered = ticket;
    const now = this.now();
    // The header is the bucket rounded down when ARM counted this request, somewhere between its
    // sending and now. Our estimate never runs ahead of the bucket (we spend when we send, ARM when it
    // receives, and both refill alike), so an answer can only lower it: when the header is below what
    // the estimate can explain — allowing for the refill since the request went out — someone else
    // spends from the bucket too, and we take the header's word, minus the requests still in flight.
    // Raising the estimate to the header is not safe: an answer can be overtaken by a request counted
    // after it, and the header drops the fraction we keep.
    const level = this.tokens === undefined ? Number.NaN : this.level(now);
    const refillSinceSent = sentAt === undefined ? 0 : ((now - sentAt) * this.bucket.refillPerSecond) / 1000;
    this.tokens = level < remaining + 1 + refillSinceSent ? level : Math.max(0, remaining - this.inFlight);
    this.at = now;
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
