import type { Expr, LiteralValue, ScalarType } from "./ir.js";
import { LAZY_FUNCTIONS, scalarFunction, kustoRegex, type CallContext } from "./functions.js";
import { Timespan, isNull, orderOf, toBool, toDate, toNumber, toStr, valuesEqual, type Value } from "./values.js";

/** A compiled scalar expression: one row in, one value out. */
export type Getter = (row: Record<string, unknown>) => Value;

const INTEGER_TYPES = new Set<ScalarType>(["long", "int"]);

export function literalValue(value: LiteralValue): Value {
  if ("string" in value) return value.string;
  if ("number" in value) return value.number;
  if ("bool" in value) return value.bool;
  if ("datetime" in value) return new Date(value.datetime);
  if ("timespan" in value) return new Timespan(value.timespan);
  if ("dynamic" in value) return value.dynamic;
  return null;
}

function member(base: Value, key: string): Value {
  if (base === null || typeof base !== "object" || Array.isArray(base) || base instanceof Date || base instanceof Timespan) return null;
  return Object.hasOwn(base, key) ? ((base as Record<string, unknown>)[key] ?? null) : null;
}

function element(base: Value, index: Value): Value {
  if (Array.isArray(base)) {
    const n = toNumber(index);
    if (n === null || !Number.isInteger(n)) return null;
    return base[n < 0 ? base.length + n : n] ?? null;
  }
  return typeof index === "string" ? member(base, index) : null;
}

const isWordChar = (char: string | undefined): boolean => char !== undefined && /[\p{L}\p{N}]/u.test(char);

/** Learn "has operator": the needle is a whole term (or run of terms) of the text, case-insensitively unless _cs. */
function hasTerm(text: string, needle: string, mode: "whole" | "prefix" | "suffix"): boolean {
  if (needle === "") return true;
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
    const startsTerm = !isWordChar(needle[0]) || !isWordChar(text[at - 1]);
    const endsTerm = !isWordChar(needle[needle.length - 1]) || !isWordChar(text[at + needle.length]);
    if (mode === "whole" && startsTerm && endsTerm) return true;
    if (mode === "prefix" && startsTerm) return true;
    if (mode === "suffix" && endsTerm) return true;
  }
  return false;
}

type StringTest = (text: string, needle: string) => boolean;

const STRING_OPERATORS: Record<string, StringTest> = {
  has: (t, n) => hasTerm(t, n, "whole"),
  hasprefix: (t, n) => hasTerm(t, n, "prefix"),
  hassuffix: (t, n) => hasTerm(t, n, "suffix"),
  contains: (t, n) => t.includes(n),
  startswith: (t, n) => t.startsWith(n),
  endswith: (t, n) => t.endsWith(n),
};

function stringOperator(op: string, l: Getter, r: Getter): Getter | undefined {
  const negated = op.startsWith("!");
  const bare = negated ? op.slice(1) : op;
  const caseSensitive = bare.endsWith("_cs");
  const test = STRING_OPERATORS[caseSensitive ? bare.slice(0, -3) : bare];
  if (!test) return undefined;
  const fold = caseSensitive ? (text: string) => text : (text: string) => text.toLowerCase();
  return (row) => test(fold(toStr(l(row))), fold(toStr(r(row)))) !== negated;
}

function and(a: Value, b: Value): Value {
  if (a === false || b === false) return false;
  return a === true && b === true ? true : null;
}

function or(a: Value, b: Value): Value {
  if (a === true || b === true) return true;
  return a === false && b === false ? false : null;
}

function arithmetic(op: string, a: Value, b: Value, integers: boolean): Value {
  if (isNull(a) || isNull(b)) return null;
  if (a instanceof Date) {
    if (op === "-" && (b instanceof Date || typeof b === "string")) {
      const other = toDate(b);
      return other ? new Timespan(a.getTime() - other.getTime()) : null;
    }
    if (b instanceof Timespan && (op === "+" || op === "-")) return new Date(a.getTime() + (op === "+" ? b.ms : -b.ms));
    return null;
  }
  if (a instanceof Timespan && b instanceof Date && op === "+") return new Date(b.getTime() + a.ms);
  if (a instanceof Timespan || b instanceof Timespan) {
    const x = toNumber(a);
    const y = toNumber(b);
    if (x === null || y === null) return null;
    const value = op === "+" ? x + y : op === "-" ? x - y : op === "*" ? x * y : op === "/" ? (b instanceof Timespan ? x / y : x / y) : x % y;
    return op === "/" && b instanceof Timespan ? value : new Timespan(value);
  }
  const x = toNumber(a);
  const y = toNumber(b);
  if (x === null || y === null) return null;
  switch (op) {
    case "+": return x + y;
    case "-": return x - y;
    case "*": return x * y;
    case "/": return y === 0 ? null : integers ? Math.trunc(x / y) : x / y;
    default: return y === 0 ? null : x % y;
  }
}

function comparison(op: string, a: Value, b: Value): Value {
  switch (op) {
    case "==": return valuesEqual(a, b);
    case "!=": return ((equal) => (equal === null ? null : !equal))(valuesEqual(a, b));
    case "=~": return toStr(a).toLowerCase() === toStr(b).toLowerCase();
    case "!~": return toStr(a).toLowerCase() !== toStr(b).toLowerCase();
    default: {
      const order = orderOf(a, b);
      if (order === null) return null;
      return op === "<" ? order < 0 : op === "<=" ? order <= 0 : op === ">" ? order > 0 : order >= 0;
    }
  }
}

function inOperator(e: Extract<Expr, { k: "in" }>, context: CallContext): Getter {
  const left = compileExpr(e.l, context);
  const items = e.items.map((item) => compileExpr(item, context));
  const op = e.op;
  const listOf = (row: Record<string, unknown>): Value[] => items.flatMap((item) => ((value) => (Array.isArray(value) ? value : [value]))(item(row)));
  if (op === "has_any" || op === "has_all") {
    return (row) => {
      const text = toStr(left(row)).toLowerCase();
      const terms = listOf(row).map((value) => toStr(value).toLowerCase());
      return op === "has_any" ? terms.some((term) => hasTerm(text, term, "whole")) : terms.every((term) => hasTerm(text, term, "whole"));
    };
  }
  const negated = op.startsWith("!");
  const insensitive = op.endsWith("~");
  // A list of literals is a set built once.
  const literals = e.items.every((item) => item.k === "lit") ? listOf({}) : undefined;
  const stringLeft = "t" in e.l && e.l.t === "string";
  if (literals && (stringLeft || insensitive)) {
    const set = new Set(literals.map((value) => (insensitive ? toStr(value).toLowerCase() : toStr(value))));
    return (row) => set.has(insensitive ? toStr(left(row)).toLowerCase() : toStr(left(row))) !== negated;
  }
  return (row) => {
    const value = left(row);
    const found = listOf(row).some((item) => (insensitive ? toStr(item).toLowerCase() === toStr(value).toLowerCase() : valuesEqual(value, item) === true));
    return found !== negated;
  };
}

function call(e: Extract<Expr, { k: "call" }>, context: CallContext): Getter {
  const args = e.args.map((arg) => compileExpr(arg, context));
  if (LAZY_FUNCTIONS.has(e.fn)) {
    if (e.fn === "coalesce") {
      return (row) => {
        for (const arg of args) {
          const value = arg(row);
          if (!isNull(value) && value !== "") return value;
        }
        return e.t === "string" ? "" : null;
      };
    }
    // iff(c, a, b), case(c1, v1, …, else)
    return (row) => {
      for (let index = 0; index + 1 < args.length; index += 2) {
        if (toBool((args[index] as Getter)(row)) === true) return (args[index + 1] as Getter)(row);
      }
      return (args[args.length - 1] as Getter)(row);
    };
  }
  const fn = scalarFunction(e.fn);
  if (!fn) throw new Error(`no scalar function ${e.fn}`);
  const types = e.argTypes;
  if (args.length === 1) {
    const [only] = args as [Getter];
    return (row) => fn([only(row)], types, context);
  }
  return (row) => fn(args.map((arg) => arg(row)), types, context);
}

export function compileExpr(e: Expr, context: CallContext): Getter {
  switch (e.k) {
    case "lit": {
      const value = literalValue(e.v);
      return () => value;
    }
    case "col": {
      const name = e.name;
      return (row) => row[name] ?? null;
    }
    case "side":
      throw new Error("$left/$right outside a join condition");
    case "member": {
      const base = compileExpr(e.base, context);
      const key = e.key;
      return (row) => member(base(row), key);
    }
    case "element": {
      const base = compileExpr(e.base, context);
      const index = compileExpr(e.index, context);
      return (row) => element(base(row), index(row));
    }
    case "neg": {
      const inner = compileExpr(e.e, context);
      return (row) => ((value) => (value instanceof Timespan ? new Timespan(-value.ms) : ((n) => (n === null ? null : -n))(toNumber(value))))(inner(row));
    }
    case "between": {
      const value = compileExpr(e.l, context);
      const low = compileExpr(e.low, context);
      const high = compileExpr(e.high, context);
      return (row) => {
        const v = value(row);
        const lower = orderOf(v, low(row));
        const upper = orderOf(v, high(row));
        if (lower === null || upper === null) return null;
        return (lower >= 0 && upper <= 0) !== e.negated;
      };
    }
    case "in":
      return inOperator(e, context);
    case "call":
      return call(e, context);
    case "binary": {
      const l = compileExpr(e.l, context);
      const r = compileExpr(e.r, context);
      const op = e.op;
      if (op === "and") return (row) => and(l(row), r(row));
      if (op === "or") return (row) => or(l(row), r(row));
      if (op === "matches regex") {
        const literal = e.r.k === "lit" ? kustoRegex(toStr(literalValue(e.r.v))) : undefined;
        return (row) => (literal ?? kustoRegex(toStr(r(row)))).test(toStr(l(row)));
      }
      const text = stringOperator(op, l, r);
      if (text) return text;
      if (op === "+" || op === "-" || op === "*" || op === "/" || op === "%") {
        const integers = INTEGER_TYPES.has(e.lt) && INTEGER_TYPES.has(e.rt);
        return (row) => arithmetic(op, l(row), r(row), integers);
      }
      // The common `column == 'literal'` on a string column: no conversions needed.
      if ((op === "==" || op === "!=") && e.lt === "string" && e.rt === "string") {
        const negated = op === "!=";
        return (row) => (toStr(l(row)) === toStr(r(row))) !== negated;
      }
      if ((op === "=~" || op === "!~") && e.r.k === "lit") {
        const needle = toStr(literalValue(e.r.v)).toLowerCase();
        const negated = op === "!~";
        return (row) => (toStr(l(row)).toLowerCase() === needle) !== negated;
      }
      return (row) => comparison(op, l(row), r(row));
    }
  }
}
