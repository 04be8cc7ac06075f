import { kindOf, listOf, symbolClassOf, type KNode } from "./kusto.js";
import { QueryError } from "./errors.js";
import type { Expr, LiteralValue, ScalarType } from "./ir.js";
import { SCALAR_FUNCTIONS } from "./functions.js";
import { parseTimespan } from "./values.js";

/** Scalar expressions of the syntax tree → Expr, typed as the analyzer typed them. */

export function typeOf(node: KNode | null): ScalarType {
  const name = node?.ResultType?.Name ?? "unknown";
  if (name.startsWith("dynamic")) return "dynamic";
  switch (name) {
    case "string":
    case "long":
    case "int":
    case "real":
    case "decimal":
    case "bool":
    case "datetime":
    case "timespan":
    case "guid":
      return name;
    default:
      return "unknown";
  }
}

export function child(node: KNode, member: string): KNode {
  const value = node[member] as KNode | null | undefined;
  if (!value) throw new QueryError("ParserFailure", `expected ${member} in ${kindOf(node)}`, node.toString().trim(), node.TextStart);
  return value;
}

export function unsupported(node: KNode, what: string): QueryError {
  return new QueryError("InvalidQueryLanguage", `${what} is not supported by Resource Graph or not evaluated by this emulator`, node.toString().trim().slice(0, 80), node.TextStart);
}

/** The name a NameReference or NameDeclaration spells (brackets and quotes removed). */
export function simpleName(node: KNode): string {
  const name = node["SimpleName"];
  return typeof name === "string" ? name : node.toString().trim();
}

/** Operators written as a token between two operands, by the token's text. */
const BINARY = new Set([
  "==", "!=", "<>", "=~", "!~", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "and", "or",
  "has", "!has", "has_cs", "!has_cs", "hasprefix", "!hasprefix", "hasprefix_cs", "!hasprefix_cs",
  "hassuffix", "!hassuffix", "hassuffix_cs", "!hassuffix_cs", "contains", "!contains", "contains_cs",
  "!contains_cs", "startswith", "!startswith", "startswith_cs", "!startswith_cs", "endswith",
  "!endswith", "endswith_cs", "!endswith_cs", "matches regex",
]);

export function translateExpr(node: KNode): Expr {
  const kind = kindOf(node);
  switch (kind) {
    case "ParenthesizedExpression":
      return translateExpr(child(node, "Expression"));
    case "NameReference":
      return nameReference(node);
    case "PathExpression":
      return path(node);
    case "ElementExpression": {
      const selector = child(node, "Selector");
      const inner = kindOf(selector) === "BracketedExpression" ? child(selector, "Expression") : selector;
      const index = translateExpr(inner);
      if (index.k === "lit" && "string" in index.v) return { k: "member", base: translateExpr(child(node, "Expression")), key: index.v.string };
      return { k: "element", base: translateExpr(child(node, "Expression")), index };
    }
    case "UnaryMinusExpression":
      return { k: "neg", e: translateExpr(child(node, "Expression")), t: typeOf(node) };
    case "UnaryPlusExpression":
      return translateExpr(child(node, "Expression"));
    case "InExpression":
    case "NotInExpression":
    case "InCsExpression":
    case "NotInCsExpression":
    case "HasAnyExpression":
    case "HasAllExpression":
      return {
        k: "in",
        op: child(node, "Operator").Text.toLowerCase(),
        l: translateExpr(child(node, "Left")),
        items: listOf(child(child(node, "Right"), "Expressions")).map(translateExpr),
      };
    case "BetweenExpression":
    case "NotBetweenExpression": {
      const couple = child(node, "Right");
      return { k: "between", negated: kind === "NotBetweenExpression", l: translateExpr(child(node, "Left")), low: translateExpr(child(couple, "First")), high: translateExpr(child(couple, "Second")) };
    }
    case "FunctionCallExpression":
      return call(node);
    case "DynamicExpression":
      return { k: "lit", v: { dynamic: jsonOf(child(node, "Expression")) }, t: "dynamic" };
    default:
      if (kind.endsWith("LiteralExpression")) return literal(node, kind);
      if (node["Left"] !== undefined && node["Operator"] !== undefined && node["Right"] !== undefined) return binary(node);
      throw unsupported(node, `the expression ${kind}`);
  }
}

function nameReference(node: KNode): Expr {
  const name = simpleName(node);
  if (symbolClassOf(node.ReferencedSymbol) === "Column") return { k: "col", name: node.ReferencedSymbol?.Name ?? name, t: typeOf(node) };
  throw unsupported(node, `the name '${name}'`);
}

function path(node: KNode): Expr {
  const base = child(node, "Expression");
  const selector = child(node, "Selector");
  const baseName = kindOf(base) === "NameReference" ? simpleName(base) : "";
  if (baseName === "$left" || baseName === "$right") {
    return { k: "side", side: baseName === "$left" ? "left" : "right", name: simpleName(selector), t: typeOf(node) };
  }
  const key = kindOf(selector) === "BracketedExpression" ? stringOf(child(selector, "Expression")) : simpleName(selector);
  return { k: "member", base: translateExpr(base), key };
}

function stringOf(node: KNode): string {
  const value = translateExpr(node);
  if (value.k === "lit" && "string" in value.v) return value.v.string;
  throw unsupported(node, "a computed member name");
}

function binary(node: KNode): Expr {
  const op = child(node, "Operator").Text.toLowerCase().replace(/\s+/g, " ");
  if (!BINARY.has(op)) throw unsupported(node, `the operator '${op}'`);
  const left = child(node, "Left");
  const right = child(node, "Right");
  return { k: "binary", op: op === "<>" ? "!=" : op, l: translateExpr(left), r: translateExpr(right), lt: typeOf(left), rt: typeOf(right), t: typeOf(node) };
}

function call(node: KNode): Expr {
  const name = simpleName(child(node, "Name"));
  const args = listOf(child(child(node, "ArgumentList"), "Expressions"));
  if (!SCALAR_FUNCTIONS.has(name)) throw unsupported(node, `the function ${name}()`);
  return { k: "call", fn: name, args: args.map(translateExpr), argTypes: args.map(typeOf), t: typeOf(node) };
}

function literal(node: KNode, kind: string): Expr {
  const t = typeOf(node);
  const token = node.toString().trim();
  let value: LiteralValue;
  switch (kind) {
    case "StringLiteralExpression":
    case "CompoundStringLiteralExpression":
      value = { string: node["LiteralValue"] === null || node["LiteralValue"] === undefined ? "" : String(node["LiteralValue"]) };
      break;
    case "LongLiteralExpression":
    case "IntLiteralExpression":
    case "RealLiteralExpression":
    case "DecimalLiteralExpression":
      value = numberLiteral(token);
      break;
    case "BooleanLiteralExpression":
      value = { bool: /true/i.test(token) };
      break;
    case "NullLiteralExpression":
      value = { null: true };
      break;
    case "DateTimeLiteralExpression": {
      const inner = /^datetime\s*\(\s*(.*?)\s*\)$/i.exec(token)?.[1] ?? "";
      const ms = inner === "null" ? Number.NaN : Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(inner) || !/\d:\d/.test(inner) ? inner : `${inner}Z`);
      value = Number.isNaN(ms) ? { null: true } : { datetime: ms };
      break;
    }
    case "TimespanLiteralExpression": {
      const ms = parseTimespan(token.replace(/^(timespan|time)\s*\(\s*(.*?)\s*\)$/i, "$2"));
      if (ms === undefined) throw unsupported(node, `the timespan ${token}`);
      value = { timespan: ms };
      break;
    }
    default:
      throw unsupported(node, `the literal ${token}`);
  }
  return { k: "lit", v: value, t };
}

function numberLiteral(token: string): LiteralValue {
  const inner = token.replace(/^(long|int|real|double|decimal)\s*\(\s*(.*?)\s*\)$/i, "$2");
  const n = Number(inner);
  return Number.isNaN(n) ? { null: true } : { number: n };
}

/** A dynamic literal's JSON (objects, arrays, scalars). */
function jsonOf(node: KNode): unknown {
  const kind = kindOf(node);
  if (kind === "JsonObjectExpression") {
    const result: Record<string, unknown> = {};
    for (const pair of listOf(child(node, "Pairs"))) {
      const nameToken = child(pair, "Name");
      result[nameToken.ValueText ?? nameToken.Text] = jsonOf(child(pair, "Value"));
    }
    return result;
  }
  if (kind === "JsonArrayExpression") return listOf(child(node, "Values")).map(jsonOf);
  const value = translateExpr(node);
  if (value.k !== "lit") throw unsupported(node, "a computed value inside dynamic()");
  const v = value.v;
  if ("string" in v) return v.string;
  if ("number" in v) return v.number;
  if ("bool" in v) return v.bool;
  if ("datetime" in v) return new Date(v.datetime).toISOString();
  if ("timespan" in v) return v.timespan;
  return null;
}
