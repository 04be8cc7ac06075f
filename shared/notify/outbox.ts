import { createHash } from "node:crypto";
import type { TableEntity } from "@azure/data-tables";
import { TableStore } from "../state/tableStore.js";
import { toServiceCallFailed } from "../errors.js";
import type { SinkName } from "./sinks.js";

export interface OutboxEntry {
  sink: SinkName;
  key: string;
  payload: unknown;
  attempts: number;
}

/** Table string properties hold 32K UTF-16 characters: payloads are split across a few of them. */
const CHUNK = 30_000;
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
      const chunks = Math.ceil(text.length / CHUNK);
      if (chunks > MAX_CHUNKS) throw new Error(`notification for ${sink} is ${text.length} characters, over the outbox limit`);
      const entity: TableEntity<Record<string, unknown>> = {
        partitionKey: sink,
        rowKey: `${stamp}-${this.sequence.toString().padStart(6, "0")}-${createHash("sha256").update(text).digest("hex").slice(0, 12)}`,
        attempts: 0,
        chunks,
      };
      for (let index = 0; index < chunks; index += 1) entity[`payload${index}`] = text.slice(index * CHUNK, (index + 1) * CHUNK);
      return entity;
    });
    for (let start = 0; start < entities.length; start += 100) {
      try {
        await this.table.submitTransaction(entities.slice(start, start + 100).map((entity) => ["create", entity]));
      } catch (error) {
        throw toServiceCallFailed("tableStorage", error);
      }
    }
  }

  /** Pending entries of a sink, oldest first. */
  async pending(sink: SinkName): Promise<OutboxEntry[]> {
    await this.ensure();
    const entries: OutboxEntry[] = [];
    try {
      for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: `PartitionKey eq '${sink}'` } })) {
        const chunks = Number(entity["chunks"] ?? 1);
        let text = "";
        for (let index = 0; index < chunks; index += 1) text += String(entity[`payload${index}`] ?? "");
        entries.push({ sink, key: String(entity.rowKey), payload: JSON.parse(text), attempts: Number(entity["attempts"] ?? 0) });
      }
    } catch (error) {
      throw toServiceCallFailed("tableStorage", error);
    }
    return entries.sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  async delivered(entry: OutboxEntry): Promise<void> {
    await this.table.deleteEntity(entry.sink, entry.key).catch((error: unknown) => {
      throw toServiceCallFailed("tableStorage", error);
    });
  }

  async failed(entry: OutboxEntry, reason: string): Promise<void> {
    await this.table
      .updateEntity({ partitionKey: entry.sink, rowKey: entry.key, attempts: entry.attempts + 1, lastError: reason.slice(0, 1000) }, "Merge")
      .catch((error: unknown) => {
        throw toServiceCallFailed("tableStorage", error);
      });
  }
}
