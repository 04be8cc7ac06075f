import { createReadStream, existsSync, mkdirSync, readFileSync } from "node:fs";
import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { TableClient, TransactionAction } from "@azure/data-tables";
import { SharedRecordText, storedRecord, type FindingRecord, type FindingStateStore, type LoadOptions } from "../shared/engine/findingLifecycle.js";
import { NotificationOutbox } from "../shared/state/outbox.js";
import { TRANSACTION_LIMIT, keyFor } from "../shared/state/tableStore.js";

/**
 * Test doubles of the sweep job's Table storage, for the benchmark only (bench/sweepJobChild.ts). Azurite would be the
 * real thing, but its Table store (LokiJS) rewrites its whole database file on every write: at 100k role assignments a
 * sweep with --state took ~20 min, and 1M is out of reach. Table storage keeps a partition off the app's heap; these
 * keep it in NDJSON files under a directory, so what the child's heap holds is what the job itself holds, and a second
 * process (the next timer run) reads what the first one wrote.
 */

/** Every line of a file, in order (none when it does not exist), read as a stream. */
export async function eachLine(path: string, visit: (line: string) => void): Promise<void> {
  if (!existsSync(path)) return;
  const lines = createInterface({ input: createReadStream(path, { encoding: "utf8" }), crlfDelay: Infinity });
  for await (const line of lines) if (line !== "") visit(line);
}


/** A line of a partition's records file: the stored record without its snapshot, and how Table storage would write it. */
interface RecordLine {
  op: "Merge" | "Replace";
  record: FindingRecord;
}

/**
 * Finding state as TableFindingStateStore keeps it (shared/state/findingStateTable.ts), one partition per scope in two
 * append-only files: `<scope>.records.ndjson` (each record as stored, without its snapshot) and
 * `<scope>.snapshots.ndjson` (fingerprint and snapshot). The last line of a fingerprint wins, as the last write of a
 * row does. A record saved with a snapshot replaces the row; one saved without (it was read without) merges into it
 * and keeps the stored snapshot: Table storage's Insert Or Replace and Insert Or Merge. Reading with
 * `snapshots: false` never opens the snapshots file, as `$select` leaves the property in the table. No
 * `openForSubjects`: a sweep never resolves by subject (only deletes seen by events do).
 */
export class NdjsonFindingStateStore implements FindingStateStore {
  /** Records this instance read and wrote, and the transactions Table storage would have taken (for the bench's report). */
  recordsRead = 0;
  written = 0;
  transactions = 0;
  /** Of the records written, those written with their snapshot (a Replace), and the bytes of what was written (records and snapshots as JSON). */
  snapshotsWritten = 0;
  bytesWritten = 0;

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private file(scope: string, kind: "records" | "snapshots"): string {
    return join(this.dir, `findings-${keyFor(scope)}.${kind}.ndjson`);
  }

  async load(scope: string, options: LoadOptions = {}): Promise<Map<string, FindingRecord>> {
    return this.read(scope, options.snapshots !== false, () => true);
  }

  /** Point reads, by a scan of the partition (the notices partition is small). */
  async loadSome(scope: string, fingerprints: string[]): Promise<Map<string, FindingRecord>> {
    const wanted = new Set(fingerprints);
    return this.read(scope, true, (fingerprint) => wanted.has(fingerprint));
  }

  private async read(scope: string, snapshots: boolean, wanted: (fingerprint: string) => boolean): Promise<Map<string, FindingRecord>> {
    const records = new Map<string, FindingRecord>();
    const shared = new SharedRecordText();
    await eachLine(this.file(scope, "records"), (line) => {
      const { op, record } = JSON.parse(line) as RecordLine;
      if (!wanted(record.fingerprint)) return;
      const kept = records.get(record.fingerprint);
      records.set(record.fingerprint, shared.record(op === "Merge" && kept ? { ...kept, ...record } : record));
    });
    this.recordsRead += records.size;
    if (!snapshots) return records;
    await eachLine(this.file(scope, "snapshots"), (line) => {
      const { fingerprint, snapshot } = JSON.parse(line) as { fingerprint: string; snapshot: string };
      const record = records.get(fingerprint);
      if (record) record.snapshot = snapshot;
    });
    return records;
  }

  async save(scope: string, records: FindingRecord[]): Promise<void> {
    // A transaction's worth at a time, as the Table store writes: each record's snapshot is made as it is written.
    for (let start = 0; start < records.length; start += TRANSACTION_LIMIT) {
      let recordLines = "";
      let snapshotLines = "";
      for (const record of records.slice(start, start + TRANSACTION_LIMIT)) {
        const { snapshot, ...rest } = storedRecord(record);
        recordLines += `${JSON.stringify({ op: snapshot === undefined ? "Merge" : "Replace", record: rest } satisfies RecordLine)}\n`;
        if (snapshot !== undefined) snapshotLines += `${JSON.stringify({ fingerprint: record.fingerprint, snapshot })}\n`;
        if (snapshot !== undefined) this.snapshotsWritten += 1;
      }
      this.bytesWritten += Buffer.byteLength(recordLines) + Buffer.byteLength(snapshotLines);
      await appendFile(this.file(scope, "records"), recordLines);
      if (snapshotLines !== "") await appendFile(this.file(scope, "snapshots"), snapshotLines);
      this.written += Math.min(TRANSACTION_LIMIT, records.length - start);
      this.transactions += 1;
    }
  }
}

export type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };

/** What happened to one row after it was created: few rows (the ones a dispatch took), so they are kept in memory too. */
interface RowChange {
  etag: string;
  deleted?: boolean;
  /** The whole row, when it was written other than by a transaction (upsert, create): it may be in no partition file. */
  entity?: Entity;
  /** Properties merged into the row as created. */
  merged?: Record<string, unknown>;
}

export function tableError(statusCode: number, message: string): Error {
  return Object.assign(new Error(message), { name: "RestError", statusCode });
}

/** What `listEntities` answers: the rows one by one, or in pages (`byPage`), as the SDK's paged iterator does. */
export function listing(rows: () => AsyncGenerator<Entity & { etag: string }>) {
  return {
    [Symbol.asyncIterator]: rows,
    async *byPage(settings: { maxPageSize?: number } = {}) {
      const size = settings.maxPageSize ?? 1000;
      let page: Array<Entity & { etag: string }> = [];
      for await (const row of rows()) {
        page.push(row);
        if (page.length < size) continue;
        yield page;
        page = [];
      }
      if (page.length > 0) yield page;
    },
  };
}

/**
 * The few calls of a TableClient that NotificationOutbox (shared/state/outbox.ts) makes, over files: rows created by a
 * transaction are appended to their partition's file (`outbox-<partition>.ndjson`, one entity a line, as Table storage
 * holds it); what happens to a row later (claimed, delivered, retried, dead-lettered) is appended to
 * `outbox-changes.ndjson` and kept in memory (a dispatch touches at most a batch per sink). A listing streams the
 * partition's file and stops at the page asked for. It does not check that a created row is new (that would hold
 * every key on the heap): the keys of a sweep's entries carry its run id, so no two runs write the same one.
 */
class NdjsonOutboxTable {
  private readonly changes = new Map<string, RowChange>();
  /**
   * The rows the last listing of each partition handed out, as created: a dispatch claims, deletes or puts back only
   * those, so its point reads find them here instead of scanning the file (at most a page per sink).
   */
  private readonly listed = new Map<string, Map<string, Entity>>();
  private etags = 0;
  /** Rows created by this instance, and its writes: each a round trip to Table storage (for the bench's report). */
  created = 0;
  writes = 0;

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    const log = join(dir, "outbox-changes.ndjson");
    if (existsSync(log)) {
      for (const line of readFileSync(log, "utf8").split("\n")) {
        if (line === "") continue;
        const { key, change } = JSON.parse(line) as { key: string; change: RowChange };
        this.changes.set(key, change);
      }
    }
  }

  private file(partitionKey: string): string {
    return join(this.dir, `outbox-${keyFor(partitionKey)}.ndjson`);
  }

  private etag(): string {
    this.etags += 1;
    return `W/"${process.pid}-${this.etags}"`;
  }

  private async change(entity: { partitionKey: string; rowKey: string }, change: RowChange): Promise<void> {
    const key = `${entity.partitionKey}\n${entity.rowKey}`;
    this.changes.set(key, change);
    this.writes += 1;
    await appendFile(join(this.dir, "outbox-changes.ndjson"), `${JSON.stringify({ key, change })}\n`);
  }

  /** The row as it stands now, from its line in the partition file (undefined: deleted). */
  private current(entity: Entity): (Entity & { etag: string }) | undefined {
    const change = this.changes.get(`${entity.partitionKey}\n${entity.rowKey}`);
    if (!change) return { ...entity, etag: 'W/"created"' };
    if (change.deleted) return undefined;
    return { ...(change.entity ?? entity), ...(change.merged ?? {}), etag: change.etag };
  }

  async createTable(): Promise<void> {
    return undefined;
  }

  async submitTransaction(actions: TransactionAction[]): Promise<void> {
    const byPartition = new Map<string, string>();
    for (const action of actions) {
      if (action[0] !== "create") throw new Error(`the outbox double takes create transactions only, not ${action[0]}`);
      const entity = action[1] as Entity;
      byPartition.set(entity.partitionKey, `${byPartition.get(entity.partitionKey) ?? ""}${JSON.stringify(entity)}\n`);
    }
    for (const [partitionKey, lines] of byPartition) await appendFile(this.file(partitionKey), lines);
    this.created += actions.length;
    this.writes += 1;
  }

  async createEntity(entity: Entity): Promise<void> {
    const kept = this.changes.get(`${entity.partitionKey}\n${entity.rowKey}`);
    if (kept && !kept.deleted) throw tableError(409, "EntityAlreadyExists");
    await this.change(entity, { etag: this.etag(), entity });
  }

  async upsertEntity(entity: Entity, mode: "Replace"): Promise<void> {
    if (mode !== "Replace") throw new Error(`the outbox double upserts with Replace only, not ${String(mode)}`);
    await this.change(entity, { etag: this.etag(), entity });
  }

  async getEntity(partitionKey: string, rowKey: string): Promise<Entity & { etag: string }> {
    const change = this.changes.get(`${partitionKey}\n${rowKey}`);
    const base = change?.entity ?? this.listed.get(partitionKey)?.get(rowKey);
    if (base) {
      const row = this.current(base);
      if (!row) throw tableError(404, "ResourceNotFound");
      return row;
    }
    for await (const entity of this.rows(partitionKey, () => true)) if (entity.rowKey === rowKey) return entity;
    throw tableError(404, "ResourceNotFound");
  }

  async updateEntity(entity: Entity, mode: "Merge", options: { etag: string }): Promise<{ etag: string }> {
    const row = await this.getEntity(entity.partitionKey, entity.rowKey).catch(() => undefined);
    if (!row) throw tableError(404, "ResourceNotFound");
    if (mode !== "Merge" || row.etag !== options.etag) throw tableError(412, "UpdateConditionNotSatisfied");
    const { partitionKey: _partition, rowKey: _row, ...fields } = entity;
    const before = this.changes.get(`${entity.partitionKey}\n${entity.rowKey}`);
    const etag = this.etag();
    await this.change(entity, { ...(before ?? {}), etag, merged: { ...(before?.merged ?? {}), ...fields } });
    return { etag };
  }

  async deleteEntity(partitionKey: string, rowKey: string, options: { etag: string }): Promise<void> {
    const row = await this.getEntity(partitionKey, rowKey).catch(() => undefined);
    if (!row) throw tableError(404, "ResourceNotFound");
    if (row.etag !== options.etag) throw tableError(412, "UpdateConditionNotSatisfied");
    await this.change({ partitionKey, rowKey }, { etag: this.etag(), deleted: true });
  }

  /** The rows of a partition as they stand, in the order they were written (a scan, stopped by whoever stops asking). */
  private async *rows(partitionKey: string, keep: (entity: Entity) => boolean): AsyncGenerator<Entity & { etag: string }> {
    const seen = new Set<string>();
    if (existsSync(this.file(partitionKey))) {
      const input = createReadStream(this.file(partitionKey), { encoding: "utf8" });
      try {
        for await (const line of createInterface({ input, crlfDelay: Infinity })) {
          if (line === "") continue;
          const row = this.current(JSON.parse(line) as Entity);
          if (!row) continue;
          if (this.changes.has(`${partitionKey}\n${row.rowKey}`)) seen.add(row.rowKey);
          if (keep(row)) yield row;
        }
      } finally {
        // A listing stopped after its page leaves the rest of the file unread: close it now, not at the next GC.
        input.destroy();
      }
    }
    // Rows written by upsert or create alone (a dead letter's new partition).
    for (const [key, change] of this.changes) {
      if (!key.startsWith(`${partitionKey}\n`) || change.deleted || !change.entity || seen.has(change.entity.rowKey)) continue;
      const row = { ...change.entity, ...(change.merged ?? {}), etag: change.etag };
      if (keep(row)) yield row;
    }
  }

  /** The filters NotificationOutbox sends: `PartitionKey eq '<sink>'`, optionally `and dueAt le '<time>'`. */
  listEntities(options: { queryOptions?: { filter?: string } } = {}) {
    const filter = options.queryOptions?.filter ?? "";
    const match = /^PartitionKey eq '((?:[^']|'')*)'(?: and dueAt le '([^']*)')?$/.exec(filter);
    if (!match) throw new Error(`the outbox double does not answer the filter ${filter}`);
    const partitionKey = (match[1] ?? "").replace(/''/g, "'");
    const dueBy = match[2];
    const listed = new Map<string, Entity>();
    this.listed.set(partitionKey, listed);
    const rows = async function* (this: NdjsonOutboxTable): AsyncGenerator<Entity & { etag: string }> {
      for await (const row of this.rows(partitionKey, (candidate) => dueBy === undefined || String(candidate["dueAt"]) <= dueBy)) {
        const { etag: _etag, ...entity } = row;
        listed.set(row.rowKey, entity);
        yield row;
      }
    }.bind(this);
    return listing(rows);
  }
}

/** The app's outbox class itself, on the files of `NdjsonOutboxTable`: its entities are written as the app writes them. */
export class NdjsonOutbox extends NotificationOutbox {
  private readonly files: NdjsonOutboxTable;

  constructor(dir: string) {
    const files = new NdjsonOutboxTable(dir);
    // A double of the few TableClient calls NotificationOutbox makes (not the SDK's type, which has private members).
    super(files as unknown as TableClient);
    this.files = files;
  }

  /** Entries this instance wrote. */
  get written(): number {
    return this.files.created;
  }

  /** Its writes to the table (transactions, claims, deletes, …): each a round trip to Table storage. */
  get tableWrites(): number {
    return this.files.writes;
  }
}
