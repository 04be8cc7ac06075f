import { TableStore, quoted, storableText } from "./tableStore.js";
import type { FindingRecord, FindingStateStore } from "../engine/findingLifecycle.js";

/** A FindingRecord as a table row: the fingerprint is the RowKey, the scope the PartitionKey. */
type FindingEntity = Omit<FindingRecord, "fingerprint"> & { partitionKey: string; rowKey: string };

/** Finding state in Table storage: PartitionKey = sweep scope, RowKey = fingerprint. */
export class TableFindingStateStore extends TableStore implements FindingStateStore {
  async load(scope: string): Promise<Map<string, FindingRecord>> {
    await this.ensure();
    const records = new Map<string, FindingRecord>();
    await this.call(async () => {
      for await (const entity of this.table.listEntities<FindingEntity>({ queryOptions: { filter: `PartitionKey eq ${quoted(scope)}` } })) records.set(entity.rowKey, toRecord(entity));
    });
    return records;
  }

  async loadSome(scope: string, fingerprints: string[]): Promise<Map<string, FindingRecord>> {
    await this.ensure();
    const records = new Map<string, FindingRecord>();
    for (const fingerprint of new Set(fingerprints)) {
      const entity = await this.find<FindingEntity>(scope, fingerprint);
      if (entity) records.set(fingerprint, toRecord(entity));
    }
    return records;
  }

  async openForSubjects(subjectIds: string[]): Promise<Array<{ scope: string; record: FindingRecord }>> {
    await this.ensure();
    const wanted = new Set(subjectIds.map((id) => id.toLowerCase()));
    const found: Array<{ scope: string; record: FindingRecord }> = [];
    // Subject ids are stored as ARM spelled them and Table filters are case-sensitive: open records
    // are scanned and compared here. Only deletes of assignments and credentials ask (rare events).
    await this.call(async () => {
      for await (const entity of this.table.listEntities<FindingEntity>({ queryOptions: { filter: "status eq 'open'" } })) {
        if (wanted.has(entity.subjectId.toLowerCase())) found.push({ scope: entity.partitionKey, record: toRecord(entity) });
      }
    });
    return found;
  }

  async save(scope: string, records: FindingRecord[]): Promise<void> {
    await this.ensure();
    await this.transact(
      records.map(({ fingerprint, ...rest }) => [
        "upsert",
        { partitionKey: scope, rowKey: fingerprint, ...Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, typeof value === "string" ? storableText(value) : value])) },
        "Replace",
      ]),
    );
  }
}

function toRecord(entity: FindingEntity): FindingRecord {
  const record: FindingRecord = {
    fingerprint: entity.rowKey,
    ruleId: entity.ruleId,
    subjectId: entity.subjectId,
    severity: entity.severity,
    title: entity.title,
    status: entity.status === "resolved" ? "resolved" : "open",
    firstSeen: entity.firstSeen,
    lastSeen: entity.lastSeen,
    timesSeen: entity.timesSeen,
    consecutive: entity.consecutive,
    snapshot: entity.snapshot,
  };
  if (entity.relatedId) record.relatedId = entity.relatedId;
  if (entity.resolvedAt) record.resolvedAt = entity.resolvedAt;
  if (entity.lastNotifiedAt) record.lastNotifiedAt = entity.lastNotifiedAt;
  return record;
}

/** Partition per sweep scope, so a sweep of one subscription never resolves another's findings. */
export function sweepScopeKey(subscriptions: string[]): string {
  if (subscriptions.length === 0) return "sweep-all";
  return `sweep-${[...subscriptions].map((subscription) => subscription.toLowerCase()).sort().join("+")}`.slice(0, 900);
}
