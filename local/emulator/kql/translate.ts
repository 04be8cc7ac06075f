import { analyze, columnsOf, kindOf, listOf, symbolClassOf, type KNode } from "./kusto.js";
import { QueryError } from "./errors.js";
import type { Aggregate, Expr, NamedExpr, Operator, Query, ScalarType, SortKey } from "./ir.js";
import { tableNamed, type TableSchema } from "./schema.js";
import { AGGREGATE_FUNCTIONS } from "./aggregates.js";
import { child, simpleName, translateExpr, typeOf, unsupported } from "./translateExpr.js";

/**
 * A query's text → the emulator's plan (ir.ts), or a QueryError saying why Resource Graph would refuse
 * it. Parsing, name binding and typing are the Kusto language service's; this file decides what the
 * emulator runs and enforces Resource Graph's limits (Learn "Understanding the Azure Resource Graph
 * query language", "Supported tabular/top level operators": join flavors innerunique, inner,
 * leftouter (and fullouter), at most 3 joins of which 1 cross-table unless all are between Resources
 * and ResourceContainers, no custom join strategies; mv-expand RowLimit default 128, max 400, at most
 * 3 per query; union of single tables, at most 3 legs).
 */

export interface Dialect {
  tables: readonly TableSchema[];
  /** Resource Graph: a query may start with an operator, on the default table. */
  defaultTable?: string;
  /** Resource Graph's operator limits. */
  resourceGraphLimits: boolean;
}

const JOIN_KINDS = new Set(["innerunique", "inner", "leftouter", "fullouter"]);
const MAX_JOINS = 3;
const MAX_MV_EXPANDS = 3;
const MAX_UNION_LEGS = 3;
const MV_EXPAND_DEFAULT_LIMIT = 128;
const MV_EXPAND_MAX_LIMIT = 400;
const STARTS_WITH_OPERATOR = /^\s*(where|project|project-away|project-keep|project-rename|extend|summarize|order|sort|top|take|limit|distinct|count|mv-expand|join|union)\b/;

interface Counters {
  joins: number;
  crossTableJoins: Array<[string, string]>;
  mvExpands: number;
  unionLegs: number;
}

export function translate(text: string, dialect: Dialect): Query {
  const prefix = dialect.defaultTable && STARTS_WITH_OPERATOR.test(text) ? `${dialect.defaultTable}\n| ` : "";
  const { syntax, diagnostics } = analyze(prefix + text, dialect.tables);
  const error = diagnostics.find((diagnostic) => diagnostic.Severity === "Error");
  if (error) {
    const position = error.HasLocation ? Math.max(0, error.Start - prefix.length) : undefined;
    const token = error.HasLocation ? (prefix + text).slice(error.Start, Math.max(error.End, error.Start + 1)) : undefined;
    const syntaxError = /^KS0\d\d$/.test(error.Code);
    throw new QueryError(syntaxError ? "ParserFailure" : error.Code, error.Message, token, position);
  }
  if (listOf(syntax["Directives"]).length > 0) throw unsupported(syntax, "a query directive");
  const statements = listOf(syntax["Statements"]);
  const [statement] = statements;
  if (statements.length !== 1 || !statement || kindOf(statement) !== "ExpressionStatement") {
    throw unsupported(statement ?? syntax, "a statement other than one tabular expression (let, set, declare)");
  }
  const counters: Counters = { joins: 0, crossTableJoins: [], mvExpands: 0, unionLegs: 0 };
  const query = tabular(child(statement, "Expression"), dialect, counters);
  if (dialect.resourceGraphLimits) checkLimits(counters, statement);
  return query;
}

function checkLimits(counters: Counters, node: KNode): void {
  if (counters.joins > MAX_JOINS) throw new QueryError("InvalidQueryLanguage", `at most ${MAX_JOINS} join operators are allowed in a query (found ${counters.joins})`, "join", node.TextStart);
  const betweenResourcesAndContainers = counters.crossTableJoins.every(([a, b]) => new Set([a, b]).size === 2 && [a, b].every((table) => table === "resources" || table === "resourcecontainers"));
  if (counters.crossTableJoins.length > 1 && !betweenResourcesAndContainers) {
    throw new QueryError("InvalidQueryLanguage", "only one cross-table join is allowed unless every cross-table join is between Resources and ResourceContainers", "join", node.TextStart);
  }
  if (counters.mvExpands > MAX_MV_EXPANDS) throw new QueryError("InvalidQueryLanguage", `at most ${MAX_MV_EXPANDS} mv-expand operators are allowed in a query`, "mv-expand", node.TextStart);
  if (counters.unionLegs > MAX_UNION_LEGS) throw new QueryError("InvalidQueryLanguage", `at most ${MAX_UNION_LEGS} union legs are allowed in a query`, "union", node.TextStart);
}

function tabular(node: KNode, dialect: Dialect, counters: Counters): Query {
  const kind = kindOf(node);
  if (kind === "ParenthesizedExpression") return tabular(child(node, "Expression"), dialect, counters);
  if (kind === "NameReference") {
    const table = symbolClassOf(node.ReferencedSymbol) === "Table" ? tableNamed(dialect.tables, simpleName(node)) : undefined;
    if (!table) throw unsupported(node, `the table '${simpleName(node)}'`);
    return { table: table.names[0] ?? "", operators: [], columns: columnsOf(node.ResultType).map(column) };
  }
  if (kind !== "PipeExpression") throw unsupported(node, `the tabular expression ${kind}`);
  const input = tabular(child(node, "Expression"), dialect, counters);
  const output = columnsOf(node.ResultType).map(column);
  const operator = translateOperator(child(node, "Operator"), input, output, dialect, counters);
  return { table: input.table, operators: [...input.operators, operator], columns: output };
}

function column(entry: { name: string; type: string }): { name: string; type: ScalarType } {
  return { name: entry.name, type: typeOf({ ResultType: { Name: entry.type } } as unknown as KNode) };
}

function translateOperator(node: KNode, input: Query, output: Query["columns"], dialect: Dialect, counters: Counters): Operator {
  const kind = kindOf(node);
  const names = output.map((entry) => entry.name);
  const inputNames = new Set(input.columns.map((entry) => entry.name));
  switch (kind) {
    case "FilterOperator":
      return { op: "where", condition: translateExpr(child(node, "Condition")) };
    case "ProjectOperator":
      return { op: "project", columns: named(listOf(node["Expressions"]), names) };
    case "ExtendOperator": {
      const fresh = names.filter((name) => !inputNames.has(name));
      return { op: "extend", columns: namedFrom(listOf(node["Expressions"]), fresh) };
    }
    case "ProjectAwayOperator":
    case "ProjectKeepOperator":
      return { op: "keep", names };
    case "ProjectRenameOperator":
      return {
        op: "rename",
        pairs: listOf(node["Expressions"]).map((entry) => ({ to: simpleName(child(entry, "Name")), from: simpleName(child(entry, "Expression")) })),
      };
    case "SummarizeOperator":
      return summarize(node, names);
    case "SortOperator":
      return { op: "sort", keys: listOf(node["Expressions"]).map(sortKey) };
    case "TopOperator":
      rejectParameters(node);
      return { op: "top", count: constantCount(child(node, "Expression")), key: sortKey(child(node, "ByExpression")) };
    case "TakeOperator":
      rejectParameters(node);
      return { op: "take", count: constantCount(child(node, "Expression")) };
    case "DistinctOperator":
      rejectParameters(node);
      return { op: "distinct", columns: distinctColumns(node, input, names) };
    case "CountOperator":
      return { op: "count", name: names[0] ?? "Count" };
    case "MvExpandOperator":
      counters.mvExpands += 1;
      return mvExpand(node, names, inputNames, dialect);
    case "JoinOperator":
      return join(node, input, names, dialect, counters);
    case "UnionOperator":
      return union(node, input, names, dialect, counters);
    default:
      throw unsupported(node, `the ${node.toString().trim().split(/\s/)[0] ?? kind} operator`);
  }
}

function rejectParameters(node: KNode): void {
  const [parameter] = listOf(node["Parameters"]);
  if (parameter) throw unsupported(parameter, `the operator parameter ${parameter.toString().trim()}`);
}

/** Each expression with its output column name (the analyzer's, position by position). */
function named(expressions: KNode[], names: string[]): NamedExpr[] {
  return expressions.map((expression, index) => {
    const inner = kindOf(expression) === "SimpleNamedExpression" ? child(expression, "Expression") : expression;
    return { name: names[index] ?? `Column${index + 1}`, e: translateExpr(inner) };
  });
}

/** extend: a named expression keeps its name; the unnamed ones take the new column names, in order. */
function namedFrom(expressions: KNode[], fresh: string[]): NamedExpr[] {
  let next = 0;
  return expressions.map((expression) => {
    if (kindOf(expression) === "SimpleNamedExpression") {
      const name = simpleName(child(expression, "Name"));
      if (fresh[next] === name) next += 1;
      return { name, e: translateExpr(child(expression, "Expression")) };
    }
    if (kindOf(expression) === "CompoundNamedExpression") throw unsupported(expression, "a tuple assignment");
    const name = fresh[next] ?? `Column${next + 1}`;
    next += 1;
    return { name, e: translateExpr(expression) };
  });
}

const ARG_EXTREMES = new Set(["arg_max", "arg_min"]);

function summarize(node: KNode, names: string[]): Operator {
  rejectParameters(node);
  const byClause = node["ByClause"] as KNode | null;
  if (byClause?.["BinClause"]) throw unsupported(byClause, "summarize's bin= clause");
  const byExpressions = byClause ? listOf(byClause["Expressions"]) : [];
  const by = named(byExpressions, names);
  const entries = listOf(node["Aggregates"]);
  // Each aggregate takes one output column, arg_max/arg_min one per field (all the rest for `*`).
  let next = byExpressions.length;
  const aggregates: Aggregate[] = entries.map((entry, index) => {
    const call = kindOf(entry) === "SimpleNamedExpression" ? child(entry, "Expression") : entry;
    const fn = kindOf(call) === "FunctionCallExpression" ? simpleName(child(call, "Name")) : "";
    if (!AGGREGATE_FUNCTIONS.has(fn)) throw unsupported(call, `the aggregate ${fn ? `${fn}()` : call.toString().trim()}`);
    const args = listOf(child(child(call, "ArgumentList"), "Expressions"));
    if (!ARG_EXTREMES.has(fn)) {
      const name = names[next] ?? fn;
      next += 1;
      return { name, fn, args: args.map(translateExpr), argTypes: args.map(typeOf), t: typeOf(call) };
    }
    const [value, ...fields] = args;
    if (!value) throw unsupported(call, `${fn}() without arguments`);
    const star = fields.length === 1 && kindOf(fields[0] as KNode) === "StarExpression";
    const later = entries.length - index - 1;
    const span = star ? names.length - next - later : 1 + fields.length;
    const outputs = names.slice(next, next + span);
    next += span;
    const fieldExprs = star ? outputs.slice(1).map((name) => ({ k: "col" as const, name, t: "unknown" as const })) : fields.map(translateExpr);
    return { name: outputs[0] ?? fn, fn, args: [translateExpr(value)], argTypes: [typeOf(value)], t: typeOf(call), fields: fieldExprs.map((e, position) => ({ name: outputs[position + 1] ?? `field${position}`, e })) };
  });
  return { op: "summarize", by, aggregates };
}

function sortKey(node: KNode): SortKey {
  const ordered = kindOf(node) === "OrderedExpression";
  const expression = ordered ? child(node, "Expression") : node;
  const ordering = ordered ? (node["Ordering"] as KNode | null) : null;
  const direction = (ordering?.["AscOrDescKeyword"] as KNode | null)?.Text?.toLowerCase();
  const nulls = ((ordering?.["NullsClause"] as KNode | null)?.["FirstOrLastKeyword"] as KNode | null)?.Text?.toLowerCase();
  // Kusto sorts descending unless told otherwise; nulls come first ascending and last descending.
  const descending = direction !== "asc";
  return { e: translateExpr(expression), descending, nullsFirst: nulls ? nulls === "first" : !descending };
}

function constantCount(node: KNode): number {
  const value = translateExpr(node);
  if (value.k === "lit" && "number" in value.v && Number.isInteger(value.v.number) && value.v.number >= 0) return value.v.number;
  throw unsupported(node, "a row count that is not a non-negative integer literal");
}

function distinctColumns(node: KNode, input: Query, names: string[]): NamedExpr[] {
  const expressions = listOf(node["Expressions"]);
  if (expressions.length === 1 && kindOf(expressions[0] as KNode) === "StarExpression") {
    return input.columns.map((entry) => ({ name: entry.name, e: { k: "col", name: entry.name, t: entry.type } }));
  }
  return named(expressions, names);
}

function mvExpand(node: KNode, names: string[], inputNames: Set<string>, dialect: Dialect): Operator {
  let itemIndex: string | undefined;
  for (const parameter of listOf(node["Parameters"])) {
    const name = simpleName(child(parameter, "Name")).toLowerCase();
    const value = child(parameter, "Expression").toString().trim();
    if (name === "with_itemindex") itemIndex = value;
    else if ((name === "kind" || name === "bagexpansion") && value.toLowerCase() === "bag") continue;
    else throw unsupported(parameter, `the mv-expand parameter ${parameter.toString().trim()}`);
  }
  const limitClause = node["RowLimitClause"] as KNode | null;
  const limit = limitClause ? constantCount(child(limitClause, "RowLimit")) : dialect.resourceGraphLimits ? MV_EXPAND_DEFAULT_LIMIT : Number.MAX_SAFE_INTEGER;
  if (dialect.resourceGraphLimits && limit > MV_EXPAND_MAX_LIMIT) {
    throw new QueryError("InvalidQueryLanguage", `mv-expand's RowLimit is at most ${MV_EXPAND_MAX_LIMIT} in Resource Graph (got ${limit})`, "limit", limitClause?.TextStart);
  }
  const fresh = names.filter((name) => !inputNames.has(name) && name !== itemIndex);
  let next = 0;
  const columns = listOf(node["Expressions"]).map((entry) => {
    if (entry["ToTypeOf"]) throw unsupported(entry, "mv-expand's to typeof()");
    const expression = child(entry, "Expression");
    if (kindOf(expression) === "SimpleNamedExpression") {
      const name = simpleName(child(expression, "Name"));
      if (fresh[next] === name) next += 1;
      return { name, e: translateExpr(child(expression, "Expression")) };
    }
    if (kindOf(expression) === "NameReference") return { name: simpleName(expression), e: translateExpr(expression) };
    const name = fresh[next] ?? `Column${next + 1}`;
    next += 1;
    return { name, e: translateExpr(expression) };
  });
  return itemIndex ? { op: "mvExpand", columns, limit, itemIndex } : { op: "mvExpand", columns, limit };
}

function join(node: KNode, input: Query, names: string[], dialect: Dialect, counters: Counters): Operator {
  counters.joins += 1;
  let kind = "innerunique";
  for (const parameter of listOf(node["Parameters"])) {
    const name = simpleName(child(parameter, "Name")).toLowerCase();
    if (name !== "kind") throw unsupported(parameter, `the join parameter ${parameter.toString().trim()} (custom join strategies are not allowed)`);
    kind = child(parameter, "Expression").toString().trim().toLowerCase();
  }
  if (!JOIN_KINDS.has(kind)) throw unsupported(node, `join kind=${kind}`);
  const right = tabular(child(node, "Expression"), dialect, counters);
  if (right.table !== input.table) counters.crossTableJoins.push([input.table, right.table]);
  const clause = child(node, "ConditionClause");
  if (kindOf(clause) !== "JoinOnClause") throw unsupported(clause, "join ... where");
  const on = listOf(clause["Expressions"]).flatMap((expression) => joinKeys(expression));
  const leftCount = input.columns.length;
  if (names.length !== leftCount + right.columns.length) throw unsupported(node, "this join's output");
  const output = names.map((name, index) =>
    index < leftCount
      ? { name, side: "left" as const, from: input.columns[index]?.name ?? name }
      : { name, side: "right" as const, from: right.columns[index - leftCount]?.name ?? name },
  );
  return { op: "join", kind, right, on, output };
}

function joinKeys(node: KNode): Array<{ left: Expr; right: Expr }> {
  const kind = kindOf(node);
  if (kind === "AndExpression") return [...joinKeys(child(node, "Left")), ...joinKeys(child(node, "Right"))];
  if (kind === "NameReference") {
    const name = simpleName(node);
    return [{ left: { k: "col", name, t: typeOf(node) }, right: { k: "col", name, t: typeOf(node) } }];
  }
  if (kind === "EqualExpression") {
    const a = translateExpr(child(node, "Left"));
    const b = translateExpr(child(node, "Right"));
    if (a.k === "side" && b.k === "side" && a.side !== b.side) {
      const [left, right] = a.side === "left" ? [a, b] : [b, a];
      return [{ left: { k: "col", name: left.name, t: left.t }, right: { k: "col", name: right.name, t: right.t } }];
    }
  }
  throw unsupported(node, "this join condition (use col or $left.a == $right.b)");
}

function union(node: KNode, input: Query, names: string[], dialect: Dialect, counters: Counters): Operator {
  let withSource: string | undefined;
  for (const parameter of listOf(node["Parameters"])) {
    const name = simpleName(child(parameter, "Name")).toLowerCase();
    const value = child(parameter, "Expression").toString().trim();
    if (name === "withsource") withSource = value;
    else if (name !== "kind" || !/^(inner|outer)$/i.test(value)) throw unsupported(parameter, `the union parameter ${parameter.toString().trim()}`);
  }
  const legs = listOf(node["Expressions"]).map((leg) => tabular(leg, dialect, counters));
  counters.unionLegs += legs.length + 1;
  void input;
  return withSource ? { op: "union", legs, withSource, output: names } : { op: "union", legs, output: names };
}
