import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import type { Query } from "./ir.js";
import { QueryError } from "./errors.js";

/**
 * Plans on disk, so a process that serves only queries seen before never loads the language service
 * (loading it and analyzing a first query costs ~2 s of CPU; every test file and CLI run starts an
 * emulator). An entry is the plan the language service and translate.ts made from that exact text,
 * under a fingerprint of this directory's code, the schema and the language service's version: any
 * change to them is a new fingerprint, never a stale plan. Set UAMI_GUARD_KQL_CACHE=off to always parse.
 */

type Entry = { query: Query } | { error: { code: string; message: string; token?: string; position?: number } };

let directory: string | undefined | null;

function cacheDirectory(): string | undefined {
  if (directory !== undefined) return directory ?? undefined;
  directory = null;
  if ((process.env["UAMI_GUARD_KQL_CACHE"] ?? "").toLowerCase() === "off") return undefined;
  try {
    const here = dirname(fileURLToPath(import.meta.url));
    const hash = createHash("sha256");
    for (const file of readdirSync(here).filter((name) => /\.(js|ts)$/.test(name)).sort()) hash.update(file).update(readFileSync(join(here, file)));
    const require = createRequire(import.meta.url);
    hash.update(String((require("@kusto/language-service-next/package.json") as { version?: string }).version));
    directory = join(tmpdir(), "uami-guard-kql", hash.digest("hex").slice(0, 16));
    mkdirSync(directory, { recursive: true });
  } catch {
    directory = null;
  }
  return directory ?? undefined;
}

function fileFor(key: string): string | undefined {
  const dir = cacheDirectory();
  return dir ? join(dir, `${createHash("sha256").update(key).digest("hex")}.json`) : undefined;
}

/** The plan stored for this key: a Query, a QueryError to throw, or undefined. */
export function loadPlan(key: string): Query | QueryError | undefined {
  const file = fileFor(key);
  if (!file) return undefined;
  let entry: Entry;
  try {
    entry = JSON.parse(readFileSync(file, "utf8")) as Entry;
  } catch {
    return undefined;
  }
  if ("query" in entry) return entry.query;
  return new QueryError(entry.error.code, entry.error.message, entry.error.token, entry.error.position);
}

export function storePlan(key: string, plan: Query | QueryError): void {
  const file = fileFor(key);
  if (!file) return;
  const entry: Entry =
    plan instanceof QueryError
      ? { error: { code: plan.code, message: plan.message, ...(plan.token !== undefined ? { token: plan.token } : {}), ...(plan.position !== undefined ? { position: plan.position } : {}) } }
      : { query: plan };
  try {
    // Written whole, then renamed: a reader in another process never sees half a plan.
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(entry));
    renameSync(temporary, file);
  } catch {
    // A cache that cannot be written only costs the next process a parse.
  }
}
