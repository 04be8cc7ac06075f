import { createHash } from "node:crypto";
import type { TableEntityResult } from "@azure/data-tables";
import { TableStore, joinJson, keyFor, quoted, splitJson } from "./tableStore.js";
import { statusCodeOf, toServiceCallFailed } from "../errors.js";
import { LEASE_MS, type Journal, type LeaseStore } from "../cleanup/journal.js";
import type { JournalEntry, JournalStatus } from "../cleanup/types.js";

/** Partitions of the journal table besides one per run id (run ids start with a letter). */
const PENDING = "_pending";
/** The leases' partition; its stored name predates the word "lease" and stays, so old rows still count. */
const LEASES = "_claims";
/** The app's journal (table `uamiguardjournal`): one partition per run, a pending index, target leases. */
export class TableJournal extends TableStore implements Journal, LeaseStore {
  get description(): string {
    return `table ${this.table.tableName}`;
  }

  private toEntity(entry: JournalEntry): Record<string, unknown> & { partitionKey: string; rowKey: string } {
    return {
      partitionKey: keyFor(entry.runId),
      rowKey: entry.entryId,
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
    } catch (error) {
      throw toServiceCallFailed("tableStorage", error);
    }
  }

  async finish(entry: JournalEntry, status: Exclude<JournalStatus, "pending">, detail: string, after?: Record<string, unknown>): Promise<JournalEntry> {
    await this.ensure();
    const finished: JournalEntry = { ...entry, status, detail, ...(after ? { after } : {}), updatedAt: new Date().toISOString() };
    try {
      await this.table.upsertEntity(this.toEntity(finished), "Replace");
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

  async entries(filter: { runId?: string; entryId?: string }): Promise<JournalEntry[]> {
    await this.ensure();
    const clauses: string[] = [];
    if (filter.runId) clauses.push(`PartitionKey eq ${quoted(keyFor(filter.runId))}`);
    else clauses.push(`PartitionKey ne '${PENDING}' and PartitionKey ne '${LEASES}'`);
    if (filter.entryId) clauses.push(`RowKey eq ${quoted(filter.entryId)}`);
    const found: JournalEntry[] = [];
    try {
      for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: clauses.join(" and ") } })) found.push(this.fromEntity(entity));
    } catch (error) {
      throw toServiceCallFailed("tableStorage", error);
    }
    return found.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.entryId.localeCompare(b.entryId));
  }

  /** Insert wins; an expired hold is taken over with its ETag, so only one of two racing runs gets it. */
  async acquire(targetKey: string, holder: { runId: string; entryId: string }, now: Date): Promise<{ ok: true } | { ok: false; heldBy: string }> {
    await this.ensure();
    const rowKey = createHash("sha256").update(targetKey).digest("hex");
    const entity = { partitionKey: LEASES, rowKey, targetKey, runId: holder.runId, entryId: holder.entryId, claimedAt: now.toISOString() };
    try {
      await this.table.createEntity(entity);
      return { ok: true };
    } catch (error) {
      if (statusCodeOf(error) !== 409) throw toServiceCallFailed("tableStorage", error);
    }
    try {
      const current = await this.table.getEntity<{ runId: string; entryId: string; claimedAt: string }>(LEASES, rowKey);
      const mine = current.entryId === holder.entryId;
      if (!mine && now.getTime() - Date.parse(current.claimedAt) < LEASE_MS) return { ok: false, heldBy: current.runId };
      await this.table.updateEntity(entity, "Replace", { etag: current.etag });
      return { ok: true };
    } catch (error) {
      const status = statusCodeOf(error);
      if (status === 412 || status === 404) return { ok: false, heldBy: "another run" };
      throw toServiceCallFailed("tableStorage", error);
    }
  }

  async release(targetKey: string, holder: { runId: string; entryId: string }): Promise<void> {
    await this.ensure();
    const rowKey = createHash("sha256").update(targetKey).digest("hex");
    try {
      const current = await this.table.getEntity<{ entryId: string }>(LEASES, rowKey);
      if (current.entryId === holder.entryId) await this.table.deleteEntity(LEASES, rowKey, { etag: current.etag });
    } catch (error) {
      const status = statusCodeOf(error);
      if (status !== 404 && status !== 412) throw toServiceCallFailed("tableStorage", error);
    }
  }
}
