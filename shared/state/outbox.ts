import { createHash } from "node:crypto";
import { TableStore, joinJson, quoted, splitJson } from "./tableStore.js";
import type { SinkName } from "../notify/sinks.js";

export interface OutboxEntry {
  sink: SinkName;
  key: string;
  payload: unknown;
  attempts: number;
}

/** A payload is split over at most this many properties (tableStore.ts splitJson). */
const MAX_CHUNKS = 16;

/**
 * Notifications are written here before any sink is called and removed once delivered: a sink that
 * is down keeps its entries for the next run. Nothing lost; an entry is sent until it is delivered.
 */
export class NotificationOutbox extends TableStore {
  private sequence = 0;

  async enqueue(sink: SinkName, payloads: unknown[], now: Date): Promise<void> {
    if (payloads.length === 0) return;
    await this.ensure();
    const stamp = now.getTime().toString().padStart(15, "0");
    const entities = payloads.map((payload) => {
      this.sequence += 1;
      const text = JSON.stringify(payload);
      return {
        partitionKey: sink,
        rowKey: `${stamp}-${this.sequence.toString().padStart(6, "0")}-${createHash("sha256").update(text).digest("hex").slice(0, 12)}`,
        attempts: 0,
        ...splitJson("payload", payload, { countKey: "chunks", maxParts: MAX_CHUNKS }),
      };
    });
    await this.transact(entities.map((entity) => ["create", entity]));
  }

  /** Pending entries of a sink, oldest first. */
  async pending(sink: SinkName): Promise<OutboxEntry[]> {
    await this.ensure();
    const entries: OutboxEntry[] = [];
    await this.call(async () => {
      for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: `PartitionKey eq ${quoted(sink)}` } })) {
        entries.push({ sink, key: String(entity.rowKey), payload: joinJson(entity, "payload", { countKey: "chunks" }), attempts: Number(entity["attempts"] ?? 0) });
      }
    });
    return entries.sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  async delivered(entry: OutboxEntry): Promise<void> {
    await this.call(() => this.table.deleteEntity(entry.sink, entry.key));
  }

  async failed(entry: OutboxEntry, reason: string): Promise<void> {
    await this.call(() => this.table.updateEntity({ partitionKey: entry.sink, rowKey: entry.key, attempts: entry.attempts + 1, lastError: reason.slice(0, 1000) }, "Merge"));
  }
}
