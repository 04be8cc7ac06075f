import { createRequire } from "node:module";
import type { TableSchema } from "./schema.js";

/**
 * Microsoft's Kusto language service (`@kusto/language-service-next`, the JavaScript build of
 * Kusto.Language, compiled by Bridge.NET). It defines the globals `Bridge`, `System` and `Kusto`, so
 * it is loaded once, on first use, and only by the emulator. The shapes below are the few members
 * the emulator reads; the package's own .d.ts (1.7 MB) is not pulled into the type check.
 */

/** A syntax node or token (Kusto.Language.Syntax.SyntaxElement). */
export interface KNode {
  Kind: number;
  IsToken: boolean;
  Text: string;
  ValueText: string;
  TextStart: number;
  ChildCount: number;
  GetChild(index: number): KNode | null;
  ResultType: KSymbol | null;
  ReferencedSymbol: KSymbol | null;
  LiteralValue: unknown;
  toString(): string;
  [member: string]: unknown;
}

export interface KSymbol {
  Name: string;
  Kind: number;
  Columns?: unknown;
  [member: string]: unknown;
}

export interface KColumn {
  Name: string;
  Type: { Name: string };
}

export interface KDiagnostic {
  Code: string;
  Severity: string;
  Message: string;
  Start: number;
  End: number;
  HasLocation: boolean;
}

export interface KCode {
  Syntax: KNode;
  GetDiagnostics(): unknown;
}

interface KustoGlobals {
  Kusto: {
    Language: {
      GlobalState: { Default: { WithDatabase(database: unknown): unknown } };
      KustoCode: { ParseAndAnalyze(text: string, globals: unknown): KCode };
      Symbols: {
        ColumnSymbol: new (name: string, type: unknown, description: null, originalColumns: null, source: null, examples: null) => unknown;
        TableSymbol: { $ctor4: new (name: string, columns: unknown[]) => unknown };
        DatabaseSymbol: { ctor: new (name: string, members: unknown[]) => unknown };
        ScalarTypes: Record<string, unknown>;
      };
      Syntax: { SyntaxKind: unknown };
    };
  };
  System: { Enum: { getName(enumType: unknown, value: number): string } };
  Bridge: { toArray<T>(enumerable: unknown): T[]; getTypeName(value: unknown): string };
}

let loaded: KustoGlobals | undefined;

function kusto(): KustoGlobals {
  if (!loaded) {
    const require = createRequire(import.meta.url);
    require("@kusto/language-service-next/bridge.min.js");
    require("@kusto/language-service-next/Kusto.Language.Bridge.min.js");
    loaded = globalThis as unknown as KustoGlobals;
  }
  return loaded;
}

const SCALAR_TYPES: Record<string, string> = {
  string: "String",
  long: "Long",
  int: "Int",
  real: "Real",
  bool: "Bool",
  datetime: "DateTime",
  timespan: "TimeSpan",
  dynamic: "Dynamic",
  guid: "Guid",
};

const globalsBySchema = new WeakMap<readonly TableSchema[], unknown>();

/** The language service's globals with one database holding these tables (each under every name it answers to). */
function globalsFor(tables: readonly TableSchema[]): unknown {
  let globals = globalsBySchema.get(tables);
  if (globals) return globals;
  const { Kusto } = kusto();
  const { Symbols } = Kusto.Language;
  const symbols = tables.flatMap((table) => {
    const columns = table.columns.map(([name, type]) => {
      const scalar = Symbols.ScalarTypes[SCALAR_TYPES[type] ?? ""];
      if (!scalar) throw new Error(`schema: column ${table.names[0]}.${name} has unknown type ${type}`);
      return new Symbols.ColumnSymbol(name, scalar, null, null, null, null);
    });
    return table.names.map((name) => new Symbols.TableSymbol.$ctor4(name, columns));
  });
  globals = Kusto.Language.GlobalState.Default.WithDatabase(new Symbols.DatabaseSymbol.ctor("emulator", symbols));
  globalsBySchema.set(tables, globals);
  return globals;
}

/** Parses and analyzes `text` against the tables: the syntax tree and every diagnostic the service reports. */
export function analyze(text: string, tables: readonly TableSchema[]): { syntax: KNode; diagnostics: KDiagnostic[] } {
  const { Kusto, Bridge } = kusto();
  const code = Kusto.Language.KustoCode.ParseAndAnalyze(text, globalsFor(tables));
  return { syntax: code.Syntax, diagnostics: Bridge.toArray<KDiagnostic>(code.GetDiagnostics()) };
}

/** The SyntaxKind name of a node or token ("FilterOperator", "EqualTildeExpression", …). */
export function kindOf(node: KNode): string {
  const { Kusto, System } = kusto();
  return System.Enum.getName(Kusto.Language.Syntax.SyntaxKind, node.Kind);
}

/** What a name refers to: "Column", "Table", "Function", "Tuple", … (the symbol's class without "Symbol"). */
export function symbolClassOf(symbol: KSymbol | null): string {
  if (!symbol) return "";
  return kusto().Bridge.getTypeName(symbol).replace(/^Kusto\.Language\.Symbols\./, "").replace(/Symbol$/, "");
}

/** Every element of a SyntaxList (unwrapping SeparatedElement). */
export function listOf(list: unknown): KNode[] {
  if (!list) return [];
  const node = list as KNode;
  const items: KNode[] = [];
  for (let index = 0; index < node.ChildCount; index += 1) {
    const child = node.GetChild(index);
    if (!child) continue;
    const element = kindOf(child) === "SeparatedElement" ? (child["Element"] as KNode | null) : child;
    if (element) items.push(element);
  }
  return items;
}

/** The columns of a tabular result type, as the analyzer names and types them. */
export function columnsOf(symbol: KSymbol | null): Array<{ name: string; type: string }> {
  if (!symbol?.Columns) return [];
  return kusto().Bridge.toArray<KColumn>(symbol.Columns).map((column) => ({ name: column.Name, type: column.Type.Name }));
}
