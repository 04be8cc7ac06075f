import type { TransactionAction } from "@azure/data-tables";
import { TableStore } from "./tableStore.js";
import type { FindingRecord } from "../engine/findingLifecycle.js";
import { statusCodeOf, toServiceCallFailed } from "../errors.js";

/** The subset of the state store the engine needs; Table storage here, a test can pass its own. */
export interface FindingStateStore {
  load(scope: string): Promise<Map<string, FindingRecord>>;
  /** Only these fingerprints (event findings: point reads, not the whole partition). */
  loadSome(scope: string, fingerprints: string[]): Promise<Map<string, FindingRecord>>;
  save(scope: string, records: FindingRecord[]): Promise<void>;
  /** Open records, in any scope, whose subject is one of these ids (compared as ARM compares ids). */
  openForSubjects(subjectIds: string[]): Promise<Array<{ scope: string; record: FindingRecord }>>;
}

interface FindingEntity {
  partitionKey: string;
  rowKey: string;
  ruleId: string;
  subjectId: string;
  relatedId?: string;
  severity: string;
  title: string;
  status: string;
  firstSeen: string;
  lastSeen: string;
  timesSeen: number;
  consecutive: number;
  resolvedAt?: string;
  lastNotifiedAt?: string;
  snapshot: string;
}

const TRANSACTION_LIMIT = 100;

/** Finding state in Table storage: PartitionKey = sweep scope, RowKey = fingerprint. */
export class TableFindingStateStore extends TableStore implements FindingStateStore {
  async load(scope: string): Promise<Map<string, FindingRecord>> {
    await this.ensure();
    const records = new Map<string, FindingRecord>();
    try {
      const filter = `PartitionKey eq '${scope.replace(/'/g, "''")}'`;
      for await (const entity of this.table.listEntities<FindingEntity>({ queryOptions: { filter } })) records.set(entity.rowKey, toRecord(entity));
    } catch (error) {
      throw toServiceCallFailed("tableStorage", error);
    }
    return records;
  }

  async loadSome(scope: string, fingerprints: string[]): Promise<Map<string, FindingRecord>> {
    await this.ensure();
    const records = new Map<string, FindingRecord>();
    for (const fingerprint of new Set(fingerprints)) {
      try {
        records.set(fingerprint, toRecord(await this.table.getEntity<FindingEntity>(scope, fingerprint)));
      } catch (error) {
        if (statusCodeOf(error) !== 404) throw toServiceCallFailed("tableStorage", error);
      }
    }
    return records;
  }

  async openForSubjects(subjectIds: string[]): Promise<Array<{ scope: string; record: FindingRecord }>> {
    await this.ensure();
    const wanted = new Set(subjectIds.map((id) => id.toLowerCase()));
    const found: Array<{ scope: string; record: FindingRecord }> = [];
    try {
      // Subject ids are stored as ARM spelled them and Table filters are case-sensitive: open records
      // are scanned and compared here. Only deletes of assignments and credentials ask (rare events).
      for await (const entity of this.table.listEntities<FindingEntity>({ queryOptions: { filter: "status eq 'open'" } })) {
        if (wanted.has(entity.subjectId.toLowerCase())) found.push({ scope: entity.partitionKey, record: toRecord(entity) });
      }
    } catch (error) {
      throw toServiceCallFailed("tableStorage", error);
    }
    return found;
  }

  async save(scope: string, records: FindingRecord[]): Promise<void> {
    await this.ensure();
    for (let start = 0; start < records.length; start += TRANSACTION_LIMIT) {
      const actions: TransactionAction[] = records.slice(start, start + TRANSACTION_LIMIT).map((record) => {
        const { fingerprint, ...rest } = record;
        return ["upsert", { partitionKey: scope, rowKey: fingerprint, ...rest }, "Replace"];
      });
      try {
        await this.table.submitTransaction(actions);
      } catch (error) {
        throw toServiceCallFailed("tableStorage", error);
      }
    }
  }
}

function toRecord(entity: FindingEntity): FindingRecord {
  const record: FindingRecord = {
    fingerprint: entity.rowKey,
    ruleId: entity.ruleId,
    subjectId: entity.subjectId,
    severity: entity.severity as FindingRecord["severity"],
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
