import { createHash, randomUUID } from "node:crypto";
import type { EstateStore } from "../store.js";
import { armError, json, withJsonBytes, type EmulatorRequest, type EmulatorResponse } from "../http.js";
import { compileQuery, lineAndColumn, QueryError, RESOURCE_GRAPH, type QueryResult, type Row } from "../kql/index.js";
import { AUTHORIZATION_SCOPE_FILTERS, ManagementGroupTree, type AuthorizationScopeFilter, type RequestScope } from "../resourceGraphScope.js";
import { scanFor } from "../resourceGraphTables.js";
import { SerializedRows } from "../serializedRows.js";

/**
 * POST /providers/Microsoft.ResourceGraph/resources: the query is executed (kql/), never answered by
 * name. Request and answer as azure-rest-api-specs resourcegraph 2022-10-01 defines them
 * (QueryRequest, QueryResponse; examples ResourcesFirstPageQuery.json, ResourcesNextPageQuery.json):
 * `$top` at most 1,000, `$skip`, `$skipToken` only when the result has an `id` column (Learn "Working
 * with large Azure resource data sets"), `resultTruncated` a string, `resultFormat` objectArray or table.
 */

const MAX_TOP = 1000;
const DEFAULT_TOP = 1000;
const MAX_CACHED_RESULTS = 16;

type ResultFormat = "objectArray" | "table";

interface CachedResult {
  generation: number;
  result: QueryResult;
  /** The rows' JSON per result format, made as pages are asked for (or all at once by serializeCached). */
  serialized: Partial<Record<ResultFormat, SerializedRows>>;
}

/** Stands for the page's rows in the envelope's JSON; only the last occurrence is the hole (see pageBytes). */
const ROWS_HOLE = "\u0000rows\u0000";
const ROWS_HOLE_JSON = JSON.stringify(ROWS_HOLE);

/**
 * Resource Graph's answer to a query it will not run: 400 BadRequest whose details name InvalidQuery
 * and what is wrong (the shape of real answers quoted in azure-powershell #13762 and grafana #35225).
 */
function invalidQuery(text: string, error: QueryError): EmulatorResponse {
  const where = error.position === undefined ? {} : lineAndColumn(text, error.position);
  const detail: Record<string, unknown> = { code: error.code, message: error.message, ...where };
  if (error.token !== undefined) detail["token"] = error.token;
  return {
    status: 400,
    body: {
      error: {
        code: "BadRequest",
        message: `Please provide below info when asking for support: timestamp = ${new Date().toISOString()}, correlationId = ${randomUUID()}.`,
        details: [{ code: "InvalidQuery", message: "Query is invalid. Please refer to the documentation for the Azure Resource Graph service and fix the error before retrying." }, detail],
      },
    },
  };
}

function stringList(value: unknown): string[] | undefined | "invalid" {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((entry) => typeof entry !== "string" || entry.trim() === "")) return "invalid";
  return value as string[];
}

export class ResourceGraphRoute {
  private readonly results = new Map<string, CachedResult>();

  constructor(private readonly store: EstateStore) {}

  handle(request: EmulatorRequest): EmulatorResponse {
    if (request.method !== "POST" || !request.path.endsWith("/providers/microsoft.resourcegraph/resources")) {
      return armError(404, "NotFound", `No route for ${request.method} ${request.url.pathname}`);
    }
    const body = request.body as { query?: unknown; subscriptions?: unknown; managementGroups?: unknown; options?: Record<string, unknown> | null; facets?: unknown } | null;
    if (!body || typeof body.query !== "string" || body.query.trim() === "") return armError(400, "BadRequest", "The request body must contain a query.");
    const text = body.query;
    const subscriptions = stringList(body.subscriptions);
    const managementGroups = stringList(body.managementGroups);
    if (subscriptions === "invalid" || managementGroups === "invalid") return armError(400, "BadRequest", "subscriptions and managementGroups must be arrays of non-empty strings.");
    if (subscriptions?.length && managementGroups?.length) return armError(400, "BadRequest", "Specify either subscriptions or managementGroups, not both.");
    if (Array.isArray(body.facets) && body.facets.length > 0) return armError(400, "BadRequest", "The emulator does not compute facets.");
    const options = body.options ?? {};
    const filter = (options["authorizationScopeFilter"] ?? "AtScopeAndBelow") as AuthorizationScopeFilter;
    if (!AUTHORIZATION_SCOPE_FILTERS.includes(filter)) {
      return armError(400, "BadRequest", `authorizationScopeFilter must be one of ${AUTHORIZATION_SCOPE_FILTERS.join(", ")}.`);
    }
    const top = options["$top"] === undefined ? DEFAULT_TOP : Number(options["$top"]);
    if (!Number.isInteger(top) || top < 1 || top > MAX_TOP) return armError(400, "BadRequest", `$top must be an integer between 1 and ${MAX_TOP}.`);
    const skip = options["$skip"] === undefined ? 0 : Number(options["$skip"]);
    if (!Number.isInteger(skip) || skip < 0) return armError(400, "BadRequest", "$skip must be a non-negative integer.");
    const format = options["resultFormat"] ?? "objectArray";
    if (format !== "objectArray" && format !== "table") return armError(400, "BadRequest", "resultFormat must be objectArray or table.");
    // No Resource Graph table lists federated identity credentials (they are read through ARM): a
    // query for them is refused loudly, so no code can come to rely on it.
    if (/federatedidentitycredentials/i.test(text)) {
      return invalidQuery(text, new QueryError("InvalidQuery", "federated identity credentials are not in any Resource Graph table; list them through ARM"));
    }

    const scope: RequestScope = subscriptions?.length
      ? { kind: "subscriptions", ids: new Set(subscriptions.map((id) => id.toLowerCase())) }
      : managementGroups?.length
        ? { kind: "managementGroups", names: new Set(managementGroups.map((name) => name.toLowerCase())) }
        : { kind: "tenant" };
    const identity = `${text}\u0000${JSON.stringify(scope.kind === "tenant" ? [] : [...(scope.kind === "subscriptions" ? scope.ids : scope.names)].sort())}\u0000${scope.kind}\u0000${filter}`;
    const fingerprint = createHash("sha256").update(identity).digest("base64url").slice(0, 16);
    const offset = options["$skipToken"] ? decodeSkipToken(options["$skipToken"], fingerprint) : skip;
    if (offset === undefined) return armError(400, "BadRequest", "The $skipToken is invalid for this query.");

    let cached: CachedResult;
    try {
      cached = this.resultOf(identity, text, scope, filter);
    } catch (error) {
      if (error instanceof QueryError) return invalidQuery(text, error);
      throw error;
    }
    const { result } = cached;
    const rows = result.rows;
    const page = rows.slice(offset, offset + top);
    const more = offset + top < rows.length;
    // Paging needs the id column; without it Resource Graph answers the first page and says the result was truncated.
    const pageable = result.columns.some((column) => column.name === "id");
    const columns = result.columns.map((column) => ({ name: column.name, type: column.type }));
    const tableRow = (row: Row): unknown[] => result.columns.map((column) => row[column.name] ?? null);
    const envelope = (data: unknown): Record<string, unknown> => ({
      totalRecords: rows.length,
      count: page.length,
      resultTruncated: more && !pageable ? "true" : "false",
      ...(more && pageable ? { $skipToken: encodeSkipToken(offset + top, fingerprint) } : {}),
      data,
      facets: [],
    });
    const response = envelope(format === "table" ? { columns, rows: page.map(tableRow) } : page);
    return json(
      200,
      withJsonBytes(response, () => {
        cached.serialized[format] ??= new SerializedRows(rows, format === "table" ? (row) => tableRow(row as Row) : undefined);
        return pageBytes(JSON.stringify(envelope(format === "table" ? { columns, rows: ROWS_HOLE } : ROWS_HOLE)), cached.serialized[format].slice(offset, offset + top));
      }),
    );
  }

  /** Serializes every row of the results cached for the current estate, as the client reads them (objectArray). */
  serializeCached(): void {
    for (const cached of this.results.values()) {
      if (cached.generation !== this.store.generation) continue;
      cached.serialized.objectArray ??= new SerializedRows(cached.result.rows);
      cached.serialized.objectArray.serializeAll();
    }
  }

  /** The whole result of a query for a scope, computed once per store generation. */
  private resultOf(identity: string, text: string, scope: RequestScope, filter: AuthorizationScopeFilter): CachedResult {
    const cached = this.results.get(identity);
    if (cached && cached.generation === this.store.generation) return cached;
    const compiled = compileQuery(text, RESOURCE_GRAPH);
    let result: QueryResult;
    try {
      result = compiled.run(scanFor(this.store, new ManagementGroupTree(this.store), scope, filter));
    } catch (error) {
      // A value the query cannot handle (an invalid regular expression, say) is the query's fault.
      throw error instanceof QueryError ? error : new QueryError("QueryExecutionFailure", error instanceof Error ? error.message : String(error));
    }
    this.results.delete(identity);
    if (this.results.size >= MAX_CACHED_RESULTS) this.results.delete(this.results.keys().next().value as string);
    const entry: CachedResult = { generation: this.store.generation, result, serialized: {} };
    this.results.set(identity, entry);
    return entry;
  }
}

/** The page's JSON in pieces: the envelope's, with the hole where its rows go replaced by `[` rows `]`. */
function pageBytes(envelope: string, rows: Buffer[]): Buffer[] {
  const at = envelope.lastIndexOf(ROWS_HOLE_JSON);
  return [Buffer.from(`${envelope.slice(0, at)}[`), ...rows, Buffer.from(`]${envelope.slice(at + ROWS_HOLE_JSON.length)}`)];
}

function encodeSkipToken(offset: number, fingerprint: string): string {
  return Buffer.from(JSON.stringify({ o: offset, q: fingerprint })).toString("base64");
}

function decodeSkipToken(token: unknown, fingerprint: string): number | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(String(token), "base64").toString("utf8")) as { o?: unknown; q?: unknown };
    return typeof parsed.o === "number" && Number.isInteger(parsed.o) && parsed.o >= 0 && parsed.q === fingerprint ? parsed.o : undefined;
  } catch {
    return undefined;
  }
}
