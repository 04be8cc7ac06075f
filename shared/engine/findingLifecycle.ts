import { createHash } from "node:crypto";
import type { Severity } from "../config/policy.js";
import type { Finding } from "../findings.js";
import type { Incomplete } from "../model.js";

/**
 * The finding lifecycle (new → open → resolved, first/last seen, confirmations): `applyRun` computes a run's
 * transition (pure). The run commit (runCommit.ts) saves it, once per run; nothing else writes finding state.
 */

/** The partition of event findings (they are never resolved by absence). */
export const EVENT_SCOPE = "events";

/** What the state store remembers of one finding between runs: the one stored-finding type. */
export interface FindingRecord {
  fingerprint: string;
  ruleId: string;
  subjectId: string;
  relatedId?: string;
  severity: Severity;
  title: string;
  status: "open" | "resolved";
  firstSeen: string;
  lastSeen: string;
  timesSeen: number;
  /** Sweeps in a row that saw it; an incomplete check for its rule resets it (not confirmed). */
  consecutive: number;
  resolvedAt?: string;
  lastNotifiedAt?: string;
  /**
   * The finding as last seen (JSON), so a resolution notice can say what went away. Absent on a record read with
   * `snapshots: false`, and on one this run made from a finding in hand (`finding`): see `snapshotToWrite`.
   */
  snapshot?: string;
  /**
   * SHA-256 of the stored snapshot (`snapshotHashOf`), written with it and read without it: a finding seen again whose
   * snapshot hashes the same is saved without its snapshot, which stays as stored (`storedRecord`). Absent on records
   * written before it was kept, which are therefore rewritten once.
   */
  snapshotHash?: string;
  /**
   * The finding this run saw, never stored as such: its snapshot is made as the record is written, one at a time.
   * A sweep of a million role assignments has ~290,000 findings, whose snapshots (~3 KB each) held at once are more
   * than the app's whole heap.
   */
  finding?: Finding;
}

export interface LoadOptions {
  /** false: records without `snapshot` (a sweep's partition is too large to hold with them); true when absent. */
  snapshots?: boolean;
}

export interface LifecycleResult {
  /** Records to write back (new, changed). */
  changed: FindingRecord[];
  /** Findings seen for the first time, or again after being resolved. */
  opened: Finding[];
  /** Records that were open and are now resolved. */
  resolved: FindingRecord[];
  /** Every open record after this run, by fingerprint. */
  open: Map<string, FindingRecord>;
}

/** Where finding state lives: Table storage in the app and with --state, a file for the CLI's --journal. */
export interface FindingStateStore {
  load(scope: string, options?: LoadOptions): Promise<Map<string, FindingRecord>>;
  /** Only these fingerprints (event findings: point reads, not the whole partition). */
  loadSome(scope: string, fingerprints: string[]): Promise<Map<string, FindingRecord>>;
  /**
   * Writes each record with `snapshotToWrite(record)` as its snapshot; a record with none keeps the snapshot stored
   * for it (it was read without it). Snapshots are made as records are written, never all at once.
   */
  save(scope: string, records: FindingRecord[]): Promise<void>;
  /** Open records, in any scope, whose subject is one of these ids (compared as ARM compares ids); a store without it resolves nothing on deletes. */
  openForSubjects?(subjectIds: string[]): Promise<Array<{ scope: string; record: FindingRecord }>>;
}

const SNAPSHOT_LIMIT = 30_000;

export function snapshotOf(finding: Finding): string {
  const full = JSON.stringify(finding);
  // Table storage properties hold 64 KiB; keep the essentials when evidence is huge.
  return full.length <= SNAPSHOT_LIMIT ? full : JSON.stringify({ ...finding, evidence: { truncated: true } });
}

/** The content hash of a snapshot as `snapshotOf` makes it (SHA-256, base64: 44 characters). */
export function snapshotHashOf(snapshot: string): string {
  return createHash("sha256").update(snapshot).digest("base64");
}

/**
 * The snapshot a store writes for a record: made from the finding in hand, else the one it was read with; undefined
 * when it has neither (read with `snapshots: false` and not seen again): the stored snapshot stays as it is.
 */
export function snapshotToWrite(record: FindingRecord): string | undefined {
  return record.finding ? snapshotOf(record.finding) : record.snapshot;
}

/**
 * The finding a record says: the one in hand, else its snapshot; read without one (the run commit reads the
 * snapshots of what it notifies first), what the record itself keeps of it.
 */
export function findingOfRecord(record: FindingRecord): Finding {
  if (record.finding) return record.finding;
  if (record.snapshot !== undefined) return JSON.parse(record.snapshot) as Finding;
  return {
    ruleId: record.ruleId,
    severity: record.severity,
    subjectId: record.subjectId,
    ...(record.relatedId !== undefined ? { relatedId: record.relatedId } : {}),
    fingerprint: record.fingerprint,
    title: record.title,
    message: record.title,
    evidence: {},
    remediation: { summary: "", cli: [] },
  };
}

/** Whether the finding a record says is only what the record keeps (`findingOfRecord`): its snapshot was not read. */
export function lacksFinding(record: FindingRecord): boolean {
  return record.finding === undefined && record.snapshot === undefined;
}

/** The record's own fields: without the finding in hand, a snapshot, or a snapshot's hash (written only with its snapshot). */
export function recordFields(record: FindingRecord): FindingRecord {
  const { finding: _inHand, snapshot: _read, snapshotHash: _hash, ...fields } = record;
  return fields;
}

/**
 * The record as stored: without the finding in hand; with the snapshot to write and its hash, unless it is the one
 * stored (the finding in hand's snapshot hashes to the record's `snapshotHash`) or there is none to write. Without a
 * snapshot the store merges the record's own fields into the stored row and leaves the snapshot as it is: a sweep
 * that sees the same findings again writes their counters, not ~3 KB of snapshot each.
 */
export function storedRecord(record: FindingRecord): FindingRecord {
  const fields = recordFields(record);
  // A hash is written only beside the snapshot it was computed from, in the same write, never in a merge: a stored
  // hash always names the snapshot stored with it. A snapshot read back (its hash maybe read in another call) goes
  // without one: such a record is resolved or unconfirmed, and seen again it is written whole once.
  if (!record.finding) return record.snapshot === undefined ? fields : { ...fields, snapshot: record.snapshot };
  const snapshot = snapshotOf(record.finding);
  const snapshotHash = snapshotHashOf(snapshot);
  return snapshotHash === record.snapshotHash ? fields : { ...fields, snapshot, snapshotHash };
}

/**
 * Records as a store reads them share their few rule ids, severities, statuses and run times (a sweep writes one
 * `lastSeen` for all of them), but a parsed row's values are new strings each: ~190 bytes a record (a V8 string of
 * 24 characters is 40 bytes), ~55 MB at ~290,000 records. `record` makes those values the ones already seen.
 */
export class SharedRecordText {
  private readonly seen = new Map<string, string>();

  record(record: FindingRecord): FindingRecord {
    record.ruleId = this.text(record.ruleId);
    record.severity = this.text(record.severity) as FindingRecord["severity"];
    record.status = this.text(record.status) as FindingRecord["status"];
    record.firstSeen = this.text(record.firstSeen);
    record.lastSeen = this.text(record.lastSeen);
    if (record.resolvedAt !== undefined) record.resolvedAt = this.text(record.resolvedAt);
    if (record.lastNotifiedAt !== undefined) record.lastNotifiedAt = this.text(record.lastNotifiedAt);
    return record;
  }

  private text(value: string): string {
    const kept = this.seen.get(value);
    if (kept !== undefined) return kept;
    this.seen.set(value, value);
    return value;
  }
}

/**
 * Pure state transition of one run: new / seen again / resolved. A finding whose rule had an
 * incomplete check this run is neither confirmed nor resolved: unknown stays open, unconfirmed.
 */
export function applyRun(
  previous: Map<string, FindingRecord>,
  findings: Finding[],
  options: { now: Date; unknownRules: Set<string> },
): LifecycleResult {
  const now = options.now.toISOString();
  const changed: FindingRecord[] = [];
  const opened: Finding[] = [];
  const resolved: FindingRecord[] = [];
  const open = new Map<string, FindingRecord>();
  const seen = new Set<string>();

  for (const finding of findings) {
    seen.add(finding.fingerprint);
    const before = previous.get(finding.fingerprint);
    const reopened = !before || before.status === "resolved";
    const record: FindingRecord = {
      fingerprint: finding.fingerprint,
      ruleId: finding.ruleId,
      subjectId: finding.subjectId,
      ...(finding.relatedId !== undefined ? { relatedId: finding.relatedId } : {}),
      severity: finding.severity,
      title: finding.title,
      status: "open",
      firstSeen: before && !reopened ? before.firstSeen : now,
      lastSeen: now,
      timesSeen: (before?.timesSeen ?? 0) + 1,
      consecutive: reopened ? 1 : (before?.consecutive ?? 0) + 1,
      ...(before?.lastNotifiedAt && !reopened ? { lastNotifiedAt: before.lastNotifiedAt } : {}),
      // The stored snapshot's hash, so an unchanged one is not written again; not for a reopened record, which is
      // written whole (a merge would keep its resolvedAt and lastNotifiedAt).
      ...(before?.snapshotHash !== undefined && !reopened ? { snapshotHash: before.snapshotHash } : {}),
      finding,
    };
    if (reopened) opened.push(finding);
    changed.push(record);
    open.set(record.fingerprint, record);
  }

  for (const before of previous.values()) {
    if (seen.has(before.fingerprint) || before.status !== "open") continue;
    if (options.unknownRules.has(before.ruleId)) {
      const unconfirmed: FindingRecord = { ...before, consecutive: 0 };
      changed.push(unconfirmed);
      open.set(before.fingerprint, unconfirmed);
      continue;
    }
    const closed: FindingRecord = { ...before, status: "resolved", consecutive: 0, resolvedAt: now };
    changed.push(closed);
    resolved.push(closed);
  }
  return { changed, opened, resolved, open };
}

/** Rules whose checks were incomplete in this run. */
export function rulesWithUnknowns(incomplete: Incomplete[], checkAffects: Readonly<Record<string, readonly string[]>>): Set<string> {
  return new Set(incomplete.flatMap((entry) => (Object.hasOwn(checkAffects, entry.check) ? (checkAffects[entry.check] ?? []) : [])));
}

/** What the finding state says of a finding seen in this run: its confirmations and its first sighting. */
export function sightingsFrom(previous: Map<string, FindingRecord>): { consecutive: (fingerprint: string) => number; firstSeen: (fingerprint: string) => string | undefined } {
  const open = (fingerprint: string): FindingRecord | undefined => {
    const before = previous.get(fingerprint);
    return before?.status === "open" ? before : undefined;
  };
  // The same arithmetic as applyRun: an open record counts on, anything else starts at 1.
  return { consecutive: (fingerprint) => (open(fingerprint)?.consecutive ?? 0) + 1, firstSeen: (fingerprint) => open(fingerprint)?.firstSeen };
}

/** The records with lastNotifiedAt = now for the fingerprints the notices of this run name. */
export function stampNotified(records: FindingRecord[], fingerprints: string[], now: Date): FindingRecord[] {
  const notified = new Set(fingerprints);
  const at = now.toISOString();
  return records.map((record) => (notified.has(record.fingerprint) ? { ...record, lastNotifiedAt: at } : record));
}
