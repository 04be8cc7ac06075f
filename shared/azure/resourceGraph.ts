import { setTimeout as sleep } from "node:timers/promises";
import type { ResourceGraphClient } from "@azure/arm-resourcegraph";
import { ServiceCallFailed, toServiceCallFailed } from "../errors.js";

export const RESOURCE_GRAPH_PAGE_SIZE = 1000;

/** Parses `x-ms-user-quota-resets-after` (hh:mm:ss, optionally with a fraction) to milliseconds. */
export function parseResetsAfter(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const match = /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(value.trim());
  if (!match) return undefined;
  const [, hours, minutes, seconds] = match;
  return Math.round((Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds)) * 1000);
}

/**
 * Keeps Resource Graph calls inside the caller's quota. Every response says how many requests are
 * left in the window and when it resets; when none are left we wait for the reset instead of
 * spending a request on a 429. The SDK's retry policy still handles a 429 (Retry-After) if one comes.
 */
export class QuotaPacer {
  private remaining: number | undefined;
  private resetAt = 0;
  private inFlight = 0;

  constructor(private readonly now: () => number = Date.now, private readonly wait: (ms: number) => Promise<unknown> = sleep) {}

  /** Call before sending; resolves when a request may go out. */
  async acquire(): Promise<void> {
    for (;;) {
      const now = this.now();
      if (this.remaining === undefined || now >= this.resetAt || this.remaining - this.inFlight > 0) {
        if (now >= this.resetAt) this.remaining = undefined;
        this.inFlight += 1;
        return;
      }
      await this.wait(Math.max(1, this.resetAt - now));
    }
  }

  /** Call with the response headers (or nothing, when the call failed without a response). */
  release(headers?: { remaining?: string; resetsAfter?: string }): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    const remaining = headers?.remaining !== undefined ? Number(headers.remaining) : undefined;
    const resetsAfter = parseResetsAfter(headers?.resetsAfter);
    if (remaining === undefined || Number.isNaN(remaining) || resetsAfter === undefined) return;
    const resetAt = this.now() + resetsAfter;
    // Concurrent queries answer out of order: within one window the smallest count is the truth,
    // and an answer from an earlier window says nothing about this one.
    const sameWindow = this.remaining !== undefined && Math.abs(resetAt - this.resetAt) < 100;
    if (sameWindow) {
      this.remaining = Math.min(this.remaining ?? remaining, remaining);
      return;
    }
    if (this.remaining !== undefined && resetAt < this.resetAt - 100) return;
    this.remaining = remaining;
    this.resetAt = resetAt;
  }
}

export interface ResourceGraphQuery {
  query: string;
  subscriptions?: string[];
  pageSize?: number;
  signal?: AbortSignal;
}

export type ResourceGraphRow = Record<string, unknown>;

/**
 * Streams a query's result page by page (1,000 rows, `$skipToken`), pacing itself by the quota
 * headers. `@azure/arm-resourcegraph` 5.x makes one request per call: the paging loop is ours.
 */
export async function* queryPages(
  client: ResourceGraphClient,
  pacer: QuotaPacer,
  request: ResourceGraphQuery,
): AsyncGenerator<ResourceGraphRow[]> {
  let skipToken: string | undefined;
  const subscriptions = request.subscriptions && request.subscriptions.length > 0 ? request.subscriptions : undefined;
  do {
    await pacer.acquire();
    let headers: { remaining?: string; resetsAfter?: string } | undefined;
    let response;
    try {
      response = await client.resources(
        {
          query: request.query,
          ...(subscriptions ? { subscriptions } : {}),
          options: { top: request.pageSize ?? RESOURCE_GRAPH_PAGE_SIZE, resultFormat: "objectArray", ...(skipToken ? { skipToken } : {}) },
        },
        {
          abortSignal: request.signal,
          onResponse: (raw: { headers: unknown }) => {
            headers = {
              remaining: headerValue(raw.headers, "x-ms-user-quota-remaining"),
              resetsAfter: headerValue(raw.headers, "x-ms-user-quota-resets-after"),
            };
          },
        },
      );
    } catch (error) {
      pacer.release(headers);
      throw toServiceCallFailed("resourceGraph", error);
    }
    pacer.release(headers);
    const rows = Array.isArray(response.data) ? (response.data as ResourceGraphRow[]) : undefined;
    if (!rows) throw new ServiceCallFailed("resourceGraph", 200, "resourceGraph: response has no data array");
    skipToken = response.skipToken ?? undefined;
    if (!skipToken && String(response.resultTruncated).toLowerCase() === "true") {
      throw new ServiceCallFailed("resourceGraph", 200, "resourceGraph: result truncated without $skipToken (query must project id)");
    }
    yield rows;
  } while (skipToken);
}

/** Response headers arrive as a plain record or as HttpHeaders, depending on the pipeline layer. */
function headerValue(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== "object") return undefined;
  const candidate = headers as { get?: (key: string) => string | undefined } & Record<string, unknown>;
  if (typeof candidate.get === "function") return candidate.get(name) ?? undefined;
  const value = candidate[name];
  return typeof value === "string" ? value : undefined;
}
