import { closeSync, existsSync, fsyncSync, openSync, readFileSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { InputError } from "../shared/errors.js";
import type { Journal } from "../shared/cleanup/journal.js";
import type { JournalEntry, JournalStatus } from "../shared/cleanup/types.js";

interface EntryLine extends JournalEntry {
  record: "entry";
}

/**
 * Orphan sightings an earlier version kept in the journal; they now live in the finding state beside
 * the file (cli/fileFindingState.ts). Old lines are still read as valid, and ignored.
 */
interface SightingsLine {
  record: "sightings";
}

type Line = EntryLine | SightingsLine;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * `--journal FILE`: JSON Lines, append-only, each line flushed to disk before the change it
 * describes (a pipeline can publish the file as an artifact). The latest line of an entry wins.
 * One process at a time: FILE.lock holds the writer's pid (a dead writer's lock is taken over).
 */
export class FileJournal implements Journal {
  private readonly lockPath: string;
  private readonly latest = new Map<string, JournalEntry>();
  private fd: number | undefined;

  constructor(private readonly path: string) {
    this.lockPath = `${path}.lock`;
    this.lock();
    try {
      this.load();
      this.fd = openSync(path, "a");
    } catch (error) {
      this.close();
      throw error;
    }
  }

  get description(): string {
    return this.path;
  }

  private lock(): void {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        writeFileSync(this.lockPath, String(process.pid), { flag: "wx" });
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw new InputError(`--journal ${this.path}: cannot create ${this.lockPath}: ${(error as Error).message}`);
        const holder = Number(readFileSync(this.lockPath, "utf8").trim());
        if (Number.isInteger(holder) && holder > 0 && processAlive(holder)) {
          throw new InputError(`--journal ${this.path}: in use by process ${holder} (${this.lockPath}); wait for it or use another journal file`);
        }
        unlinkSync(this.lockPath);
      }
    }
    throw new InputError(`--journal ${this.path}: could not lock ${this.lockPath}`);
  }

  private load(): void {
    if (!existsSync(this.path)) return;
    const lines = readFileSync(this.path, "utf8").split("\n");
    lines.forEach((text, index) => {
      if (text.trim() === "") return;
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch {
        // A run that died mid-write leaves a torn last line: everything before it still counts.
        if (lines.slice(index + 1).every((rest) => rest.trim() === "")) return;
        throw new InputError(`--journal ${this.path}: line ${index + 1} is not JSON`);
      }
      if (line.record === "entry" && typeof line.entryId === "string") {
        const { record: _record, ...entry } = line;
        this.latest.set(entry.entryId, entry);
      } else if (line.record !== "sightings") {
        throw new InputError(`--journal ${this.path}: line ${index + 1} is not a journal record`);
      }
    });
  }

  private append(line: Line): void {
    if (this.fd === undefined) throw new Error(`journal ${this.path} is closed`);
    writeSync(this.fd, `${JSON.stringify(line)}\n`);
    // Journal first means on disk first: the change must not outlive a journal line lost in a cache.
    fsyncSync(this.fd);
  }

  async get(runId: string, entryId: string): Promise<JournalEntry | undefined> {
    const entry = this.latest.get(entryId);
    return entry && entry.runId === runId ? entry : undefined;
  }

  async begin(entry: JournalEntry): Promise<void> {
    this.append({ record: "entry", ...entry });
    this.latest.set(entry.entryId, entry);
  }

  async finish(entry: JournalEntry, status: Exclude<JournalStatus, "pending">, detail: string, after?: Record<string, unknown>): Promise<JournalEntry> {
    const finished: JournalEntry = { ...entry, status, detail, ...(after ? { after } : {}), updatedAt: new Date().toISOString() };
    this.append({ record: "entry", ...finished });
    this.latest.set(entry.entryId, finished);
    return finished;
  }

  async pending(): Promise<JournalEntry[]> {
    return [...this.latest.values()].filter((entry) => entry.status === "pending");
  }

  async entries(filter: { runId?: string; entryId?: string }): Promise<JournalEntry[]> {
    return [...this.latest.values()].filter((entry) => (!filter.runId || entry.runId === filter.runId) && (!filter.entryId || entry.entryId === filter.entryId));
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    try {
      if (readFileSync(this.lockPath, "utf8").trim() === String(process.pid)) unlinkSync(this.lockPath);
    } catch {
      // Already gone.
    }
  }
}
