import { setTimeout as sleep } from "node:timers/promises";
import pLimit from "p-limit";
import type { AzureClients } from "./clients.js";
import type { GroupMember } from "../model.js";
import { principalTypeOf } from "../model.js";
import { errorMessage, firstLine } from "../errors.js";
import { GRAPH_PAGE_SIZE, graphNextLink } from "./entra.js";

/**
 * Group memberships through Microsoft Graph JSON batching (Learn "Combine multiple HTTP requests using JSON batching":
 * at most 20 requests a batch, each answered — and throttled — on its own, a 429 item with its own Retry-After): one
 * `GET /groups/{id}/transitiveMembers` per group (Learn "List group transitive members": nested groups' members
 * included), 20 groups a `$batch`, once per sweep. A group's further pages, and items to retry, ride in later batches.
 */
export const BATCH_LIMIT = 20;
const MAX_ATTEMPTS = 4;
/** A Retry-After longer than this is not waited for: the group stays unknown. */
const MAX_RETRY_AFTER_MS = 30_000;

interface Pending {
  groupId: string;
  url: string;
  attempt: number;
  notBefore: number;
}

export type MembersCallback = (groupId: string, members: GroupMember[] | undefined) => void;

export class GroupExpander {
  private readonly seen = new Set<string>();
  private readonly collected = new Map<string, GroupMember[]>();
  private queue: Pending[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly failed = new Map<string, string>();
  private sent = 0;

  constructor(
    private readonly clients: AzureClients,
    private readonly onMembers: MembersCallback,
    private readonly options: { concurrency?: number; signal?: AbortSignal } = {},
  ) {
    this.limit = pLimit(options.concurrency ?? 4);
  }

  /** Queue a group (once per sweep); a full batch goes out at once. */
  async submit(groupId: string): Promise<void> {
    const key = groupId.toLowerCase();
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.collected.set(key, []);
    this.queue.push({ groupId, url: `/groups/${encodeURIComponent(groupId)}/transitiveMembers?$select=id,displayName&$top=${GRAPH_PAGE_SIZE}`, attempt: 0, notBefore: 0 });
    if (this.ready().length >= BATCH_LIMIT) await this.dispatch();
  }

  /** Sends what is left, follows pages and retries, and waits until every group is answered or given up. */
  async flush(): Promise<void> {
    for (;;) {
      if (this.ready().length > 0) {
        await this.dispatch();
        continue;
      }
      if (this.inFlight.size > 0) {
        await Promise.race(this.inFlight);
        continue;
      }
      if (this.queue.length === 0) return;
      const wait = Math.max(1, Math.min(...this.queue.map((item) => item.notBefore)) - Date.now());
      await sleep(wait, undefined, this.options.signal ? { signal: this.options.signal } : undefined);
    }
  }

  /** `$batch` calls sent. */
  get batches(): number {
    return this.sent;
  }

  /** Groups whose members could not be read, with why. */
  failures(): Array<{ groupId: string; reason: string }> {
    return [...this.failed].map(([groupId, reason]) => ({ groupId, reason }));
  }

  private ready(): Pending[] {
    const now = Date.now();
    return this.queue.filter((item) => item.notBefore <= now);
  }

  private async dispatch(): Promise<void> {
    const now = Date.now();
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    for (const item of this.queue) (item.notBefore <= now && batch.length < BATCH_LIMIT ? batch : rest).push(item);
    this.queue = rest;
    if (batch.length === 0) return;
    this.sent += 1;
    // Back-pressure, as for directory lookups: the role-assignment stream cannot run far ahead of Graph.
    while (this.inFlight.size >= (this.options.concurrency ?? 4) * 2) await Promise.race(this.inFlight);
    const task = this.limit(() => this.send(batch)).finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }

  private async send(batch: Pending[]): Promise<void> {
    let responses: Array<{ id?: unknown; status?: unknown; headers?: unknown; body?: unknown }>;
    try {
      const response = await this.clients.graph.path("/v1.0/$batch").post({
        body: { requests: batch.map((item, at) => ({ id: String(at), method: "GET", url: item.url })) },
        contentType: "application/json",
      });
      const status = Number(response.status);
      const body = response.body as { responses?: unknown } | undefined;
      if (status !== 200 || !Array.isArray(body?.responses)) {
        // The pipeline has already retried 429 and 5xx; another 4xx will not change on a retry.
        const transient = status === 200 || status === 429 || status >= 500;
        const answeredAt = Date.now();
        for (const item of batch) this.retry(item, `Microsoft Graph $batch answered ${status}${status === 200 ? " without responses" : ""}`, transient ? 0 : undefined, answeredAt);
        return;
      }
      responses = body.responses as typeof responses;
    } catch (error) {
      // No answer (the call's deadline, a reset connection): try again in a later batch.
      const failedAt = Date.now();
      for (const item of batch) this.retry(item, errorMessage(error), 0, failedAt);
      return;
    }
    const byId = new Map(responses.map((answer) => [String(answer.id), answer]));
    // One reading of the clock for the whole answer: items throttled together are due again together and ride in
    // one batch, however long reading the answer takes (a millisecond between two of them would split the retry).
    const answeredAt = Date.now();
    const retry = (item: Pending, reason: string, afterMs: number | undefined): void => this.retry(item, reason, afterMs, answeredAt);
    batch.forEach((item, at) => {
      const answer = byId.get(String(at));
      const status = Number(answer?.status);
      if (!answer) return retry(item, "no answer in the batch", 0);
      if (status === 404) return this.done(item.groupId);
      if (status !== 200) {
        const code = (answer.body as { error?: { code?: string } } | undefined)?.error?.code;
        return retry(item, `transitiveMembers answered ${status}${code ? ` ${code}` : ""}`, status === 429 || status >= 500 ? retryAfterMs(answer.headers) : undefined);
      }
      const body = answer.body as { value?: unknown; "@odata.nextLink"?: unknown } | undefined;
      if (!body || !Array.isArray(body.value)) return retry(item, "transitiveMembers answered without a value array", undefined);
      const members = this.collected.get(item.groupId.toLowerCase());
      for (const raw of body.value as Array<Record<string, unknown>>) {
        if (!raw || typeof raw["id"] !== "string") continue;
        members?.push({ id: raw["id"], type: principalTypeOf(String(raw["@odata.type"] ?? "")), ...(typeof raw["displayName"] === "string" ? { displayName: raw["displayName"] } : {}) });
      }
      let next: string | undefined;
      try {
        next = graphNextLink(this.clients, body["@odata.nextLink"], `transitiveMembers of ${item.groupId}`);
      } catch (error) {
        return this.giveUp(item.groupId, errorMessage(error));
      }
      if (next === undefined) return this.done(item.groupId);
      // A batch item's url is relative to the version: the link without `<endpoint>/v1.0`.
      const relative = next.slice(`${this.clients.endpoints.graph.replace(/\/+$/, "")}/v1.0`.length);
      this.queue.push({ groupId: item.groupId, url: relative, attempt: 0, notBefore: 0 });
    });
  }

  /** Retries later (after Retry-After when Graph gave one); `undefined`: the answer will not change, give up at once. */
  private retry(item: Pending, reason: string, afterMs: number | undefined, answeredAt: number): void {
    if (afterMs === undefined || item.attempt + 1 >= MAX_ATTEMPTS || afterMs > MAX_RETRY_AFTER_MS) return this.giveUp(item.groupId, reason);
    this.queue.push({ ...item, attempt: item.attempt + 1, notBefore: answeredAt + Math.max(afterMs, 50 * 2 ** item.attempt) });
  }

  private done(groupId: string): void {
    const key = groupId.toLowerCase();
    const members = this.collected.get(key) ?? [];
    this.collected.delete(key);
    if (!this.failed.has(key)) this.onMembers(groupId, dedupe(members));
  }

  private giveUp(groupId: string, reason: string): void {
    const key = groupId.toLowerCase();
    if (this.failed.has(key)) return;
    this.failed.set(key, firstLine(reason));
    this.collected.delete(key);
    // Later pages of this group are dropped: it is unknown.
    this.queue = this.queue.filter((item) => item.groupId.toLowerCase() !== key);
    this.onMembers(groupId, undefined);
  }
}

function dedupe(members: GroupMember[]): GroupMember[] {
  const seen = new Set<string>();
  return members.filter((member) => {
    const key = member.id.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Retry-After of a batch item (seconds), in ms; absent: a short back-off. */
function retryAfterMs(headers: unknown): number {
  if (!headers || typeof headers !== "object") return 0;
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    if (name.toLowerCase() !== "retry-after") continue;
    const seconds = Number(value);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  }
  return 0;
}
