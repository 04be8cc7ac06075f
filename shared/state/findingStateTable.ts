import { TRANSACTION_LIMIT, TableStore, quoted, storableText } from "./tableStore.js";
import { SharedRecordText, storedRecord, type FindingRecord, type FindingStateStore, type LoadOptions } from "../engine/findingLifecycle.js";

/** A FindingRecord as a table row: the fingerprint is the RowKey, the scope the PartitionKey. */
type FindingEntity = Omit<FindingRecord, "fingerprint" | "finding"> & { partitionKey: string; rowKey: string };

/** Up to this many records are read one by one; more, by reading the partition once. */
const POINT_READS = 100;

/** A record's stored properties but the snapshot, by the type's keys: one added to FindingRecord cannot be left out here. */
const STORED_BUT_SNAPSHOT: Record<Exclude<keyof FindingRecord, "fingerprint" | "snapshot" | "finding">, true> = {
  ruleId: true,
  subjectId: true,
  relatedId: true,
  severity: true,
  title: true,
  status: true,
  firstSeen: true,
  lastSeen: true,
  timesSeen: true,
  consecutive: true,
  resolvedAt: true,
  lastNotifiedAt: true,
  snapshotHash: true,
};

/** Every property of a row but the snapshot (`load` with `snapshots: false` selects these). */
const WITHOUT_SNAPSHOT = ["PartitionKey", "RowKey", ...Object.keys(STORED_BUT_SNAPSHOT)];

/** Finding state in Table storage: PartitionKey = sweep scope, RowKey = fingerprint. */
export class TableFindingStateStore extends TableStore implements FindingStateStore {
  async load(scope: string, options: LoadOptions = {}): Promise<Map<string, FindingRecord>> {
    await this.ensure();
    const records = new Map<string, FindingRecord>();
    // $select (Query Entities: https://learn.microsoft.com/rest/api/storageservices/query-entities): the snapshots stay in the table.
    const select = options.snapshots === false ? { select: WITHOUT_SNAPSHOT } : {};
    const shared = new SharedRecordText();
    await this.call(async () => {
      for await (const entity of this.table.listEntities<FindingEntity>({ queryOptions: { filter: `PartitionKey eq ${quoted(scope)}`, ...select } })) records.set(entity.rowKey, shared.record(toRecord(entity)));
    });
    return records;
  }

  async loadSome(scope: string, fingerprints: string[]): Promise<Map<string, FindingRecord>> {
    await this.ensure();
    const records = new Map<string, FindingRecord>();
    const wanted = new Set(fingerprints);
    if (wanted.size > POINT_READS) {
      // Many (a sweep's resolutions): one pass over the partition, a page at a time, keeping only these.
      await this.call(async () => {
        for await (const entity of this.table.listEntities<FindingEntity>({ queryOptions: { filter: `PartitionKey eq ${quoted(scope)}` } })) {
          if (wanted.has(entity.rowKey)) records.set(entity.rowKey, toRecord(entity));
        }
      });
      return records;
    }
    for (const fingerprint of wanted) {
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
    // A transaction's worth at a time (one partition): the snapshots of a sweep's records are made as they are written, never all at once.
    await this.transactInParts(
      records,
      () => scope,
      (record) => {
        const { fingerprint, ...rest } = storedRecord(record);
        const entity = { partitionKey: scope, rowKey: fingerprint, ...Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, typeof value === "string" ? storableText(value) : value])) };
        // Without a snapshot the record was read without one, or its finding's snapshot is the stored one (same
        // hash): Merge keeps the stored snapshot and its hash (Insert Or Merge Entity:
        // https://learn.microsoft.com/rest/api/storageservices/insert-or-merge-entity). Such a record only gains or
        // changes properties (resolved, unconfirmed, notified, seen again while open), so nothing stale is kept
        // beside it; a reopened one carries no hash (applyRun) and is replaced whole, snapshot and all.
        return ["upsert", entity, rest.snapshot === undefined ? "Merge" : "Replace"];
      },
      TRANSACTION_LIMIT,
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
  };
  if (entity.snapshot !== undefined) record.snapshot = entity.snapshot;
  if (typeof entity.snapshotHash === "string") record.snapshotHash = entity.snapshotHash;
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
