/**
 * The emulator's own form of a parsed query: what translate.ts builds from the Kusto language
 * service's syntax tree (with the analyzer's types and result column names) and evaluate.ts runs.
 * Plain data only.
 */

/** Scalar types as the analyzer names them ("dynamic" for every dynamic subtype). */
export type ScalarType = "string" | "long" | "int" | "real" | "decimal" | "bool" | "datetime" | "timespan" | "dynamic" | "guid" | "unknown";

export type Expr =
  | { k: "lit"; v: LiteralValue; t: ScalarType }
  | { k: "col"; name: string; t: ScalarType }
  /** A column of one side of a join (`$left.x`, `$right.y`). */
  | { k: "side"; side: "left" | "right"; name: string; t: ScalarType }
  /** Member of a dynamic value: `properties.x`, `tags['owner']`. */
  | { k: "member"; base: Expr; key: string }
  /** `value[expression]`: a string selects a member, a number an array element. */
  | { k: "element"; base: Expr; index: Expr }
  | { k: "binary"; op: string; l: Expr; r: Expr; lt: ScalarType; rt: ScalarType; t: ScalarType }
  | { k: "in"; op: string; l: Expr; items: Expr[] }
  | { k: "between"; negated: boolean; l: Expr; low: Expr; high: Expr }
  | { k: "neg"; e: Expr; t: ScalarType }
  | { k: "call"; fn: string; args: Expr[]; argTypes: ScalarType[]; t: ScalarType };

/** Literal values in plain data: datetimes as epoch ms, timespans as ms, dynamic literals as JSON. */
export type LiteralValue =
  | { string: string }
  | { number: number }
  | { bool: boolean }
  | { datetime: number }
  | { timespan: number }
  | { dynamic: unknown }
  | { null: true };

export interface NamedExpr {
  name: string;
  e: Expr;
}

export interface Aggregate {
  name: string;
  fn: string;
  args: Expr[];
  argTypes: ScalarType[];
  t: ScalarType;
  /** arg_max/arg_min: the other columns, read from the row that holds the extreme. */
  fields?: NamedExpr[];
}

export interface SortKey {
  e: Expr;
  descending: boolean;
  nullsFirst: boolean;
}

export type Operator =
  | { op: "where"; condition: Expr }
  | { op: "project"; columns: NamedExpr[] }
  | { op: "extend"; columns: NamedExpr[] }
  | { op: "keep"; names: string[] }
  | { op: "rename"; pairs: Array<{ to: string; from: string }> }
  | { op: "mvExpand"; columns: NamedExpr[]; limit: number; itemIndex?: string }
  | { op: "summarize"; by: NamedExpr[]; aggregates: Aggregate[] }
  | { op: "sort"; keys: SortKey[] }
  | { op: "top"; count: number; key: SortKey }
  | { op: "take"; count: number }
  | { op: "distinct"; columns: NamedExpr[] }
  | { op: "count"; name: string }
  | { op: "join"; kind: string; right: Query; on: Array<{ left: Expr; right: Expr }>; output: Array<{ name: string; side: "left" | "right"; from: string }> }
  | { op: "union"; legs: Query[]; withSource?: string; output: string[] };

export interface Query {
  /** Canonical name of the table the query starts from. */
  table: string;
  operators: Operator[];
  /** The result's columns, in order, as the analyzer names and types them. */
  columns: Array<{ name: string; type: ScalarType }>;
}
