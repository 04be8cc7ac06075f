import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, renameSync } from "node:fs";
import { constants } from "node:buffer";
import { InputError } from "../shared/errors.js";
import { SharedRecordText, lacksFinding, recordFields, snapshotToWrite, type FindingRecord, type FindingStateStore, type LoadOptions } from "../shared/engine/findingLifecycle.js";
import { HEADER, LineWriter, lastLineOf, linesOf, notARecord, readBytes, type FileLine, type LineAt } from "./findingStateLines.js";

/** One record as this store holds it. */
interface Entry {
  /**
   * With `line`: the record without its snapshot and without a finding (the snapshot is on that line of the file).
   * Without: the record as saved (no file) or as a version 1 file held it, with its finding or its snapshot, never both.
   */
  record: FindingRecord;
  line?: LineAt;
}

type Scopes = Map<string, Map<string, Entry>>;

/**
 * Finding state in a file, for a CLI sweep without --state: the same records the app keeps in Table storage, so
 * orphan confirmations and first sightings count the same way. The file sits beside the --journal file, whose lock
 * covers it (one process at a time). Without a path, the state lives for this process only.
 *
 * A sweep of a million role assignments has ~290,000 records of ~3 KB each: the file is JSON Lines (version 2,
 * findingStateLines.ts), read and written a line at a time, and the store holds each record without its snapshot,
 * reading the snapshot from the file when asked (`loadSome`, `load` with snapshots). The records are read when first
 * asked for — the sweep job reads its previous state after the sweep, whose peak is most of the heap — and only the
 * file's ends when the store is made (the header, the closing count: a file cut short is refused before any work).
 * It keeps open the file it read or wrote last, so that another run renaming its own file into place (a dry run
 * beside an enforce run) does not change what this one reads. A version 1 file (one JSON document) is still read,
 * and written as version 2.
 */
export class FileFindingStateStore implements FindingStateStore {
  private read: Scopes | undefined;
  private fd: number | undefined;

  constructor(private readonly path?: string) {
    if (!path || !existsSync(path)) return;
    let fd: number | undefined;
    try {
      fd = openSync(path, "r");
      if (startsWithHeader(fd)) {
        checkClosing(fd, path);
        this.fd = fd;
        return;
      }
      this.read = readVersion1(fd, path);
      closeSync(fd);
    } catch (error) {
      if (fd !== undefined) closeSync(fd);
      // A directory, a file this user may not read: bad input too, named.
      throw error instanceof InputError ? error : new InputError(`finding state ${path}: cannot be read (${(error as Error).message})`);
    }
  }

  /** Every record, without snapshots, by scope and fingerprint: read from the file the first time. */
  private get scopes(): Scopes {
    if (!this.read) this.read = this.fd !== undefined && this.path ? readVersion2(this.fd, this.path) : new Map();
    return this.read;
  }

  /** Lets go of the file (the process's end does too). */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  async load(scope: string, options: LoadOptions = {}): Promise<Map<string, FindingRecord>> {
    const records = new Map<string, FindingRecord>();
    for (const [fingerprint, entry] of this.scopes.get(scope) ?? []) records.set(fingerprint, options.snapshots === false ? withoutSnapshot(entry) : this.withSnapshot(entry));
    return records;
  }

  async loadSome(scope: string, fingerprints: string[]): Promise<Map<string, FindingRecord>> {
    const partition = this.scopes.get(scope);
    const records = new Map<string, FindingRecord>();
    for (const fingerprint of fingerprints) {
      const entry = partition?.get(fingerprint);
      if (entry && !records.has(fingerprint)) records.set(fingerprint, this.withSnapshot(entry));
    }
    return records;
  }

  async openForSubjects(subjectIds: string[]): Promise<Array<{ scope: string; record: FindingRecord }>> {
    const wanted = new Set(subjectIds.map((id) => id.toLowerCase()));
    const found: Array<{ scope: string; record: FindingRecord }> = [];
    for (const [scope, partition] of this.scopes) {
      for (const entry of partition.values()) {
        if (entry.record.status === "open" && wanted.has(entry.record.subjectId.toLowerCase())) found.push({ scope, record: this.withSnapshot(entry) });
      }
    }
    return found;
  }

  async save(scope: string, records: FindingRecord[]): Promise<void> {
    const given = new Map(records.map((record) => [record.fingerprint, record]));
    if (!this.path) {
      const partition = this.scopes.get(scope) ?? new Map<string, Entry>();
      for (const record of given.values()) partition.set(record.fingerprint, { record: heldInMemory(record, partition.get(record.fingerprint)?.record) });
      this.scopes.set(scope, partition);
      return;
    }
    // Written to FILE.tmp, flushed and renamed into place: a run killed mid-write leaves the previous state.
    const writer = new LineWriter(`${this.path}.tmp`, this.fd);
    try {
      const next = this.write(writer, scope, given);
      writer.finish();
      // Every line of the old file is copied by now; closed first, as Windows may not rename over an open file.
      this.close();
      renameSync(writer.path, this.path);
      this.read = next;
      this.fd = writer.fd;
    } catch (error) {
      writer.abandon();
      throw error;
    }
  }

  /** Every record, this scope's given ones in place of those kept; the snapshots made one record at a time. */
  private write(writer: LineWriter, scope: string, given: Map<string, FindingRecord>): Scopes {
    const next: Scopes = new Map();
    let count = 0;
    writer.line(HEADER);
    for (const name of this.scopes.has(scope) ? this.scopes.keys() : [...this.scopes.keys(), scope]) {
      const kept = this.scopes.get(name) ?? new Map<string, Entry>();
      const fresh = name === scope ? given : undefined;
      const partition = new Map<string, Entry>();
      for (const [fingerprint, entry] of kept) {
        const record = fresh?.get(fingerprint);
        partition.set(fingerprint, record ? this.writeRecord(writer, name, record, entry) : entry.line ? { record: entry.record, line: writer.copyLine(entry.line) } : this.writeRecord(writer, name, entry.record));
      }
      for (const [fingerprint, record] of fresh ?? []) if (!kept.has(fingerprint)) partition.set(fingerprint, this.writeRecord(writer, name, record));
      count += partition.size;
      next.set(name, partition);
    }
    writer.line(JSON.stringify({ records: count }));
    return next;
  }

  private writeRecord(writer: LineWriter, scope: string, record: FindingRecord, kept?: Entry): Entry {
    const light = recordFields(record);
    // Saved without its snapshot (read without it): the one kept stays, as Table storage's Merge keeps it.
    const snapshot = snapshotToWrite(record) ?? (kept && lacksFinding(record) ? this.snapshotOf(kept) : undefined);
    const line = writer.line(JSON.stringify({ scope, record: snapshot === undefined ? light : { ...light, snapshot } }));
    return { record: light, line };
  }

  private snapshotOf(entry: Entry): string | undefined {
    if (!entry.line) return snapshotToWrite(entry.record);
    if (this.fd === undefined) throw new Error(`finding state ${this.path}: closed`);
    const { record } = JSON.parse(readBytes(this.fd, entry.line).toString("utf8")) as { record: FindingRecord };
    if (record.fingerprint !== entry.record.fingerprint) throw new Error(`finding state ${this.path}: the line at byte ${entry.line.at} is not the record of ${entry.record.fingerprint}`);
    return record.snapshot;
  }

  private withSnapshot(entry: Entry): FindingRecord {
    const snapshot = this.snapshotOf(entry);
    const record = withoutSnapshot(entry);
    return snapshot === undefined ? record : { ...record, snapshot };
  }
}

function withoutSnapshot(entry: Entry): FindingRecord {
  return entry.line ? entry.record : recordFields(entry.record);
}

/** In memory: the finding in hand, else the snapshot (saved without either: the one kept). */
function heldInMemory(record: FindingRecord, kept: FindingRecord | undefined): FindingRecord {
  const { snapshot: _read, ...rest } = record;
  if (record.finding) return record.snapshot === undefined ? record : rest;
  if (record.snapshot !== undefined || !kept) return record;
  if (kept.finding) return { ...record, finding: kept.finding };
  return kept.snapshot === undefined ? record : { ...record, snapshot: kept.snapshot };
}

function refused(path: string, where: string, what: string): InputError {
  return new InputError(`finding state ${path}${where}: ${what}; remove it to start counting again`);
}

/** Whether the file's first line is the version 2 header (else it is read as version 1). */
function startsWithHeader(fd: number): boolean {
  const start = Buffer.alloc(HEADER.length + 2);
  const read = readSync(fd, start, 0, start.length, 0);
  const text = start.subarray(0, read).toString("utf8");
  return text === HEADER || text.startsWith(`${HEADER}\n`) || text.startsWith(`${HEADER}\r\n`);
}

/** N of the closing line `{"records":N}`; undefined for any other line. */
function closingCount(value: unknown): number | undefined {
  const closing = (typeof value === "object" && value !== null ? value : {}) as { scope?: unknown; records?: unknown };
  return closing.scope === undefined && Number.isSafeInteger(closing.records) ? (closing.records as number) : undefined;
}

function parsedOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const cutShort = `not the closing line {"records":N} a finding state file ends with (cut short?)`;

/** The file's ends: the closing line, last, counting the lines between it and the header. */
function checkClosing(fd: number, path: string): void {
  const last = lastLineOf(fd, (number) => refused(path, ` line ${number}`, "longer than any finding record"));
  const count = last ? closingCount(parsedOrUndefined(last.text)) : undefined;
  if (!last || count === undefined) throw refused(path, ` line ${last?.number ?? 1}`, cutShort);
  if (count !== last.number - 2) throw refused(path, ` line ${last.number}`, `says ${count} records, the file holds ${last.number - 2}`);
}

function readVersion2(fd: number, path: string): Scopes {
  const scopes: Scopes = new Map();
  const interned = new SharedRecordText();
  let count = 0;
  let closing: FileLine | undefined;
  let last = 0;
  for (const line of linesOf(fd, (number) => refused(path, ` line ${number}`, "longer than any finding record"))) {
    last = line.number;
    if (line.number === 1) continue;
    const where = ` line ${line.number}`;
    if (closing) {
      if (line.text.trim() !== "") throw refused(path, where, `after the closing line {"records":N} (line ${closing.number})`);
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(line.text);
    } catch (error) {
      throw refused(path, where, `not JSON (${(error as Error).message})`);
    }
    const parsed = (typeof value === "object" && value !== null ? value : {}) as { scope?: unknown; record?: unknown };
    const closes = closingCount(value);
    if (closes !== undefined) {
      if (closes !== count) throw refused(path, where, `says ${closes} records, the file holds ${count}`);
      closing = line;
      continue;
    }
    const problem = typeof parsed.scope === "string" ? notARecord(parsed.record) : "no scope";
    if (problem) throw refused(path, where, `not a finding record (${problem})`);
    const { snapshot: _onDisk, ...record } = parsed.record as FindingRecord;
    const partition = scopes.get(parsed.scope as string) ?? new Map<string, Entry>();
    if (partition.has(record.fingerprint)) throw refused(path, where, `fingerprint ${record.fingerprint} twice in scope ${String(parsed.scope)}`);
    partition.set(record.fingerprint, { record: interned.record(record), line: { at: line.at, bytes: line.bytes } });
    scopes.set(parsed.scope as string, partition);
    count += 1;
  }
  if (!closing) throw refused(path, ` line ${last}`, cutShort);
  return scopes;
}

/**
 * Version 1, one JSON document `{"version":1,"scopes":{scope:{fingerprint:record}}}`: small by construction (it was
 * written as one string, so no larger than V8's longest string), read whole.
 */
function readVersion1(fd: number, path: string): Scopes {
  if (fstatSync(fd).size > constants.MAX_STRING_LENGTH) throw refused(path, " line 1", "not a uami-guard finding state file");
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(fd, "utf8"));
  } catch (error) {
    throw refused(path, "", `not JSON (${(error as Error).message})`);
  }
  const file = parsed as { version?: unknown; scopes?: unknown } | null;
  if (!file || file.version !== 1 || typeof file.scopes !== "object" || file.scopes === null) throw new InputError(`finding state ${path}: not a uami-guard finding state file`);
  const scopes: Scopes = new Map();
  for (const [scope, records] of Object.entries(file.scopes as Record<string, unknown>)) {
    if (typeof records !== "object" || records === null || Array.isArray(records)) throw refused(path, ` scope ${scope}`, "not an object of records");
    const partition = new Map<string, Entry>();
    for (const [fingerprint, record] of Object.entries(records)) {
      const problem = notARecord(record) ?? ((record as FindingRecord).fingerprint === fingerprint ? undefined : "its fingerprint is not its key");
      if (problem) throw refused(path, ` scope ${scope} record ${fingerprint}`, `not a finding record (${problem})`);
      partition.set(fingerprint, { record: record as FindingRecord });
    }
    scopes.set(scope, partition);
  }
  return scopes;
}
