import { createHash } from "node:crypto";
import type { TransactionAction } from "@azure/data-tables";
import { TableStore, keyFor, quoted } from "./tableStore.js";
import { statusCodeOf, toServiceCallFailed } from "../errors.js";
import { idKey, type AbsorbedBy, type AttachmentBaseline, type GradedIdentity } from "../model.js";

export type { GradedIdentity } from "../model.js";

/**
 * Spread over 256 partitions (`<prefix>-00` … `<prefix>-ff`): one partition serves ~2,000 entities/s in
 * Azure, and Azurite answers a point read by scanning the partition, so one big partition slows
 * every event. `PartitionKey ge '<prefix>' and PartitionKey lt '<prefix>.'` selects them all.
 */
function spreadPartition(prefix: string, key: string): string {
  return `${prefix}-${createHash("sha1").update(key).digest("hex").slice(0, 2)}`;
}

const allPartitions = (prefix: string): string => `PartitionKey ge '${prefix}' and PartitionKey lt '${prefix}.'`;

/** Delivery records this process wrote, newest last; Event Grid redelivers within minutes to hours, mostly minutes. */
const RECENT_RECORDS = 10_000;

/**
 * Delivery records: the event ids already handled (event dedupe), because Event Grid delivers at
 * least once. Recording an id is atomic (insert wins), so of two deliveries only one handles it.
 */
export class DeliveryRecordStore extends TableStore {
  /**
   * Ids this process recorded itself: a redelivery to the same instance is known without a round trip.
   * Only records this process wrote go in and a forgotten one comes out, so the answer is the table's.
   */
  private readonly recent = new Set<string>();

  /** True when this process recorded the event (and has not forgotten it): no round trip. */
  recordedHere(eventId: string): boolean {
    return this.recent.has(eventId);
  }

  /** True when this call recorded the event (handle it); false when it was recorded before (a duplicate). */
  async record(eventId: string, now: Date): Promise<boolean> {
    if (this.recent.has(eventId)) return false;
    await this.ensure();
    try {
      await this.table.createEntity({ partitionKey: spreadPartition("event", eventId), rowKey: keyFor(eventId), eventId, receivedAt: now.toISOString() });
    } catch (error) {
      if (statusCodeOf(error) === 409) return false;
      throw toServiceCallFailed("tableStorage", error);
    }
    this.recent.add(eventId);
    if (this.recent.size > RECENT_RECORDS) this.recent.delete(this.recent.values().next().value ?? eventId);
    return true;
  }

  /** Forgets a record when handling failed, so the redelivery is handled. */
  async forget(eventId: string): Promise<void> {
    this.recent.delete(eventId);
    await this.ensure();
    try {
      await this.table.deleteEntity(spreadPartition("event", eventId), keyFor(eventId));
    } catch (error) {
      if (statusCodeOf(error) !== 404) throw toServiceCallFailed("tableStorage", error);
    }
  }

  /**
   * Counts a failed delivery of the event and returns how many there were, this one included. The Functions
   * host does not say which delivery a function is handling (its Event Grid extension passes the events
   * only), so the app counts them itself to know the last one (docs/guarantees.md "Nothing lost": `event-undecided`).
   */
  async failedDelivery(eventId: string, now: Date): Promise<{ failures: number; firstFailedAt: Date }> {
    await this.ensure();
    const partitionKey = spreadPartition("attempts", eventId);
    const rowKey = keyFor(eventId);
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const current = await this.find<{ failures: number; receivedAt: string }>(partitionKey, rowKey);
      const failures = Number(current?.failures ?? 0) + 1;
      const firstFailedAt = current ? new Date(Date.parse(current.receivedAt)) : now;
      try {
        if (current) await this.table.updateEntity({ partitionKey, rowKey, failures, lastFailedAt: now.toISOString() }, "Merge", { etag: current.etag });
        else await this.table.createEntity({ partitionKey, rowKey, eventId, failures, receivedAt: now.toISOString(), lastFailedAt: now.toISOString() });
        return { failures, firstFailedAt: Number.isNaN(firstFailedAt.getTime()) ? now : firstFailedAt };
      } catch (error) {
        // Another instance counted a delivery of the same event at the same moment: read again.
        if (statusCodeOf(error) !== 412 && statusCodeOf(error) !== 409) throw toServiceCallFailed("tableStorage", error);
      }
    }
    throw toServiceCallFailed("tableStorage", new Error(`failed deliveries of ${eventId} could not be counted`));
  }

  /** Forgets records older than `before` (Event Grid retries for at most 24 hours). */
  async purge(before: Date): Promise<number> {
    await this.ensure();
    let removed = 0;
    for (const prefix of ["event", "attempts"]) {
      const filter = `${allPartitions(prefix)} and receivedAt lt '${before.toISOString()}'`;
      for await (const entity of this.table.listEntities({ queryOptions: { filter, select: ["PartitionKey", "RowKey"] } })) {
        await this.table.deleteEntity(String(entity.partitionKey), String(entity.rowKey)).catch(() => undefined);
        removed += 1;
      }
    }
    return removed;
  }
}

/** The baseline's partition prefix; before the spread, the one partition every entry was in. */
const BASELINE = "baseline";

/** Last known attachments per resource (resource id → identity ids). */
export class AttachmentBaselineStore extends TableStore {
  private legacyEntries: Promise<boolean> | undefined;

  async get(resourceId: string): Promise<string[] | undefined> {
    return (await this.getEntry(resourceId))?.identityIds;
  }

  /** The identities and their provenance (docs/guarantees.md "Order does not matter"); a row without any: all known. */
  async getEntry(resourceId: string): Promise<AttachmentBaseline | undefined> {
    await this.ensure();
    const rowKey = keyFor(idKey(resourceId));
    return (await this.read(spreadPartition(BASELINE, rowKey), rowKey)) ?? ((await this.hasLegacyEntries()) ? this.read(BASELINE, rowKey) : undefined);
  }

  /** The event path's write: the identities now and what approved writes absorbed of them (replaces the row). */
  async set(resourceId: string, identityIds: string[], absorbed: Record<string, AbsorbedBy> = {}): Promise<void> {
    await this.ensure();
    try {
      await this.table.upsertEntity({ ...entityFor(resourceId, identityIds), absorbed: JSON.stringify(absorbed) }, "Replace");
    } catch (error) {
      throw toServiceCallFailed("tableStorage", error);
    }
  }

  /**
   * Writes every entry (the sweep's refresh); entries still in the legacy partition are moved out by it.
   * The sweep sees current state, not who attached it: it merges the identity ids and keeps the row's
   * `absorbed` records, which count only for identities still attached (an identity the sweep saw for the
   * first time has none: known as of the sweep).
   */
  async setMany(entries: Array<[string, string[]]>): Promise<void> {
    await this.ensure();
    await this.transactInParts(
      entries,
      ([resourceId]) => baselinePartition(rowKeyOf(resourceId)),
      ([resourceId, identityIds]) => ["upsert", entityFor(resourceId, identityIds), "Merge"],
    );
    if (await this.hasLegacyEntries()) await this.dropLegacyEntries();
  }

  async isEmpty(): Promise<boolean> {
    await this.ensure();
    for await (const entity of this.table.listEntities({ queryOptions: { filter: allPartitions(BASELINE), select: ["RowKey"] } })) {
      if (entity) return false;
    }
    return true;
  }

  /** Every baseline entry naming this identity (for a delete event). */
  async resourcesReferencing(identityId: string): Promise<string[]> {
    await this.ensure();
    const wanted = idKey(identityId);
    const resources = new Map<string, string>();
    // An entry not yet moved out of the legacy partition counts only where no spread entry replaces it.
    const spread = new Set<string>();
    const legacy = new Map<string, string>();
    try {
      for await (const entity of this.table.listEntities<{ resourceId: string; identityIds: string }>({ queryOptions: { filter: allPartitions(BASELINE) } })) {
        const key = idKey(entity.resourceId);
        const names = (JSON.parse(entity.identityIds) as string[]).some((id) => idKey(id) === wanted);
        if (entity.partitionKey === BASELINE) {
          if (names) legacy.set(key, entity.resourceId);
        } else {
          spread.add(key);
          if (names) resources.set(key, entity.resourceId);
        }
      }
    } catch (error) {
      throw toServiceCallFailed("tableStorage", error);
    }
    for (const [key, resourceId] of legacy) if (!spread.has(key)) resources.set(key, resourceId);
    return [...resources.values()];
  }

  private async read(partitionKey: string, rowKey: string): Promise<AttachmentBaseline | undefined> {
    const entity = await this.find<{ identityIds: string; absorbed?: string }>(partitionKey, rowKey);
    if (!entity) return undefined;
    const identityIds = JSON.parse(entity.identityIds) as string[];
    const stored = typeof entity.absorbed === "string" ? (JSON.parse(entity.absorbed) as Record<string, AbsorbedBy>) : {};
    const attached = new Set(identityIds.map(idKey));
    const absorbed = Object.fromEntries(Object.entries(stored).filter(([key]) => attached.has(key)));
    return { identityIds, absorbed };
  }

  /** Asked once per process: a table written before the spread still answers from its old partition until a sweep moves it. */
  private hasLegacyEntries(): Promise<boolean> {
    this.legacyEntries ??= (async () => {
      const entities = this.table.listEntities({ queryOptions: { filter: `PartitionKey eq '${BASELINE}'`, select: ["RowKey"] } });
      for await (const entity of entities) if (entity) return true;
      return false;
    })().catch((error: unknown) => {
      this.legacyEntries = undefined;
      throw toServiceCallFailed("tableStorage", error);
    });
    return this.legacyEntries;
  }

  private async dropLegacyEntries(): Promise<void> {
    const rowKeys: string[] = [];
    for await (const entity of this.table.listEntities({ queryOptions: { filter: `PartitionKey eq '${BASELINE}'`, select: ["RowKey"] } })) rowKeys.push(String(entity.rowKey));
    await this.transact(rowKeys.map((rowKey) => ["delete", { partitionKey: BASELINE, rowKey }]));
    this.legacyEntries = Promise.resolve(false);
  }
}

const rowKeyOf = (resourceId: string): string => keyFor(idKey(resourceId));
const baselinePartition = (rowKey: string): string => spreadPartition(BASELINE, rowKey);

function entityFor(resourceId: string, identityIds: string[]) {
  const rowKey = rowKeyOf(resourceId);
  return { partitionKey: baselinePartition(rowKey), rowKey, resourceId, identityIds: JSON.stringify(identityIds) };
}

export interface CatalogedIdentity {
  identityId: string;
  principalId: string;
  clientId: string;
  /** The resources it was attached to when last read (a sweep; an attachment event adds to it). */
  attachedTo?: string[];
}

/** At most this many resources are kept per identity (an identity attached to more is in a fleet: the delete event re-reads them all). */
const ATTACHED_TO_LIMIT = 500;

/**
 * Identity id → principal id and the resources it is attached to, as last inventoried: a deleted identity
 * cannot be read back, and a delete event asks here who used it (one point read, not a page of the tenant).
 */
export class IdentityCatalogStore extends TableStore {
  async get(identityId: string): Promise<CatalogedIdentity | undefined> {
    await this.ensure();
    const entity = await this.find<{ identityId: string; principalId: string; clientId: string; attachedTo?: string }>("identity", keyFor(idKey(identityId)));
    if (!entity) return undefined;
    return { identityId: entity.identityId, principalId: entity.principalId, clientId: entity.clientId, ...(entity.attachedTo ? { attachedTo: parseList(entity.attachedTo) } : {}) };
  }

  async putMany(identities: CatalogedIdentity[]): Promise<void> {
    await this.ensure();
    await this.transactInParts(identities, () => "identity", ({ attachedTo, ...identity }) => [
      "upsert",
      { partitionKey: "identity", rowKey: keyFor(idKey(identity.identityId)), ...identity, ...(attachedTo ? { attachedTo: JSON.stringify(attachedTo.slice(0, ATTACHED_TO_LIMIT)) } : {}) },
      attachedTo ? "Replace" : "Merge",
    ]);
  }

  /** An attachment event: these identities are attached to `resourceId` now (merged into what the catalog knew). */
  async addAttachment(resourceId: string, identityIds: string[]): Promise<void> {
    for (const identityId of identityIds) {
      const known = await this.get(identityId);
      const attachedTo = known?.attachedTo ?? [];
      if (attachedTo.some((id) => idKey(id) === idKey(resourceId))) continue;
      await this.ensure();
      await this.call(() =>
        this.table.upsertEntity(
          { partitionKey: "identity", rowKey: keyFor(idKey(identityId)), identityId, attachedTo: JSON.stringify([...attachedTo, resourceId].slice(-ATTACHED_TO_LIMIT)) },
          "Merge",
        ),
      );
    }
  }

  /** What the last complete sweep counted (the base of the 24-hour delete budget of work items). */
  async putSweepStats(stats: { roleAssignments: number; at: string }): Promise<void> {
    await this.ensure();
    await this.call(() => this.table.upsertEntity({ partitionKey: "sweep", rowKey: "last-complete", ...stats }, "Replace"));
  }

  async sweepStats(): Promise<{ roleAssignments: number; at: string } | undefined> {
    await this.ensure();
    const entity = await this.find<{ roleAssignments: number; at: string }>("sweep", "last-complete");
    return entity ? { roleAssignments: Number(entity.roleAssignments), at: String(entity.at) } : undefined;
  }
}

const GRADED = "graded";

/**
 * The graded identities, in one small partition (a few hundred rows in a large tenant): a role-assignment
 * event that gives assign or federate rights reads them all at once.
 */
export class GradedIdentityStore extends TableStore {
  async list(): Promise<GradedIdentity[]> {
    await this.ensure();
    const graded: GradedIdentity[] = [];
    await this.call(async () => {
      for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: `PartitionKey eq ${quoted(GRADED)}` } })) {
        const grade = entity["grade"] === "critical" ? "critical" : entity["grade"] === "high" ? "high" : undefined;
        if (!grade) continue;
        graded.push({
          identityId: String(entity["identityId"] ?? ""),
          principalId: String(entity["principalId"] ?? ""),
          grade,
          gradeScopes: parseList(entity["gradeScopes"]),
          managementGroups: parseList(entity["managementGroups"]),
        });
      }
    });
    return graded;
  }

  /** Replaces the graded identities of the swept subscriptions (lower-case ids) with `identities`. */
  async replace(identities: GradedIdentity[], subscriptions: ReadonlySet<string>): Promise<void> {
    const current = await this.list();
    const keep = new Set(identities.map((identity) => keyFor(idKey(identity.identityId))));
    const stale = current.filter((identity) => {
      const subscription = /^\/subscriptions\/([^/]+)/i.exec(identity.identityId)?.[1]?.toLowerCase();
      return subscription !== undefined && subscriptions.has(subscription) && !keep.has(keyFor(idKey(identity.identityId)));
    });
    await this.transact([
      ...identities.map(
        (identity): TransactionAction => [
          "upsert",
          {
            partitionKey: GRADED,
            rowKey: keyFor(idKey(identity.identityId)),
            identityId: identity.identityId,
            principalId: identity.principalId,
            grade: identity.grade,
            gradeScopes: JSON.stringify(identity.gradeScopes),
            managementGroups: JSON.stringify(identity.managementGroups),
          },
          "Replace",
        ],
      ),
      ...stale.map((identity): TransactionAction => ["delete", { partitionKey: GRADED, rowKey: keyFor(idKey(identity.identityId)) }]),
    ]);
  }
}

function parseList(value: unknown): string[] {
  if (typeof value !== "string") return [];
  try {
    const parsed = JSON.parse(value) as unknown;
    return Array.isArray(parsed) ? parsed.map(String) : [];
  } catch {
    return [];
  }
}
