import { createHash } from "node:crypto";
import { TableStore } from "./tableStore.js";
import { statusCodeOf, toServiceCallFailed } from "../errors.js";
import { idKey } from "../model.js";

/** Table storage keys cannot contain / \ # ? or control characters: ids are hashed. */
export function rowKeyFor(value: string): string {
  return /^[A-Za-z0-9._-]{1,200}$/.test(value) ? value : createHash("sha256").update(value).digest("hex");
}

/**
 * Spread over 256 partitions: one partition serves ~2,000 entities/s in Azure (and slows Azurite as
 * it grows), and every event touches this table.
 */
function dedupePartition(eventId: string): string {
  return `event-${createHash("sha1").update(eventId).digest("hex").slice(0, 2)}`;
}

/** Event ids already handled: Event Grid delivers at least once. */
export class EventDedupeStore extends TableStore {
  /** True when this call claimed the event; false when it was seen before. */
  async claim(eventId: string, now: Date): Promise<boolean> {
    await this.ensure();
    try {
      await this.table.createEntity({ partitionKey: dedupePartition(eventId), rowKey: rowKeyFor(eventId), eventId, receivedAt: now.toISOString() });
      return true;
    } catch (error) {
      if (statusCodeOf(error) === 409) return false;
      throw toServiceCallFailed("tableStorage", error);
    }
  }

  /** Gives a claim back when handling failed, so the redelivery is handled. */
  async release(eventId: string): Promise<void> {
    await this.ensure();
    try {
      await this.table.deleteEntity(dedupePartition(eventId), rowKeyFor(eventId));
    } catch (error) {
      if (statusCodeOf(error) !== 404) throw toServiceCallFailed("tableStorage", error);
    }
  }

  /** Forgets ids older than `before` (Event Grid retries for at most 24 hours). */
  async purge(before: Date): Promise<number> {
    await this.ensure();
    let removed = 0;
    const filter = `PartitionKey ge 'event-' and PartitionKey lt 'event.' and receivedAt lt '${before.toISOString()}'`;
    for await (const entity of this.table.listEntities({ queryOptions: { filter, select: ["PartitionKey", "RowKey"] } })) {
      await this.table.deleteEntity(String(entity.partitionKey), String(entity.rowKey)).catch(() => undefined);
      removed += 1;
    }
    return removed;
  }
}

/** Last known attachments per resource (resource id → identity ids). */
export class AttachmentBaselineStore extends TableStore {
  async get(resourceId: string): Promise<string[] | undefined> {
    await this.ensure();
    try {
      const entity = await this.table.getEntity<{ identityIds: string }>("baseline", rowKeyFor(idKey(resourceId)));
      return JSON.parse(entity.identityIds) as string[];
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined;
      throw toServiceCallFailed("tableStorage", error);
    }
  }

  async set(resourceId: string, identityIds: string[]): Promise<void> {
    await this.ensure();
    try {
      await this.table.upsertEntity({ partitionKey: "baseline", rowKey: rowKeyFor(idKey(resourceId)), resourceId, identityIds: JSON.stringify(identityIds) }, "Replace");
    } catch (error) {
      throw toServiceCallFailed("tableStorage", error);
    }
  }

  async setMany(entries: Array<[string, string[]]>): Promise<void> {
    await this.ensure();
    await this.upsertMany(entries);
  }

  async isEmpty(): Promise<boolean> {
    await this.ensure();
    for await (const entity of this.table.listEntities({ queryOptions: { filter: "PartitionKey eq 'baseline'", select: ["RowKey"] } })) {
      if (entity) return false;
    }
    return true;
  }

  /** Every baseline entry naming this identity (for a delete event). */
  async resourcesReferencing(identityId: string): Promise<string[]> {
    await this.ensure();
    const wanted = idKey(identityId);
    const resources: string[] = [];
    try {
      for await (const entity of this.table.listEntities<{ resourceId: string; identityIds: string }>({ queryOptions: { filter: "PartitionKey eq 'baseline'" } })) {
        const ids = JSON.parse(entity.identityIds) as string[];
        if (ids.some((id) => idKey(id) === wanted)) resources.push(entity.resourceId);
      }
    } catch (error) {
      throw toServiceCallFailed("tableStorage", error);
    }
    return resources;
  }

  private async upsertMany(entries: Array<[string, string[]]>): Promise<void> {
    for (let start = 0; start < entries.length; start += 100) {
      const actions = entries.slice(start, start + 100).map(([resourceId, identityIds]) => [
        "upsert",
        { partitionKey: "baseline", rowKey: rowKeyFor(idKey(resourceId)), resourceId, identityIds: JSON.stringify(identityIds) },
        "Replace",
      ] as const);
      try {
        await this.table.submitTransaction(actions.map((action) => [...action]));
      } catch (error) {
        throw toServiceCallFailed("tableStorage", error);
      }
    }
  }
}

export interface CatalogedIdentity {
  identityId: string;
  principalId: string;
  clientId: string;
}

/** Identity id → principal id, as last inventoried: a deleted identity cannot be read back. */
export class IdentityCatalogStore extends TableStore {
  async get(identityId: string): Promise<CatalogedIdentity | undefined> {
    await this.ensure();
    try {
      const entity = await this.table.getEntity<CatalogedIdentity>("identity", rowKeyFor(idKey(identityId)));
      return { identityId: entity.identityId, principalId: entity.principalId, clientId: entity.clientId };
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined;
      throw toServiceCallFailed("tableStorage", error);
    }
  }

  async putMany(identities: CatalogedIdentity[]): Promise<void> {
    await this.ensure();
    for (let start = 0; start < identities.length; start += 100) {
      const actions = identities.slice(start, start + 100).map(
        (identity) => ["upsert", { partitionKey: "identity", rowKey: rowKeyFor(idKey(identity.identityId)), ...identity }, "Replace"] as ["upsert", Record<string, unknown> & { partitionKey: string; rowKey: string }, "Replace"],
      );
      try {
        await this.table.submitTransaction(actions);
      } catch (error) {
        throw toServiceCallFailed("tableStorage", error);
      }
    }
  }
}
