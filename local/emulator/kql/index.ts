import type { Query } from "./ir.js";
import { translate, type Dialect } from "./translate.js";
import { stageOf, type Row, type Sink } from "./operators.js";
import { QueryError } from "./errors.js";
import type { CallContext } from "./functions.js";
import { Timespan, formatDatetime } from "./values.js";
import { LOG_ANALYTICS_TABLES, RESOURCE_GRAPH_TABLES } from "./schema.js";
import { loadPlan, storePlan } from "./planCache.js";
import { hintsOf, type ScanHints } from "./hints.js";

export type { ScanHints } from "./hints.js";

export { QueryError, lineAndColumn } from "./errors.js";
export type { Row } from "./operators.js";

/** Feeds every row of a table (already narrowed to the request's scope) to `push`. */
export type Scan = (table: string, push: (row: Row) => void, hints?: ScanHints) => void;

export interface QueryResult {
  columns: Query["columns"];
  rows: Row[];
}

export interface CompiledQuery {
  readonly query: Query;
  run(scan: Scan, now?: Date): QueryResult;
}

export const RESOURCE_GRAPH: Dialect = { tables: RESOURCE_GRAPH_TABLES, defaultTable: "resources", resourceGraphLimits: true };
export const LOG_ANALYTICS: Dialect = { tables: LOG_ANALYTICS_TABLES, resourceGraphLimits: false };

/** Operators whose stage builds each row in the output's column order. */
const SHAPING = new Set(["project", "summarize", "count", "keep", "distinct", "join", "union"]);
const ORDER_KEEPING = new Set(["where", "sort", "top", "take"]);

function compile(query: Query): CompiledQuery {
  const context: CallContext = { now: new Date() };
  const plans = new Map<Query, Array<ReturnType<typeof stageOf>>>();
  const plan = (q: Query): Array<ReturnType<typeof stageOf>> => {
    let stages = plans.get(q);
    if (!stages) {
      stages = q.operators.map((op) => stageOf(op, context, q.table));
      plans.set(q, stages);
    }
    return stages;
  };
  const hints = new Map<Query, ScanHints>();
  const execute = (q: Query, scan: Scan): Row[] => {
    const rows: Row[] = [];
    let head: Sink = { push: (row) => void rows.push(row), end: () => undefined };
    const run = (sub: Query): Row[] => execute(sub, scan);
    const stages = plan(q);
    for (let index = stages.length - 1; index >= 0; index -= 1) head = (stages[index] as (typeof stages)[number])(head, run);
    let hinted = hints.get(q);
    if (!hinted) {
      hinted = hintsOf(q);
      hints.set(q, hinted);
    }
    scan(q.table, head.push, hinted);
    head.end();
    return rows;
  };
  // Datetime and timespan columns are sent as Kusto writes them; rows whose keys may be out of order are rebuilt.
  const timed = query.columns.filter((column) => column.type === "datetime" || column.type === "timespan").map((column) => column.name);
  const last = [...query.operators].reverse().find((op) => !ORDER_KEEPING.has(op.op));
  const shaped = last === undefined || SHAPING.has(last.op);
  const names = query.columns.map((column) => column.name);
  return {
    query,
    run(scan, now = new Date()) {
      context.now = now;
      let rows = execute(query, scan);
      if (!shaped || timed.length > 0) {
        rows = rows.map((row) => {
          const out: Row = {};
          for (const name of names) {
            const value = row[name];
            out[name] = value instanceof Date ? formatDatetime(value) : value instanceof Timespan ? value.toJSON() : (value ?? null);
          }
          return out;
        });
      }
      return { columns: query.columns, rows };
    },
  };
}

const MAX_CACHED = 500;
const cache = new Map<string, CompiledQuery | QueryError>();

/**
 * The query compiled once per text: parsed and analyzed by the Kusto language service, translated,
 * its operators compiled. A query that is refused stays refused (the same QueryError). Plans are kept
 * on disk too (planCache.ts); `fresh` parses anyway, so a test can check the text itself.
 */
export function compileQuery(text: string, dialect: Dialect, options: { fresh?: boolean } = {}): CompiledQuery {
  const key = `${dialect === RESOURCE_GRAPH ? "arg" : "la"}\u0000${text}`;
  let entry = options.fresh ? undefined : cache.get(key);
  if (!entry) {
    let plan = options.fresh ? undefined : loadPlan(key);
    if (!plan) {
      try {
        plan = translate(text, dialect);
      } catch (error) {
        if (!(error instanceof QueryError)) throw error;
        plan = error;
      }
      storePlan(key, plan);
    }
    entry = plan instanceof QueryError ? plan : compile(plan);
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(key, entry);
  }
  if (entry instanceof QueryError) throw entry;
  return entry;
}
