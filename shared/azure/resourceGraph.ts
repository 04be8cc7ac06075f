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

/** What the answers so far say about the current quota window. */
interface QuotaWindow {
  remaining: number;
  /** The window resets between these two instants (epoch ms); every answer narrows the interval. */
  resetsNotBefore: number;
  resetsBy: number;
}

/** Both ends stamp whole milliseconds; a millisecond either way keeps answers of one window overlapping. */
const CLOCK_SLACK_MS = 1;

/**
 * Keeps Resource Graph calls inside the caller's quota. Every response says how many requests are
 * left in the window and when it resets; when none are left we wait for the reset instead of
 * spending a request on a 429. The SDK's retry policy still handles a 429 (Retry-After) if one comes.
 *
 * The service counted a request somewhere between our sending it and our reading the answer, so
 * `resets-after` places the reset in [sent + resets-after, read + resets-after]. Answers of one window
 * all contain the true reset: their intersection is what we keep, and we wait for its upper end. An
 * answer read late (a pause in this process) only widens its own interval; it can neither make us
 * send early nor pass for a new window.
 */
export class QuotaPacer {
  private window: QuotaWindow | undefined;
  private inFlight = 0;

  constructor(private readonly now: () => number = Date.now, private readonly wait: (ms: number) => Promise<unknown> = sleep) {}

  /** Call before sending; resolves, with the send time to hand to `release`, when a request may go out. */
  async acquire(): Promise<number> {
    for (;;) {
      const now = this.now();
      if (this.window && now >= this.window.resetsBy) this.window = undefined;
      if (!this.window || this.window.remaining - this.inFlight > 0) {
        this.inFlight += 1;
        return now;
      }
      await this.wait(Math.max(1, this.window.resetsBy - now));
    }
  }

  /** Call with the send time from `acquire` and the response headers (or nothing, when the call failed without a response). */
  release(sentAt: number, headers?: { remaining?: string; resetsAfter?: string }): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    const remaining = headers?.remaining !== undefined ? Number(headers.remaining) : undefined;
    const resetsAfter = parseResetsAfter(headers?.resetsAfter);
    if (remaining === undefined || Number.isNaN(remaining) || resetsAfter === undefined) return;
    const answer: QuotaWindow = {
      remaining,
      resetsNotBefore: sentAt + resetsAfter - CLOCK_SLACK_MS,
      resetsBy: this.now() + resetsAfter + CLOCK_SLACK_MS,
    };
    const current = this.window;
    if (!current || answer.resetsNotBefore > current.resetsBy) {
      this.window = answer;
      return;
    }
    // Concurrent queries answer out of order: one from a window that has already reset says nothing.
    if (answer.resetsBy < current.resetsNotBefore) return;
    current.remaining = Math.min(current.remaining, answer.remaining);
    current.resetsNotBefore = Math.max(current.resetsNotBefore, answer.resetsNotBefore);
    current.resetsBy = Math.min(current.resetsBy, answer.resetsBy);
  }
}

export interface ResourceGraphQuery {
  query: string;
  subscriptions?: string[];
  pageSize?: number;
  signal?: AbortSignal;
  /** For role assignments and definitions: which scopes relative to `subscriptions` (REST QueryRequestOptions). */
  authorizationScopeFilter?: "AtScopeAndBelow" | "AtScopeAndAbove" | "AtScopeExact" | "AtScopeAboveAndBelow";
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
    const sentAt = await pacer.acquire();
    let headers: { remaining?: string; resetsAfter?: string } | undefined;
    let response;
    try {
      response = await client.resources(
        {
          query: request.query,
          ...(subscriptions ? { subscriptions } : {}),
          options: {
            top: request.pageSize ?? RESOURCE_GRAPH_PAGE_SIZE,
            resultFormat: "objectArray",
            ...(skipToken ? { skipToken } : {}),
            ...(request.authorizationScopeFilter ? { authorizationScopeFilter: request.authorizationScopeFilter } : {}),
          },
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
      pacer.release(sentAt, headers);
      throw toServiceCallFailed("resourceGraph", error);
    }
    pacer.release(sentAt, headers);
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
