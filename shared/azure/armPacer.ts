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
  /** When each request of this thread in flight went out (ticket → epoch ms). */
  private readonly sentAt = new Map<number, number>();
  private readonly state: BucketEstimate;
  private readonly bucket: { capacity: number; refillPerSecond: number };

  /** `shared`: another pacer's `shared` buffer, for a pacer of the same bucket in another thread (its bucket with it). */
  constructor(
    bucket: { capacity: number; refillPerSecond: number } = ARM_READ_BUCKET,
    private readonly now: () => number = Date.now,
    private readonly wait: (ms: number) => Promise<unknown> = sleep,
    shared?: SharedArrayBuffer,
  ) {
    this.state = new BucketEstimate(shared, bucket);
    this.bucket = this.state.bucket;
  }

  /**
   * The estimate's memory: a worker thread's pacer made over it spends from the same estimate (each thread's
   * requests in flight counted in it alike), so two threads reading one subscription never count one refill twice.
   */
  get shared(): SharedArrayBuffer {
    return this.state.buffer;
  }

  /** Resolves, with the ticket to hand to `release`, when a request may go out. */
  async acquire(): Promise<number> {
    for (;;) {
      const outcome = this.state.locked(() => this.tryAcquire());
      if (outcome.ticket !== undefined) return outcome.ticket;
      await this.wait(outcome.waitMs);
    }
  }

  private tryAcquire(): { ticket: number; waitMs?: never } | { ticket?: never; waitMs: number } {
    const now = this.now();
    const state = this.state;
    if (state.unmetered) return { ticket: (state.sent += 1) };
    if (state.tokens === undefined) {
      if (state.inFlight === 0) {
        state.inFlight += 1;
        return { ticket: this.issue(now) };
      }
      return { waitMs: PROBE_WAIT_MS };
    }
    const available = this.level(now);
    if (available >= 1 + RESERVE) {
      state.tokens = available - 1;
      state.at = now;
      state.inFlight += 1;
      return { ticket: this.issue(now) };
    }
    return { waitMs: Math.max(1, Math.ceil(((1 + RESERVE - available) * 1000) / this.bucket.refillPerSecond)) };
  }

  private issue(now: number): number {
    const ticket = (this.state.sent += 1);
    this.sentAt.set(ticket, now);
    return ticket;
  }

  /** Call when the request ended: `answered` when a response came back, with its remaining-reads header. */
  release(ticket: number, answered: boolean, remainingHeader?: string): void {
    const sentAt = this.sentAt.get(ticket);
    this.sentAt.delete(ticket);
    this.state.locked(() => this.settle(ticket, sentAt, answered, remainingHeader));
  }

  private settle(ticket: number, sentAt: number | undefined, answered: boolean, remainingHeader: string | undefined): void {
    const state = this.state;
    state.inFlight = Math.max(0, state.inFlight - 1);
    const remaining = remainingHeader === undefined ? Number.NaN : Number(remainingHeader);
    if (!Number.isFinite(remaining)) {
      if (answered && remainingHeader === undefined && state.tokens === undefined) state.unmetered = true;
      return;
    }
    state.unmetered = false;
    if (ticket < state.newestAnswered) return;
    state.newestAnswered = ticket;
    const now = this.now();
    // The header is the bucket rounded down when ARM counted this request, somewhere between its
    // sending and now. Our estimate never runs ahead of the bucket (we spend when we send, ARM when it
    // receives, and both refill alike), so an answer can only lower it: when the header is below what
    // the estimate can explain — allowing for the refill since the request went out — someone else
    // spends from the bucket too, and we take the header's word, minus the requests still in flight.
    // Raising the estimate to the header is not safe: an answer can be overtaken by a request counted
    // after it, and the header drops the fraction we keep.
    const level = state.tokens === undefined ? Number.NaN : this.level(now);
    const refillSinceSent = sentAt === undefined ? 0 : ((now - sentAt) * this.bucket.refillPerSecond) / 1000;
    state.tokens = level < remaining + 1 + refillSinceSent ? level : Math.max(0, remaining - state.inFlight);
    state.at = now;
  }

  private level(now: number): number {
    const state = this.state;
    const tokens = state.tokens ?? 0;
    // A full bucket stops refilling. Requests in flight are spent from ours already but not yet from
    // ARM's, which may sit at its capacity meanwhile and refill nothing: ours tops out that much lower.
    return Math.min(this.bucket.capacity - state.inFlight, tokens + ((now - state.at) * this.bucket.refillPerSecond) / 1000);
  }
}

/** A lock held longer than this was held by a thread that is gone (a section below is a few arithmetic steps). */
const LOCK_STALE_MS = 100;

/**
 * A pacer's estimate of its bucket in a SharedArrayBuffer, so pacers of one bucket in several threads (the
 * federated credential listing's worker and the main thread) keep one estimate; Node shares, not copies, a
 * SharedArrayBuffer sent to a worker (Node "Worker threads": `port.postMessage`, `workerData`). Every read and
 * change of it is made under a lock taken with `Atomics.compareExchange` (MDN "Atomics").
 */
class BucketEstimate {
  readonly buffer: SharedArrayBuffer;
  /** [tokens (NaN until the first answer), at (epoch ms), capacity, refill per second] */
  private readonly numbers: Float64Array;
  /** [lock, inFlight, sent (the last ticket), newestAnswered, unmetered] */
  private readonly counts: Int32Array;

  /** A new estimate of `bucket`, or (`buffer`) another thread's, of the bucket it holds. */
  constructor(buffer: SharedArrayBuffer | undefined, bucket: { capacity: number; refillPerSecond: number }) {
    this.buffer = buffer ?? new SharedArrayBuffer(56);
    this.numbers = new Float64Array(this.buffer, 0, 4);
    this.counts = new Int32Array(this.buffer, 32, 5);
    if (!buffer) {
      this.numbers[0] = Number.NaN;
      this.numbers[2] = bucket.capacity;
      this.numbers[3] = bucket.refillPerSecond;
    }
  }

  get bucket(): { capacity: number; refillPerSecond: number } {
    return { capacity: this.numbers[2] as number, refillPerSecond: this.numbers[3] as number };
  }

  locked<T>(work: () => T): T {
    let since: number | undefined;
    for (let tries = 0; Atomics.compareExchange(this.counts, 0, 0, 1) !== 0; tries += 1) {
      since ??= Date.now();
      if (Date.now() - since > LOCK_STALE_MS) break;
      // The holder may be off its core: after a short spin, sleep until it lets go (or a millisecond).
      if (tries > 64) Atomics.wait(this.counts, 0, 1, 1);
    }
    try {
      return work();
    } finally {
      Atomics.store(this.counts, 0, 0);
      Atomics.notify(this.counts, 0, 1);
    }
  }

  get tokens(): number | undefined {
    const tokens = this.numbers[0] as number;
    return Number.isNaN(tokens) ? undefined : tokens;
  }
  set tokens(value: number | undefined) {
    this.numbers[0] = value ?? Number.NaN;
  }
  get at(): number {
    return this.numbers[1] as number;
  }
  set at(value: number) {
    this.numbers[1] = value;
  }
  get inFlight(): number {
    return this.counts[1] as number;
  }
  set inFlight(value: number) {
    this.counts[1] = value;
  }
  get sent(): number {
    return this.counts[2] as number;
  }
  set sent(value: number) {
    this.counts[2] = value;
  }
  get newestAnswered(): number {
    return this.counts[3] as number;
  }
  set newestAnswered(value: number) {
    this.counts[3] = value;
  }
  get unmetered(): boolean {
    return this.counts[4] === 1;
  }
  set unmetered(value: boolean) {
    this.counts[4] = value ? 1 : 0;
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
