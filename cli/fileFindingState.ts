import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { InputError } from "../shared/errors.js";
import { storedRecord, type FindingRecord, type FindingStateStore } from "../shared/engine/findingLifecycle.js";

interface StateFile {
  version: 1;
  /** scope → fingerprint → record. */
  scopes: Record<string, Record<string, FindingRecord>>;
}

/**
 * Finding state in a JSON file, for a CLI sweep without --state: the same records the app keeps in
 * Table storage, so orphan confirmations and first sightings count the same way. The file sits
 * beside the --journal file, whose lock covers it (one process at a time). Without a path, the
 * state lives for this process only.
 */
export class FileFindingStateStore implements FindingStateStore {
  private readonly state: StateFile;

  constructor(private readonly path?: string) {
    this.state = path && existsSync(path) ? FileFindingStateStore.read(path) : { version: 1, scopes: {} };
  }

  private static read(path: string): StateFile {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, "utf8"));
    } catch (error) {
      throw new InputError(`finding state ${path}: not JSON (${(error as Error).message}); remove it to start counting again`);
    }
    const file = parsed as Partial<StateFile> | null;
    if (!file || file.version !== 1 || typeof file.scopes !== "object" || file.scopes === null) throw new InputError(`finding state ${path}: not a uami-guard finding state file`);
    return file as StateFile;
  }

  async load(scope: string): Promise<Map<string, FindingRecord>> {
    return new Map(Object.entries(this.state.scopes[scope] ?? {}));
  }

  async loadSome(scope: string, fingerprints: string[]): Promise<Map<string, FindingRecord>> {
    const records = this.state.scopes[scope] ?? {};
    return new Map(fingerprints.flatMap((fingerprint) => (records[fingerprint] ? [[fingerprint, records[fingerprint]] as const] : [])));
  }

  async openForSubjects(subjectIds: string[]): Promise<Array<{ scope: string; record: FindingRecord }>> {
    const wanted = new Set(subjectIds.map((id) => id.toLowerCase()));
    return Object.entries(this.state.scopes).flatMap(([scope, records]) =>
      Object.values(records)
        .filter((record) => record.status === "open" && wanted.has(record.subjectId.toLowerCase()))
        .map((record) => ({ scope, record })),
    );
  }

  async save(scope: string, records: FindingRecord[]): Promise<void> {
    const partition = (this.state.scopes[scope] ??= {});
    for (const record of records) {
      const kept = partition[record.fingerprint];
      // Read without its snapshot: the one kept stays (as Table storage's Merge keeps it).
      partition[record.fingerprint] = record.finding === undefined && record.snapshot === undefined && kept ? { ...record, ...(kept.finding ? { finding: kept.finding } : {}), ...(kept.snapshot !== undefined ? { snapshot: kept.snapshot } : {}) } : record;
    }
    if (!this.path) return;
    // Written whole and renamed into place: a run killed mid-write leaves the previous state.
    const temporary = `${this.path}.tmp`;
    const stored = { ...this.state, scopes: Object.fromEntries(Object.entries(this.state.scopes).map(([scope, kept]) => [scope, Object.fromEntries(Object.entries(kept).map(([fingerprint, record]) => [fingerprint, storedRecord(record)]))])) };
    writeFileSync(temporary, `${JSON.stringify(stored)}\n`);
    renameSync(temporary, this.path);
  }
}
