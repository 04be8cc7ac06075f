import type { TableEntityResult } from "@azure/data-tables";
import { statusCodeOf, toServiceCallFailed } from "../errors.js";
import { TableStore, joinJson, quoted, splitJson, storableText } from "./tableStore.js";
import type { SinkName } from "../notify/sinks.js";

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
}

export interface OutboxEntry extends OutboxDraft {
  attempts: number;
  createdAt: string;
  /** The entity's ETag as last read or written by this instance: every change is conditional on it. */
  etag: string;
  lastError?: string;
}

/** A payload is split over at most this many properties (tableStore.ts splitJson). */
const MAX_CHUNKS = 16;

/** The partition of a sink's entries that will never be sent again (kept for a person to read). */
export function deadLetterPartition(sink: SinkName): string {
  return `${sink}-dead`;
}

/**
 * Notices are written here before any sink is called (docs/guarantees.md "Nothing twice, nothing starved"): partition =
 * sink, row = the notice's key. A dispatcher claims an entry before sending it (a conditional update on its
 * ETag: of two instances only one wins, and the loser skips it), and after the send deletes it, or puts it
 * back with a later `dueAt` (backoff per entry), or moves it to `<sink>-dead`. Only entries that are due are
 * read, a bounded number at a time: an entry waiting out its backoff holds back nobody.
 */
export class NotificationOutbox extends TableStore {
  /** Idempotent: an entry already there (the same notice of the same run) is left as it is. */
  async enqueue(drafts: OutboxDraft[], now: Date): Promise<void> {
    if (drafts.length === 0) return;
    await this.ensure();
    const at = now.toISOString();
    const entities = drafts.map((draft) => ({
      partitionKey: draft.sink,
      rowKey: draft.key,
      runId: draft.runId,
      title: storableText(draft.title.slice(0, 1000)),
      ...(draft.fingerprint ? { fingerprint: draft.fingerprint } : {}),
      ...(draft.ruleId ? { ruleId: draft.ruleId } : {}),
      createdAt: at,
      dueAt: at,
      attempts: 0,
      ...splitJson("payload", draft.payload, { countKey: "chunks", maxParts: MAX_CHUNKS }),
    }));
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

  /** Up to `limit` entries of a sink that are due now (oldest first among them). */
  async due(sink: SinkName, now: Date, limit: number): Promise<OutboxEntry[]> {
    await this.ensure();
    const entries: OutboxEntry[] = [];
    const filter = `PartitionKey eq ${quoted(sink)} and dueAt le ${quoted(now.toISOString())}`;
    await this.call(async () => {
      for await (const page of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } }).byPage({ maxPageSize: limit })) {
        for (const entity of page) if (entries.length < limit) entries.push(toEntry(sink, entity));
        if (entries.length >= limit) break;
      }
    });
    return entries.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.key.localeCompare(b.key));
  }

  /** Takes the entry for `holdMs` (its dueAt moves past the hold); undefined when another instance got it first. */
  async claim(entry: OutboxEntry, now: Date, holdMs: number): Promise<OutboxEntry | undefined> {
    return this.conditional(entry, { dueAt: new Date(now.getTime() + holdMs).toISOString(), claimedAt: now.toISOString() });
  }

  /** Delivered: gone. A 404/412 means another instance took it over after this claim expired: not an error. */
  async delivered(entry: OutboxEntry): Promise<void> {
    try {
      await this.table.deleteEntity(entry.sink, entry.key, { etag: entry.etag });
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
    const current = await this.find<Record<string, unknown>>(entry.sink, entry.key);
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
        entries.push(toEntry(sink, entity));
      }
    });
    return entries;
  }

  /** A Merge conditional on the entry's ETag; undefined when it changed or went (another instance has it). */
  private async conditional(entry: OutboxEntry, fields: Record<string, string | number>): Promise<OutboxEntry | undefined> {
    await this.ensure();
    try {
      const answer = await this.table.updateEntity({ partitionKey: entry.sink, rowKey: entry.key, ...fields }, "Merge", { etag: entry.etag });
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

function toEntry(sink: SinkName, entity: TableEntityResult<Record<string, unknown>>): OutboxEntry {
  return {
    sink,
    key: String(entity.rowKey),
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
