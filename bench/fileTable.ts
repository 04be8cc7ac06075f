import { mkdirSync, readdirSync } from "node:fs";
import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import type { TableClient, TransactionAction } from "@azure/data-tables";
import { eachLine, listing, tableError, type Entity } from "./fileStores.js";

/** The sweep job's last stores on files, for the benchmark only: see bench/fileStores.ts for why not Azurite. */

/** An OData filter of `<property> <eq|ne|gt|ge|lt|le> '<string>'` clauses joined by `and` (what the stores send), as a test. */
export function filterOf(filter: string): (entity: Entity) => boolean {
  if (filter.trim() === "") return () => true;
  const clauses = filter.split(/\s+and\s+/).map((clause) => {
    const match = /^(\w+) (eq|ne|gt|ge|lt|le) '((?:[^']|'')*)'$/.exec(clause.trim());
    if (!match) throw new Error(`the table double does not answer the filter ${filter}`);
    const [, name = "", op = "", quotedValue = ""] = match;
    const property = name === "PartitionKey" ? "partitionKey" : name === "RowKey" ? "rowKey" : name;
    const value = quotedValue.replace(/''/g, "'");
    return (entity: Entity): boolean => {
      const actual = entity[property];
      if (typeof actual !== "string") return op === "ne";
      // Table storage compares strings ordinally.
      const order = actual < value ? -1 : actual > value ? 1 : 0;
      return { eq: order === 0, ne: order !== 0, gt: order > 0, ge: order >= 0, lt: order < 0, le: order <= 0 }[op] ?? false;
    };
  });
  return (entity) => clauses.every((test) => test(entity));
}

/** One write to a partition file of `NdjsonTable`. */
interface TableOp {
  op: "create" | "upsert" | "update" | "delete";
  mode?: "Merge" | "Replace";
  entity: Entity;
}

/**
 * The TableClient calls the sweep job's last stores make (attachment baseline, identity catalog, graded identities,
 * the app's own role assignments, delivery dedupe: shared/state/eventStores.ts, selfRoleAssignments.ts), over files:
 * one per partition, each write appended (`<table>.<partition in hex>.ndjson`), a partition read by replaying its
 * file (their partitions are small: the baseline is spread over 256, graded identities are a few hundred). No ETags
 * (none of these writes is conditional).
 */
export class NdjsonTable {
  /** Writes, each a round trip to Table storage (for the bench's report). */
  writes = 0;

  constructor(
    private readonly dir: string,
    private readonly name: string,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  /** The real stores' type: a double of the few calls they make (the SDK's class has private members). */
  client(): TableClient {
    return this as unknown as TableClient;
  }

  private file(partitionKey: string): string {
    return join(this.dir, `${this.name}.${Buffer.from(partitionKey).toString("hex")}.ndjson`);
  }

  private partitions(): string[] {
    const prefix = `${this.name}.`;
    return readdirSync(this.dir)
      .filter((file) => file.startsWith(prefix) && file.endsWith(".ndjson"))
      .map((file) => Buffer.from(file.slice(prefix.length, -".ndjson".length), "hex").toString());
  }

  private async append(ops: TableOp[]): Promise<void> {
    const byPartition = new Map<string, string>();
    for (const op of ops) byPartition.set(op.entity.partitionKey, `${byPartition.get(op.entity.partitionKey) ?? ""}${JSON.stringify(op)}\n`);
    for (const [partitionKey, lines] of byPartition) await appendFile(this.file(partitionKey), lines);
    this.writes += 1;
  }

  private async partition(partitionKey: string): Promise<Map<string, Entity>> {
    const rows = new Map<string, Entity>();
    await eachLine(this.file(partitionKey), (line) => {
      const { op, mode, entity } = JSON.parse(line) as TableOp;
      const kept = rows.get(entity.rowKey);
      if (op === "delete") rows.delete(entity.rowKey);
      else rows.set(entity.rowKey, mode === "Merge" && kept ? { ...kept, ...entity } : entity);
    });
    return rows;
  }

  private async row(partitionKey: string, rowKey: string): Promise<Entity | undefined> {
    return (await this.partition(partitionKey)).get(rowKey);
  }

  async createTable(): Promise<void> {
    return undefined;
  }

  async submitTransaction(actions: TransactionAction[]): Promise<void> {
    await this.append(
      actions.map((action): TableOp => {
        const [kind, entity, mode] = action as [string, Entity, ("Merge" | "Replace")?];
        if (kind !== "create" && kind !== "upsert" && kind !== "update" && kind !== "delete") throw new Error(`the table double does not take ${kind}`);
        return { op: kind, ...(kind === "upsert" || kind === "update" ? { mode: mode ?? "Merge" } : {}), entity };
      }),
    );
  }

  async createEntity(entity: Entity): Promise<void> {
    if (await this.row(entity.partitionKey, entity.rowKey)) throw tableError(409, "EntityAlreadyExists");
    await this.append([{ op: "create", entity }]);
  }

  async upsertEntity(entity: Entity, mode: "Merge" | "Replace" = "Merge"): Promise<void> {
    await this.append([{ op: "upsert", mode, entity }]);
  }

  async updateEntity(entity: Entity, mode: "Merge" | "Replace" = "Merge"): Promise<{ etag: string }> {
    if (!(await this.row(entity.partitionKey, entity.rowKey))) throw tableError(404, "ResourceNotFound");
    await this.append([{ op: "update", mode, entity }]);
    return { etag: 'W/"double"' };
  }

  async deleteEntity(partitionKey: string, rowKey: string): Promise<void> {
    if (!(await this.row(partitionKey, rowKey))) throw tableError(404, "ResourceNotFound");
    await this.append([{ op: "delete", entity: { partitionKey, rowKey } }]);
  }

  async getEntity(partitionKey: string, rowKey: string): Promise<Entity & { etag: string }> {
    const row = await this.row(partitionKey, rowKey);
    if (!row) throw tableError(404, "ResourceNotFound");
    return { ...row, etag: 'W/"double"' };
  }

  /** Every property is returned (`select` is ignored: the stores read only what they selected). */
  listEntities(options: { queryOptions?: { filter?: string } } = {}) {
    const test = filterOf(options.queryOptions?.filter ?? "");
    const only = /^PartitionKey eq '((?:[^']|'')*)'(?: and |$)/.exec(options.queryOptions?.filter ?? "")?.[1]?.replace(/''/g, "'");
    const rows = async function* (this: NdjsonTable): AsyncGenerator<Entity & { etag: string }> {
      for (const partitionKey of only !== undefined ? [only] : this.partitions().sort()) {
        for (const row of [...(await this.partition(partitionKey)).values()].sort((a, b) => (a.rowKey < b.rowKey ? -1 : a.rowKey > b.rowKey ? 1 : 0))) {
          if (test(row)) yield { ...row, etag: 'W/"double"' };
        }
      }
    }.bind(this);
    return listing(rows);
  }
}
