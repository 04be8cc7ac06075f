import { closeSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import type { z } from "zod";
import { InputError, errorMessage } from "../errors.js";

/**
 * One line that names the key, the value and what is allowed, e.g.
 * `policy: orphans.minAgeMinutes = -5: must be >= 0`.
 */
export function describeIssue(source: string, issue: z.core.$ZodIssue, input: unknown): string {
  const path = issue.path.map((segment) => (typeof segment === "number" ? `[${segment}]` : String(segment)));
  const key = path.join(".").replace(/\.\[/g, "[");
  if (issue.code === "unrecognized_keys") {
    const where = key ? `${key}.` : "";
    const allowed = allowedKeys(issue);
    return `${source}: unknown key ${issue.keys.map((k) => `"${where}${k}"`).join(", ")}${allowed}`;
  }
  const value = valueAt(input, issue.path);
  const shown = value === undefined ? "missing" : `= ${truncate(redact(JSON.stringify(value)))}`;
  return `${source}: ${key || "(root)"} ${shown}: ${issue.message}`;
}

function allowedKeys(issue: z.core.$ZodIssue): string {
  const known = (issue as { allowed?: string[] }).allowed;
  return known && known.length > 0 ? ` (allowed: ${known.join(", ")})` : "";
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let current: unknown = input;
  for (const segment of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

/**
 * Values can carry secrets (a webhook URL's `sig=`, a connection string's AccountKey or SAS): a query
 * string and key/signature parts are never echoed.
 */
function redact(text: string | undefined): string | undefined {
  return text
    ?.replace(/\?[^"\s]*/g, "?<redacted>")
    .replace(/\b(AccountKey|SharedAccessSignature|SharedAccessKey|sig|code|key|password|secret|token)=[^;&"\s]*/gi, "$1=<redacted>");
}

function truncate(text: string | undefined): string {
  if (text === undefined) return "undefined";
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Parses with a schema; the first problem becomes an InputError naming source, key and value. */
export function parseOrThrow<T extends z.ZodType>(schema: T, input: unknown, source: string): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const first = result.error.issues[0];
  const more = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more problem(s))` : "";
  throw new InputError(first ? `${describeIssue(source, first, input)}${more}` : `${source}: invalid`);
}

/** JSON text to a value; bad JSON is an InputError naming `where`, with line and column. */
export function parseJsonText(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(`${where}: not valid JSON: ${withLineAndColumn(errorMessage(error), text)}`);
  }
}

/** V8 says "at position 19" (Node 20); an editor wants line 2, column 5 (both from 1). */
function withLineAndColumn(message: string, text: string): string {
  const position = /at position (\d+)/.exec(message);
  if (!position || /line \d+ column \d+/.test(message)) return message;
  const offset = Number(position[1]);
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - before.lastIndexOf("\n");
  return `${message.replace(/ in JSON at position \d+/, "").replace(/ at position \d+/, "")} at line ${line}, column ${column}`;
}

/** The most a pipe or FIFO is read (a regular file is read whole): far above any policy or events file. */
export const MAX_PIPE_BYTES = 256 * 1024 * 1024;

/**
 * A regular file, or a pipe or FIFO (`--policy <(jq … policy.json)`, `mkfifo`), read to its end; a pipe
 * is read at most `MAX_PIPE_BYTES`. A device (/dev/zero, a terminal) would be read without bound: refused.
 */
function readInput(path: string, where: string): string {
  const stat = statSync(path);
  if (stat.isFile()) return readFileSync(path, "utf8");
  if (!stat.isFIFO()) throw new InputError(`${where}: not a regular file or a pipe`);
  const descriptor = openSync(path, "r");
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    const chunk = Buffer.alloc(64 * 1024);
    for (;;) {
      let read: number;
      try {
        read = readSync(descriptor, chunk, 0, chunk.length, null);
      } catch (error) {
        // A pipe another process set non-blocking: wait for its writer.
        if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      if (read === 0) break;
      total += read;
      if (total > MAX_PIPE_BYTES) throw new InputError(`${where}: more than ${MAX_PIPE_BYTES / 1_048_576} MB from a pipe`);
      chunks.push(Buffer.from(chunk.subarray(0, read)));
    }
    return Buffer.concat(chunks).toString("utf8");
  } finally {
    closeSync(descriptor);
  }
}

/** A JSON file (or pipe) to a value; an unreadable file or bad JSON is an InputError naming `where`. */
export function readJsonFile(path: string, where: string): unknown {
  let text: string;
  try {
    text = readInput(path, where);
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`${where}: cannot read file: ${errorMessage(error)}`);
  }
  // Editors on Windows save UTF-8 with a byte-order mark; JSON.parse rejects it.
  return parseJsonText(text.startsWith("\uFEFF") ? text.slice(1) : text, where);
}
