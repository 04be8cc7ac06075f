import { closeSync, fsyncSync, openSync, readSync, unlinkSync, writeSync } from "node:fs";
import { SEVERITIES } from "../shared/config/severities.js";

/**
 * The finding state file, version 2 (cli/fileFindingState.ts): JSON Lines, so that neither writing nor reading
 * ever holds the whole state as one string (at a million role assignments it is ~1 GB, over V8's string limit).
 *
 *   {"version":2}
 *   {"scope":"sweep-all","record":{"fingerprint":"…",…,"snapshot":"…"}}     one line per record
 *   {"records":N}                                                            N record lines: a file cut short is refused
 */
export const HEADER = '{"version":2}';

/** Read and written this much at a time. */
const CHUNK = 1 << 20;
/** A record's line is a few KB (a snapshot is at most ~30,000 characters): anything far longer is not ours. */
const LINE_LIMIT = 8 << 20;

/** Where a line is in a file: its first byte and its length in bytes, without the newline. */
export interface LineAt {
  at: number;
  bytes: number;
}

export interface FileLine extends LineAt {
  text: string;
  /** 1-based, as an editor counts. */
  number: number;
}

/** The lines of a file, a chunk at a time; a line longer than LINE_LIMIT throws `longer(number)`. */
export function* linesOf(fd: number, longer: (number: number) => Error): Generator<FileLine> {
  const chunk = Buffer.allocUnsafe(CHUNK);
  let carried: Buffer[] = [];
  let carriedBytes = 0;
  let position = 0;
  let lineStart = 0;
  let number = 0;
  const line = (last: Buffer): FileLine => {
    const bytes = carriedBytes + last.length;
    const text = (carried.length > 0 ? Buffer.concat([...carried, last], bytes) : last).toString("utf8");
    const result = { text, number: (number += 1), at: lineStart, bytes };
    lineStart += bytes + 1;
    carried = [];
    carriedBytes = 0;
    return result;
  };
  for (;;) {
    const read = readSync(fd, chunk, 0, CHUNK, position);
    if (read === 0) break;
    position += read;
    const view = chunk.subarray(0, read);
    let from = 0;
    for (let newline = view.indexOf(10, from); newline !== -1; newline = view.indexOf(10, from)) {
      yield line(view.subarray(from, newline));
      from = newline + 1;
    }
    if (from < read) {
      // The chunk is read into again: what is carried to the next one is copied.
      carried.push(Buffer.from(view.subarray(from)));
      carriedBytes += read - from;
      if (carriedBytes > LINE_LIMIT) throw longer(number + 1);
    }
  }
  if (carriedBytes > 0) yield line(Buffer.alloc(0));
}

/**
 * The file's last line that is not blank, and its number, found without decoding or parsing the others (newlines
 * counted a chunk at a time): checked when the store is made, so that a file cut short is refused before any work.
 */
export function lastLineOf(fd: number, longer: (number: number) => Error): FileLine | undefined {
  const chunk = Buffer.allocUnsafe(CHUNK);
  let position = 0;
  let number = 0;
  let lineStart = 0;
  let last: LineAt & { number: number } = { at: 0, bytes: 0, number: 0 };
  const end = (at: number): void => {
    number += 1;
    if (at > lineStart) last = { at: lineStart, bytes: at - lineStart, number };
    lineStart = at + 1;
  };
  for (let read = readSync(fd, chunk, 0, CHUNK, 0); read > 0; read = readSync(fd, chunk, 0, CHUNK, position)) {
    const view = chunk.subarray(0, read);
    for (let newline = view.indexOf(10); newline !== -1; newline = view.indexOf(10, newline + 1)) end(position + newline);
    position += read;
  }
  if (position > lineStart) end(position);
  if (last.number === 0) return undefined;
  if (last.bytes > LINE_LIMIT) throw longer(last.number);
  const text = readBytes(fd, last).toString("utf8");
  return text.trim() === "" ? undefined : { ...last, text };
}

/** These bytes of the file. */
export function readBytes(fd: number, line: LineAt): Buffer {
  const buffer = Buffer.allocUnsafe(line.bytes);
  for (let done = 0; done < line.bytes; ) {
    const read = readSync(fd, buffer, done, line.bytes - done, line.at + done);
    if (read === 0) throw new Error(`finding state: the file ends inside a line it held at byte ${line.at}`);
    done += read;
  }
  return buffer;
}

/**
 * Writes a new file a chunk at a time (opened "w+": the store reads it back after the rename). Unchanged lines of
 * the file it replaces are copied as bytes, runs of them a chunk at a time.
 */
export class LineWriter {
  readonly fd: number;
  private written = 0;
  private pieces: Buffer[] = [];
  private pending = 0;
  private copy: { from: number; bytes: number } | undefined;

  constructor(
    readonly path: string,
    private readonly source?: number,
  ) {
    this.fd = openSync(path, "w+");
  }

  private get end(): number {
    return this.written + this.pending + (this.copy?.bytes ?? 0);
  }

  line(text: string): LineAt {
    this.endCopy();
    const at = this.end;
    const buffer = Buffer.from(`${text}\n`, "utf8");
    this.push(buffer);
    return { at, bytes: buffer.length - 1 };
  }

  /** The line at `from` in the file replaced, copied as it is. */
  copyLine(from: LineAt): LineAt {
    if (this.source === undefined) throw new Error("finding state: no file to copy a line from");
    const bytes = from.bytes + 1;
    if (this.copy && this.copy.from + this.copy.bytes === from.at && this.copy.bytes + bytes <= CHUNK) {
      const at = this.end;
      this.copy.bytes += bytes;
      return { at, bytes: from.bytes };
    }
    this.endCopy();
    const at = this.end;
    this.copy = { from: from.at, bytes };
    return { at, bytes: from.bytes };
  }

  /** Everything on disk (fsync): only then may the file be renamed into place. */
  finish(): void {
    this.endCopy();
    this.flush();
    fsyncSync(this.fd);
  }

  /** After a failure: the file is let go of and removed (the error that got here is the one to report). */
  abandon(): void {
    try {
      closeSync(this.fd);
      unlinkSync(this.path);
    } catch {
      // Already gone, or the disk that failed the write fails this too: FILE.tmp is truncated by the next run.
    }
  }

  private endCopy(): void {
    if (!this.copy) return;
    const { from, bytes } = this.copy;
    this.copy = undefined;
    this.push(readBytes(this.source!, { at: from, bytes }));
  }

  private push(buffer: Buffer): void {
    this.pieces.push(buffer);
    this.pending += buffer.length;
    if (this.pending >= CHUNK) this.flush();
  }

  private flush(): void {
    const buffer = Buffer.concat(this.pieces, this.pending);
    for (let done = 0; done < buffer.length; ) done += writeSync(this.fd, buffer, done, buffer.length - done, this.written + done);
    this.written += buffer.length;
    this.pieces = [];
    this.pending = 0;
  }
}

const TEXT = ["fingerprint", "ruleId", "subjectId", "title", "firstSeen", "lastSeen"] as const;
const OPTIONAL_TEXT = ["relatedId", "resolvedAt", "lastNotifiedAt", "snapshot"] as const;
const COUNTS = ["timesSeen", "consecutive"] as const;

/** Why a stored value is not a finding record (undefined: it is one). Confirmations count toward deletions: checked, not trusted. */
export function notARecord(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not an object";
  const record = value as Record<string, unknown>;
  for (const key of TEXT) if (typeof record[key] !== "string") return `${key} is not text`;
  for (const key of OPTIONAL_TEXT) if (record[key] !== undefined && typeof record[key] !== "string") return `${key} is not text`;
  for (const key of COUNTS) if (!Number.isSafeInteger(record[key]) || (record[key] as number) < 0) return `${key} is not a count`;
  if (!(SEVERITIES as readonly unknown[]).includes(record.severity)) return `severity is not one of ${SEVERITIES.join(", ")}`;
  if (record.status !== "open" && record.status !== "resolved") return "status is not open or resolved";
  if (record.finding !== undefined) return "it holds a finding, not its snapshot";
  return undefined;
}
