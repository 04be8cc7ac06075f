import type { TableEntityResult } from "@azure/data-tables";
import { statusCodeOf, toServiceCallFailed } from "../errors.js";
import { TableStore, joinJson, quoted, splitJson, storableText } from "./tableStore.js";
import type { SinkName } from "../notify/sinks.js";

/**
 * Which of a sink's partitions an entry waits in. `prompt`: what a person must hear of within seconds (an event, a
 * replay, a work item, the engine's notices about itself, a sweep's digest); `bulk`: a sweep's notice per finding (the
 * first sweep of a large tenant leaves hundreds of thousands).
 */
export type OutboxLane = "prompt" | "bulk";

/** An entry to write: `key` is the notice's identity, so writing it again (a redelivered event) is a no-op. */
export interface OutboxDraft {
  sink: SinkName;
  key: string;
  payload: unknown;
  runId: string;
  title: string;
  /** The finding the payload is about (absent for a sweep's digest card). */
  fingerprint?: string;
  /** The notice's rule: a dead-lettered notice about a dead letter raises nothing more. */
  ruleId?: string;
  /** `prompt` when absent. */
  lane?: OutboxLane;
}

export interface OutboxEntry extends OutboxDraft {
  /** Its row key (in the bulk lane the time it was written, then the notice's key). */
  key: string;
  /** The partition it waits in: its lane's, or the sink's own (written by the version before the lanes). */
  partition: string;
  attempts: number;
  createdAt: string;
  /** The entity's ETag as last read or written by this instance: every change is conditional on it. */
  etag: string;
  lastError?: string;
}

/** A payload is split over at most this many properties (tableStore.ts splitJson). */
const MAX_CHUNKS = 16;

/** The share of a dispatch's batch the prompt lane leaves to the others while they hold anything due. */
const BULK_SHARE = 0.1;

/** Prompt-lane keys looked for in the sink's own partition at once (an upgrade: see `withoutPrevious`). */
const LOOKUPS_AT_ONCE = 32;

/** The partition of a sink's entries that will never be sent again (kept for a person to read). */
export function deadLetterPartition(sink: SinkName): string {
  return `${sink}-dead`;
}

/** The partition of a sink's entries of `lane`. */
export function lanePartition(sink: SinkName, lane: OutboxLane): string {
  return `${sink}-${lane}`;
}

/**
 * The row of a bulk entry: the time its run wrote it (epoch ms, zero-padded, so that text order is time order), then
 * the notice's key. Table storage answers a partition in row-key order ("Sorting data in the Table service",
 * https://learn.microsoft.com/azure/storage/tables/table-storage-design-for-query), so a later sweep's notices wait
 * behind an earlier sweep's, not among them. Only a sweep writes here: its notices' keys carry its run id, new for each
 * run (the Function's invocation id, new on each try as the host's logs show in Azure/azure-functions-host#6776; a
 * random UUID in the CLI), and `now` is the run's, the same for every part of it, so writing a part again adds nothing.
 * An event's notice is never keyed by time: a redelivery runs at another time under the same run id.
 */
function bulkRowKey(key: string, now: Date): string {
  return `${String(now.getTime()).padStart(13, "0")}-${key}`;
}

/**
 * Notices are written here before any sink is called (docs/guarantees.md "Nothing twice, nothing starved"), in two
 * lanes per sink: `<sink>-prompt` (row = the notice's key) and `<sink>-bulk` (row = the time, then the key). A
 * dispatch fills its batch from the prompt lane first, then from the sink's own partition `<sink>` (the single lane
 * of the version before, drained and no longer written), then from the bulk lane in the order it was written: an
 * event's notice goes out in the next dispatch however many a sweep left, and no entry is passed over for long.
 * A dispatcher claims an entry before sending it (a conditional update on its ETag: of two instances only one wins,
 * and the loser skips it), and after the send deletes it, or puts it back with a later `dueAt` (backoff per entry,
 * keeping its place), or moves it to `<sink>-dead`. Only entries that are due are read, a bounded number at a time:
 * an entry waiting out its backoff holds back nobody.
 */
export class NotificationOutbox extends TableStore {
  /** Idempotent: an entry already there (the same notice of the same run) is left as it is. */
  async enqueue(drafts: OutboxDraft[], now: Date): Promise<void> {
    if (drafts.length === 0) return;
    await this.ensure();
    const at = now.toISOString();
    const entities = (await this.withoutPrevious(drafts)).map((draft) => {
      const lane = draft.lane ?? "prompt";
      return {
        partitionKey: lanePartition(draft.sink, lane),
        rowKey: lane === "bulk" ? bulkRowKey(draft.key, now) : draft.key,
        runId: draft.runId,
        title: storableText(draft.title.slice(0, 1000)),
        ...(draft.fingerprint ? { fingerprint: draft.fingerprint } : {}),
        ...(draft.ruleId ? { ruleId: draft.ruleId } : {}),
        createdAt: at,
        dueAt: at,
        attempts: 0,
        ...splitJson("payload", draft.payload, { countKey: "chunks", maxParts: MAX_CHUNKS }),
      };
    });
    try {
      await this.transact(entities.map((entity) => ["create", entity]));
    } catch (error) {
      // A transaction fails whole when one entry exists already (the redelivery of a run that wrote some): one by one.
      if (statusCodeOf(error) !== 409) throw error;
      for (const entity of entities) {
        try {
          await this.table.createEntity(entity);
        } catch (single) {
          if (statusCodeOf(single) !== 409) throw toServiceCallFailed("tableStorage", single);
        }
      }
    }
  }

  /**
   * Up to `limit` entries of a sink that are due now: the prompt lane's first (oldest first among them), then those
   * the version before left in `<sink>`, then the bulk lane's in the order they were written. A tenth of the batch is
   * kept for the other two while they hold anything, so that a flood of events starves no sweep's notices either.
   */
  async due(sink: SinkName, now: Date, limit: number): Promise<OutboxEntry[]> {
    await this.ensure();
    const prompt = await this.dueIn(sink, lanePartition(sink, "prompt"), now, limit);
    const first = prompt.slice(0, limit - Math.floor(limit * BULK_SHARE));
    const rest: OutboxEntry[] = [];
    for (const partition of [sink, lanePartition(sink, "bulk")]) {
      if (first.length + rest.length >= limit) break;
      rest.push(...(await this.dueIn(sink, partition, now, limit - first.length - rest.length)));
    }
    return [...first, ...prompt.slice(first.length, limit - rest.length), ...rest];
  }

  /**
   * The first `limit` due entries of one partition in row-key order. `dueAt` is no key: the service reads the partition
   * in row-key order, filtering as it goes, and may end a page early (at most 1,000 entities, or its time limit) with a
   * continuation (https://learn.microsoft.com/rest/api/storageservices/query-timeout-and-pagination), which the SDK's
   * pages follow. In the bulk lane the due entries are at the front (only those claimed or backing off are passed over),
   * so a dispatch reads about its batch, not the partition.
   */
  private async dueIn(sink: SinkName, partition: string, now: Date, limit: number): Promise<OutboxEntry[]> {
    const entries: OutboxEntry[] = [];
    const filter = `PartitionKey eq ${quoted(partition)} and dueAt le ${quoted(now.toISOString())}`;
    await this.call(async () => {
      for await (const page of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } }).byPage({ maxPageSize: limit })) {
        for (const entity of page) if (entries.length < limit) entries.push(toEntry(sink, partition, entity));
        if (entries.length >= limit) break;
      }
    });
    return entries.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.key.localeCompare(b.key));
  }

  /**
   * Prompt drafts without those the version before the lanes wrote already: it kept every entry in `<sink>` under the
   * same key, and an event it wrote before its commit failed may be delivered again to this version. Looked up only
   * while that partition holds anything (one read of one row per sink; nothing once the upgrade has drained it).
   */
  private async withoutPrevious(drafts: OutboxDraft[]): Promise<OutboxDraft[]> {
    const prompt = drafts.filter((draft) => (draft.lane ?? "prompt") === "prompt");
    const sinks = [...new Set(prompt.map((draft) => draft.sink))];
    const held = await Promise.all(sinks.map((sink) => this.holdsAny(sink)));
    const occupied = new Set(sinks.filter((_, index) => held[index]));
    if (occupied.size === 0) return drafts;
    const previous = new Set<OutboxDraft>();
    const lookups = prompt.filter((draft) => occupied.has(draft.sink));
    for (let start = 0; start < lookups.length; start += LOOKUPS_AT_ONCE) {
      await Promise.all(
        lookups.slice(start, start + LOOKUPS_AT_ONCE).map(async (draft) => {
          if (await this.find(draft.sink, draft.key)) previous.add(draft);
        }),
      );
    }
    return drafts.filter((draft) => !previous.has(draft));
  }

  /** Whether a partition holds any entity (its first row key, if any). */
  private async holdsAny(partition: string): Promise<boolean> {
    return this.call(async () => {
      const pages = this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: `PartitionKey eq ${quoted(partition)}`, select: ["RowKey"] } }).byPage({ maxPageSize: 1 });
      for await (const page of pages) if (page.length > 0) return true;
      return false;
    });
  }

  /** Takes the entry for `holdMs` (its dueAt moves past the hold); undefined when another instance got it first. */
  async claim(entry: OutboxEntry, now: Date, holdMs: number): Promise<OutboxEntry | undefined> {
    return this.conditional(entry, { dueAt: new Date(now.getTime() + holdMs).toISOString(), claimedAt: now.toISOString() });
  }

  /** Delivered: gone. A 404/412 means another instance took it over after this claim expired: not an error. */
  async delivered(entry: OutboxEntry): Promise<void> {
    try {
      await this.table.deleteEntity(entry.partition, entry.key, { etag: entry.etag });
    } catch (error) {
      if (!lost(error)) throw toServiceCallFailed("tableStorage", error);
    }
  }

  /** A failed attempt: counted, and due again at `dueAt`. */
  async retryLater(entry: OutboxEntry, error: string, dueAt: Date): Promise<void> {
    await this.conditional(entry, { attempts: entry.attempts + 1, lastError: error.slice(0, 1000), dueAt: dueAt.toISOString() });
  }

  /** Not tried (the sink's pace): due again now, no attempt counted. */
  async release(entry: OutboxEntry, now: Date): Promise<void> {
    await this.conditional(entry, { dueAt: now.toISOString() });
  }

  /** Never sent again: moved to `<sink>-dead` with why. False when another instance had it already. */
  async deadLetter(entry: OutboxEntry, error: string, now: Date): Promise<boolean> {
    await this.ensure();
    const current = await this.find<Record<string, unknown>>(entry.partition, entry.key);
    if (!current || current.etag !== entry.etag) return false;
    const { partitionKey: _partition, rowKey: _row, etag: _etag, timestamp: _timestamp, ...fields } = current as Record<string, unknown>;
    try {
      await this.table.upsertEntity({ ...fields, partitionKey: deadLetterPartition(entry.sink), rowKey: entry.key, attempts: entry.attempts + 1, lastError: error.slice(0, 1000), deadLetteredAt: now.toISOString() }, "Replace");
    } catch (cause) {
      throw toServiceCallFailed("tableStorage", cause);
    }
    await this.delivered(entry);
    return true;
  }

  /** The dead-lettered entries of a sink (for a person, and for tests). */
  async deadLettered(sink: SinkName): Promise<OutboxEntry[]> {
    await this.ensure();
    const entries: OutboxEntry[] = [];
    await this.call(async () => {
      for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: `PartitionKey eq ${quoted(deadLetterPartition(sink))}` } })) {
        entries.push(toEntry(sink, deadLetterPartition(sink), entity));
      }
    });
    return entries;
  }

  /** A Merge conditional on the entry's ETag; undefined when it changed or went (another instance has it). */
  private async conditional(entry: OutboxEntry, fields: Record<string, string | number>): Promise<OutboxEntry | undefined> {
    await this.ensure();
    try {
      const answer = await this.table.updateEntity({ partitionKey: entry.partition, rowKey: entry.key, ...fields }, "Merge", { etag: entry.etag });
      return { ...entry, etag: answer.etag ?? entry.etag, ...(typeof fields["attempts"] === "number" ? { attempts: fields["attempts"] } : {}) };
    } catch (error) {
      if (lost(error)) return undefined;
      throw toServiceCallFailed("tableStorage", error);
    }
  }
}

function lost(error: unknown): boolean {
  const status = statusCodeOf(error);
  return status === 404 || status === 412;
}

function toEntry(sink: SinkName, partition: string, entity: TableEntityResult<Record<string, unknown>>): OutboxEntry {
  return {
    sink,
    key: String(entity.rowKey),
    partition,
    payload: joinJson(entity, "payload", { countKey: "chunks" }),
    runId: String(entity["runId"] ?? ""),
    title: String(entity["title"] ?? ""),
    ...(typeof entity["fingerprint"] === "string" ? { fingerprint: entity["fingerprint"] } : {}),
    ...(typeof entity["ruleId"] === "string" ? { ruleId: entity["ruleId"] } : {}),
    attempts: Number(entity["attempts"] ?? 0),
    createdAt: String(entity["createdAt"] ?? ""),
    etag: entity.etag,
    ...(typeof entity["lastError"] === "string" ? { lastError: entity["lastError"] } : {}),
  };
}
