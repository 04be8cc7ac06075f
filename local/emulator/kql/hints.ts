import type { Expr, Operator, Query } from "./ir.js";
import { literalValue } from "./expressions.js";
import { toStr } from "./values.js";

/**
 * What a table scan may skip for this query (index.ts ScanHints): the types its leading `where` admits
 * (`type =~ 'x'`, `type == 'x'`, `type in~ (…)`, conjoined with `and`), and — when an operator later
 * shapes the output (project, summarize, distinct, count, project-away) — the columns read until then.
 * Each `where` still runs on every row it gets: a hint only spares rows and columns no answer can hold.
 */

/**
 * What a query can do without: rows of other types than its first `where` keeps (`types`, lower case),
 * and columns it never reads before it shapes its output (`columns`). A scan may honour them or not.
 */
export interface ScanHints {
  types?: ReadonlySet<string>;
  columns?: string[];
}

function typesOf(condition: Expr): Set<string> | undefined {
  if (condition.k === "binary" && condition.op === "and") {
    const left = typesOf(condition.l);
    const right = typesOf(condition.r);
    if (left && right) return new Set([...left].filter((type) => right.has(type)));
    return left ?? right;
  }
  const isType = (e: Expr): boolean => e.k === "col" && e.name === "type";
  if (condition.k === "binary" && (condition.op === "=~" || condition.op === "==") && isType(condition.l) && condition.r.k === "lit") {
    return new Set([toStr(literalValue(condition.r.v)).toLowerCase()]);
  }
  if (condition.k === "in" && (condition.op === "in" || condition.op === "in~") && isType(condition.l) && condition.items.every((item) => item.k === "lit")) {
    const values = condition.items.flatMap((item) => {
      const value = item.k === "lit" ? literalValue(item.v) : null;
      return Array.isArray(value) ? value : [value];
    });
    return new Set(values.map((value) => toStr(value).toLowerCase()));
  }
  return undefined;
}

function columnsIn(e: Expr, into: Set<string>): void {
  switch (e.k) {
    case "col":
      into.add(e.name);
      return;
    case "lit":
    case "side":
      return;
    case "member":
      columnsIn(e.base, into);
      return;
    case "element":
      columnsIn(e.base, into);
      columnsIn(e.index, into);
      return;
    case "binary":
      columnsIn(e.l, into);
      columnsIn(e.r, into);
      return;
    case "in":
      columnsIn(e.l, into);
      for (const item of e.items) columnsIn(item, into);
      return;
    case "between":
      columnsIn(e.l, into);
      columnsIn(e.low, into);
      columnsIn(e.high, into);
      return;
    case "neg":
      columnsIn(e.e, into);
      return;
    case "call":
      for (const arg of e.args) columnsIn(arg, into);
      return;
  }
}

/** The columns an operator reads; "shapes" when its output no longer carries the input's other columns. */
function reads(op: Operator, into: Set<string>): "continue" | "shapes" | "needs all" {
  switch (op.op) {
    case "where":
      columnsIn(op.condition, into);
      return "continue";
    case "extend":
    case "mvExpand":
      for (const column of op.columns) columnsIn(column.e, into);
      return "continue";
    case "sort":
      for (const key of op.keys) columnsIn(key.e, into);
      return "continue";
    case "top":
      columnsIn(op.key.e, into);
      return "continue";
    case "take":
      return "continue";
    case "project":
    case "distinct":
      for (const column of op.columns) columnsIn(column.e, into);
      return "shapes";
    case "summarize":
      for (const column of op.by) columnsIn(column.e, into);
      for (const aggregate of op.aggregates) {
        for (const arg of aggregate.args) columnsIn(arg, into);
        for (const field of aggregate.fields ?? []) columnsIn(field.e, into);
      }
      return "shapes";
    case "count":
      return "shapes";
    case "keep":
      for (const name of op.names) into.add(name);
      return "shapes";
    case "rename":
    case "join":
    case "union":
      return "needs all";
  }
}

export function hintsOf(query: Query): ScanHints {
  const hints: ScanHints = {};
  const [first] = query.operators;
  if (first?.op === "where") {
    const types = typesOf(first.condition);
    if (types) hints.types = types;
  }
  const columns = new Set<string>();
  for (const op of query.operators) {
    const verdict = reads(op, columns);
    if (verdict === "needs all") return hints;
    if (verdict === "shapes") return { ...hints, columns: [...columns] };
  }
  return hints;
}
