import { createHash } from "node:crypto";
import type { TableClient, TransactionAction } from "@azure/data-tables";
import { statusCodeOf, toServiceCallFailed } from "../errors.js";

/**
 * The Table-storage chores, in one place: creating the table once, turning SDK errors into
 * ServiceCallFailed("tableStorage"), 100-entity transactions per partition, JSON split over several
 * properties, and keys and filter strings that Table storage accepts.
 */

/** A transaction holds at most 100 entities, all of one partition. */
export const TRANSACTION_LIMIT = 100;

/** Items made into entities at a time by `transactInParts`. */
const PART = 5_000;

/** Table string properties hold 64 KiB (32 K UTF-16 characters): longer JSON is split over several. */
const CHUNK = 30_000;

/** Table storage keys cannot contain / \ # ? or control characters: anything else is hashed. */
export function keyFor(value: string): string {
  return /^[A-Za-z0-9._-]{1,200}$/.test(value) ? value : createHash("sha256").update(value).digest("hex");
}

/**
 * Text from outside (an event's resource name, a tag) can hold NUL, lone UTF-16 surrogates, the noncharacters
 * U+FFFE/U+FFFF, or the line and paragraph separators U+2028/U+2029 (Azurite refuses a transaction holding one:
 * the whole batch fails): a string property is stored with each replaced by U+FFFD. JSON payloads need nothing (JSON.stringify escapes lone surrogates).
 */
export function storableText(value: string): string {
  return value.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|[\u0000\u2028\u2029\ufffe\uffff]/g, "\ufffd");
}

/** A string literal for an OData filter (`PartitionKey eq ${quoted(x)}`). */
export function quoted(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * JSON over as many properties as it needs: `<name>0`, `<name>1`, … and the count in `countKey`
 * (default `<name>Parts`). `maxParts` refuses what would be too big for one entity.
 */
export function splitJson(name: string, value: unknown, options: { countKey?: string; maxParts?: number } = {}): Record<string, string | number> {
  const text = JSON.stringify(value ?? null);
  const count = Math.max(1, Math.ceil(text.length / CHUNK));
  if (options.maxParts !== undefined && count > options.maxParts) throw new Error(`${name} is ${text.length} characters, over the limit of ${options.maxParts} properties of one table entity`);
  const parts: Record<string, string | number> = { [options.countKey ?? `${name}Parts`]: count };
  for (let index = 0; index < count; index += 1) parts[`${name}${index}`] = text.slice(index * CHUNK, (index + 1) * CHUNK);
  return parts;
}

/** The JSON splitJson wrote; undefined when the entity has none of it. */
export function joinJson(entity: Record<string, unknown>, name: string, options: { countKey?: string } = {}): unknown {
  const parts = Number(entity[options.countKey ?? `${name}Parts`] ?? 0);
  if (parts === 0) return undefined;
  let text = "";
  for (let index = 0; index < parts; index += 1) text += String(entity[`${name}${index}`] ?? "");
  return JSON.parse(text);
}

/** A store on one table, created on first use (once per process, retried if creation failed). */
export abstract class TableStore {
  private ready: Promise<void> | undefined;

  constructor(protected readonly table: TableClient) {}

  protected ensure(): Promise<void> {
    this.ready ??= this.table.createTable().catch((error: unknown) => {
      this.ready = undefined;
      throw toServiceCallFailed("tableStorage", error);
    });
    return this.ready;
  }

  /** One Table call (or a few): any SDK error becomes ServiceCallFailed("tableStorage"). */
  protected async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw toServiceCallFailed("tableStorage", error);
    }
  }

  /** A point read; 404 is undefined. */
  protected async find<T extends object>(partitionKey: string, rowKey: string): Promise<(T & { partitionKey?: string; rowKey?: string; etag: string }) | undefined> {
    try {
      return await this.table.getEntity<T>(partitionKey, rowKey);
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined;
      throw toServiceCallFailed("tableStorage", error);
    }
  }

  /**
   * `transact` a part at a time: only one part's entities exist at once. A sweep of a million role assignments writes
   * ~290,000 finding records and ~330,000 baseline entries; made all at once, they are a few hundred MB beside the
   * sweep's report. The items (not their entities) are grouped by partition first, so each transaction is full.
   */
  protected async transactInParts<T>(items: readonly T[], partitionOf: (item: T) => string, action: (item: T) => TransactionAction, size = PART): Promise<void> {
    const byPartition = new Map<string, T[]>();
    for (const item of items) {
      const partition = partitionOf(item);
      const group = byPartition.get(partition);
      if (group) group.push(item);
      else byPartition.set(partition, [item]);
    }
    for (const group of byPartition.values()) {
      for (let start = 0; start < group.length; start += size) await this.transact(group.slice(start, start + size).map(action));
    }
  }

  /** Actions grouped by partition and submitted at most 100 to a transaction. */
  protected async transact(actions: TransactionAction[]): Promise<void> {
    const byPartition = new Map<string, TransactionAction[]>();
    for (const action of actions) {
      const partition = String(action[1].partitionKey);
      const group = byPartition.get(partition);
      if (group) group.push(action);
      else byPartition.set(partition, [action]);
    }
    for (const group of byPartition.values()) {
      for (let start = 0; start < group.length; start += TRANSACTION_LIMIT) {
        await this.call(() => this.table.submitTransaction(group.slice(start, start + TRANSACTION_LIMIT)));
      }
    }
  }
}
