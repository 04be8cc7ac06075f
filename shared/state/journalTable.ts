import { createHash } from "node:crypto";
import type { TableClient, TableEntityResult } from "@azure/data-tables";
import { TableStore, joinJson, keyFor, quoted, splitJson } from "./tableStore.js";
import { statusCodeOf, toServiceCallFailed } from "../errors.js";
import { LEASE_MS, type Journal, type LeaseStore } from "../cleanup/journal.js";
import type { JournalEntry, JournalStatus } from "../cleanup/types.js";

/** Partitions of the journal table besides one per run id (run ids start with a letter). */
const PENDING = "_pending";
/** The leases' partition; its stored name predates the word "lease" and stays, so old rows still count. */
const LEASES = "_claims";
/** A copy of every entry in the partition of its UTC day: the budget and the restore approval read one or two days, not the table. */
const DAY = "_day-";
const DAY_MS = 86_400_000;

function dayPartition(createdAt: string): string {
  return `${DAY}${createdAt.slice(0, 10)}`;
}

/**
 * The app's journal (table `uamiguardjournal`): one partition per run, a pending index, a day index, target
 * leases. `leaseMs` is how long a lease lives unrenewed (LEASE_MS; tests shorten it).
 */
export class TableJournal extends TableStore implements Journal, LeaseStore {
  constructor(table: TableClient, private readonly leaseMs = LEASE_MS) {
    super(table);
  }

  get description(): string {
    return `table ${this.table.tableName}`;
  }

  private toEntity(entry: JournalEntry): Record<string, unknown> & { partitionKey: string; rowKey: string } {
    return {
      partitionKey: keyFor(entry.runId),
      rowKey: entry.entryId,
      entryId: entry.entryId,
      runId: entry.runId,
      kind: entry.kind,
      status: entry.status,
      targetId: entry.action.targetId,
      ruleId: entry.action.finding.ruleId,
      caller: entry.caller,
      createdAt: entry.createdAt,
      updatedAt: entry.updatedAt,
      ...(entry.undoes ? { undoes: entry.undoes } : {}),
      ...(entry.detail ? { detail: entry.detail } : {}),
      ...splitJson("action", entry.action),
      ...splitJson("prior", entry.prior),
      ...(entry.after ? splitJson("after", entry.after) : {}),
    };
  }

  private fromEntity(entity: TableEntityResult<Record<string, unknown>>): JournalEntry {
    const after = joinJson(entity, "after") as Record<string, unknown> | undefined;
    return {
      entryId: String(entity.rowKey),
      runId: String(entity["runId"]),
      kind: String(entity["kind"]) as JournalEntry["kind"],
      ...(entity["undoes"] ? { undoes: String(entity["undoes"]) } : {}),
      action: joinJson(entity, "action") as JournalEntry["action"],
      caller: String(entity["caller"] ?? ""),
      status: String(entity["status"]) as JournalStatus,
      prior: (joinJson(entity, "prior") ?? {}) as Record<string, unknown>,
      ...(after ? { after } : {}),
      ...(entity["detail"] ? { detail: String(entity["detail"]) } : {}),
      createdAt: String(entity["createdAt"] ?? ""),
      updatedAt: String(entity["updatedAt"] ?? ""),
    };
  }

  async get(runId: string, entryId: string): Promise<JournalEntry | undefined> {
    await this.ensure();
    const entity = await this.find<Record<string, unknown>>(keyFor(runId), entryId);
    return entity ? this.fromEntity(entity) : undefined;
  }

  async begin(entry: JournalEntry): Promise<void> {
    await this.ensure();
    try {
      // The index first: a pending entry must never be missed by reconciliation.
      await this.table.upsertEntity({ partitionKey: PENDING, rowKey: `${keyFor(entry.runId)}|${entry.entryId}`, runId: entry.runId, entryId: entry.entryId }, "Replace");
      await this.table.upsertEntity(this.toEntity(entry), "Replace");
      await this.table.upsertEntity({ ...this.toEntity(entry), partitionKey: dayPartition(entry.createdAt), rowKey: `${keyFor(entry.runId)}|${entry.entryId}` }, "Replace");
    } catch (error) {
      throw toServiceCallFailed("tableStorage", error);
    }
  }

  async finish(entry: JournalEntry, status: Exclude<JournalStatus, "pending">, detail: string, after?: Record<string, unknown>): Promise<JournalEntry> {
    await this.ensure();
    const finished: JournalEntry = { ...entry, status, detail, ...(after ? { after } : {}), updatedAt: new Date().toISOString() };
    try {
      await this.table.upsertEntity(this.toEntity(finished), "Replace");
      await this.table.upsertEntity({ ...this.toEntity(finished), partitionKey: dayPartition(finished.createdAt), rowKey: `${keyFor(finished.runId)}|${finished.entryId}` }, "Replace");
      await this.table.deleteEntity(PENDING, `${keyFor(entry.runId)}|${entry.entryId}`).catch((error: unknown) => {
        if (statusCodeOf(error) !== 404) throw error;
      });
    } catch (error) {
      throw toServiceCallFailed("tableStorage", error);
    }
    return finished;
  }

  async pending(): Promise<JournalEntry[]> {
    await this.ensure();
    const found: JournalEntry[] = [];
    try {
      for await (const pointer of this.table.listEntities<{ runId: string; entryId: string }>({ queryOptions: { filter: `PartitionKey eq '${PENDING}'` } })) {
        const entry = await this.get(pointer.runId, pointer.entryId);
        if (entry?.status === "pending") found.push(entry);
        else await this.table.deleteEntity(PENDING, String(pointer.rowKey)).catch(() => undefined);
      }
    } catch (error) {
      throw toServiceCallFailed("tableStorage", error);
    }
    return found;
  }

  /** The day partitions from `time`'s day to today's (two for the last 24 hours), never the whole table. */
  async since(time: Date): Promise<JournalEntry[]> {
    await this.ensure();
    const from = time.toISOString();
    const days: string[] = [];
    for (let day = Math.floor(time.getTime() / DAY_MS) * DAY_MS; day <= Date.now() + DAY_MS; day += DAY_MS) days.push(dayPartition(new Date(day).toISOString()));
    const found: JournalEntry[] = [];
    try {
      for (const partition of days) {
        const filter = `PartitionKey eq ${quoted(partition)} and createdAt ge ${quoted(from)}`;
        for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) found.push({ ...this.fromEntity(entity), entryId: String(entity["entryId"] ?? entity.rowKey) });
      }
    } catch (error) {
      throw toServiceCallFailed("tableStorage", error);
    }
    return found;
  }

  async entries(filter: { runId?: string; entryId?: string }): Promise<JournalEntry[]> {
    await this.ensure();
    const clauses: string[] = [];
    if (filter.runId) clauses.push(`PartitionKey eq ${quoted(keyFor(filter.runId))}`);
    else clauses.push(`PartitionKey ne '${PENDING}' and PartitionKey ne '${LEASES}' and (PartitionKey lt '${DAY}' or PartitionKey ge '${DAY}~')`);
    if (filter.entryId) clauses.push(`RowKey eq ${quoted(filter.entryId)}`);
    const found: JournalEntry[] = [];
    try {
      for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: clauses.join(" and ") } })) found.push(this.fromEntity(entity));
    } catch (error) {
      throw toServiceCallFailed("tableStorage", error);
    }
    return found.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.entryId.localeCompare(b.entryId));
  }

  /**
   * Insert wins; a hold not renewed for `leaseMs` — by the service's clock: the entity's Timestamp against the
   * Date of the service's answer — is taken over with its ETag, so only one of two racing runs gets it.
   */
  async acquire(targetKey: string, holder: { runId: string; entryId: string }, now: Date): Promise<{ ok: true } | { ok: false; heldBy: string }> {
    await this.ensure();
    const rowKey = leaseRow(targetKey);
    const entity = { partitionKey: LEASES, rowKey, targetKey, runId: holder.runId, entryId: holder.entryId, claimedAt: now.toISOString() };
    try {
      await this.table.createEntity(entity);
      return { ok: true };
    } catch (error) {
      if (statusCodeOf(error) !== 409) throw toServiceCallFailed("tableStorage", error);
    }
    try {
      const { current, serviceNow } = await this.readLease(rowKey);
      if (!current) return { ok: false, heldBy: "another run" };
      const mine = current.entryId === holder.entryId;
      const renewedAt = Date.parse(String(current.timestamp ?? ""));
      // No Timestamp or no Date to judge by: never assume the holder is gone.
      const expired = !Number.isNaN(renewedAt) && serviceNow !== undefined && serviceNow - renewedAt >= this.leaseMs;
      if (!mine && !expired) return { ok: false, heldBy: current.runId };
      await this.table.updateEntity(entity, "Replace", { etag: current.etag });
      return { ok: true };
    } catch (error) {
      const status = statusCodeOf(error);
      if (status === 412 || status === 404) return { ok: false, heldBy: "another run" };
      throw toServiceCallFailed("tableStorage", error);
    }
  }

  /** A write with the lease's ETag: the service stamps a new Timestamp, which is what expiry is judged by. */
  async renew(targetKey: string, holder: { runId: string; entryId: string }): Promise<boolean> {
    await this.ensure();
    const rowKey = leaseRow(targetKey);
    try {
      const { current } = await this.readLease(rowKey);
      if (!current || current.entryId !== holder.entryId) return false;
      await this.table.updateEntity({ partitionKey: LEASES, rowKey, renewals: Number(current.renewals ?? 0) + 1 }, "Merge", { etag: current.etag });
      return true;
    } catch (error) {
      const status = statusCodeOf(error);
      if (status === 412 || status === 404) return false;
      throw toServiceCallFailed("tableStorage", error);
    }
  }

  private async readLease(rowKey: string): Promise<{ current?: TableEntityResult<{ runId: string; entryId: string; renewals?: number }>; serviceNow?: number }> {
    let date: string | undefined;
    try {
      const current = await this.table.getEntity<{ runId: string; entryId: string; renewals?: number }>(LEASES, rowKey, {
        onResponse: (response) => {
          date = response.headers.get("date") ?? undefined;
        },
      });
      const serviceNow = date ? Date.parse(date) : Number.NaN;
      return { current, ...(Number.isNaN(serviceNow) ? {} : { serviceNow }) };
    } catch (error) {
      if (statusCodeOf(error) === 404) return {};
      throw error;
    }
  }

  async release(targetKey: string, holder: { runId: string; entryId: string }): Promise<void> {
    await this.ensure();
    const rowKey = leaseRow(targetKey);
    try {
      const current = await this.table.getEntity<{ entryId: string }>(LEASES, rowKey);
      if (current.entryId === holder.entryId) await this.table.deleteEntity(LEASES, rowKey, { etag: current.etag });
    } catch (error) {
      const status = statusCodeOf(error);
      if (status !== 404 && status !== 412) throw toServiceCallFailed("tableStorage", error);
    }
  }
}

function leaseRow(targetKey: string): string {
  return createHash("sha256").update(targetKey).digest("hex");
}
