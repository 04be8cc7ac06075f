import type { EstateStore } from "../store.js";
import type { DirectoryEntry, Fault } from "../estate.js";
import { graphError, json, type EmulatorRequest, type EmulatorResponse } from "../http.js";
import { faultResponse } from "../faults.js";

const GUID = /^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$/i;
const MAX_IDS = 1000;
/** Learn "JSON batching": "JSON batch requests are currently limited to 20 individual requests." */
const MAX_BATCH = 20;
/** Learn "List group members": "The default and maximum page sizes are 100 and 999 group objects respectively." */
const DEFAULT_PAGE = 100;
const MAX_PAGE = 999;
const V1 = "/graph/v1.0";

/** Which injected fault (if any) fires for one request inside a `$batch` (each is answered and throttled on its own). */
export type ItemFaults = (path: string, method: string) => Fault | undefined;

/**
 * Microsoft Graph v1.0, the slice uami-guard calls: `directoryObjects/getByIds`; app role assignments on a resource
 * service principal (`appRoleAssignedTo`); directory role assignments and eligibility instances
 * (`roleManagement/directory/…`, `$expand=principal`); `groups/{id}/transitiveMembers`;
 * `servicePrincipals/{id}/transitiveMemberOf`; JSON `$batch`. Collections page with `@odata.nextLink` (`$skiptoken`).
 */
export class GraphRoute {
  constructor(
    private readonly store: EstateStore,
    private readonly itemFaults: ItemFaults = () => undefined,
  ) {}

  handle(request: EmulatorRequest): EmulatorResponse {
    const path = request.path;
    if (request.method === "POST" && path === `${V1}/directoryobjects/getbyids`) return this.getByIds(request);
    if (request.method === "POST" && path === `${V1}/$batch`) return this.batch(request);
    if (request.method !== "GET") return notFound(request);
    const original = request.url.pathname.replace(/\/+$/, "");
    let match = /^\/graph\/v1\.0\/serviceprincipals\(appid='([^']+)'\)\/approleassignedto$/i.exec(original);
    if (match) return this.appRoleAssignedTo(request, this.servicePrincipalByAppId(match[1] ?? ""));
    match = /^\/graph\/v1\.0\/serviceprincipals\/([^/]+)\/approleassignedto$/i.exec(original);
    if (match) return this.appRoleAssignedTo(request, this.servicePrincipal(match[1] ?? ""));
    if (path === `${V1}/rolemanagement/directory/roleassignments`) return this.directoryRoles(request, this.store.directoryRoleAssignments, false);
    if (path === `${V1}/rolemanagement/directory/roleeligibilityscheduleinstances`) return this.directoryRoles(request, this.store.directoryRoleEligibilities, true);
    match = /^\/graph\/v1\.0\/groups\/([^/]+)\/transitivemembers$/i.exec(original);
    if (match) return this.transitiveMembers(request, match[1] ?? "");
    match = /^\/graph\/v1\.0\/serviceprincipals\/([^/]+)\/transitivememberof$/i.exec(original);
    if (match) return this.transitiveMemberOf(request, match[1] ?? "");
    return notFound(request);
  }

  /** `POST /directoryObjects/getByIds`: ids that do not resolve are simply absent. */
  private getByIds(request: EmulatorRequest): EmulatorResponse {
    const body = request.body as { ids?: unknown; types?: unknown } | null;
    if (!body || !Array.isArray(body.ids)) return graphError(400, "Request_BadRequest", "The request body must contain 'ids'.");
    if (body.ids.length > MAX_IDS) {
      return graphError(400, "Request_BadRequest", `The number of ids in the request (${body.ids.length}) exceeds the limit of ${MAX_IDS}.`);
    }
    const invalid = body.ids.find((id) => typeof id !== "string" || !GUID.test(id));
    if (invalid !== undefined) return graphError(400, "Request_BadRequest", `Invalid object identifier '${String(invalid)}'.`);
    const types = Array.isArray(body.types) ? new Set((body.types as unknown[]).map((type) => String(type).toLowerCase())) : undefined;
    const value = (body.ids as string[]).flatMap((id) => {
      const entry = this.store.directoryObject(id);
      if (!entry) return [];
      return types && !types.has(kindOf(entry)) ? [] : [entry];
    });
    return json(200, { "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects", value });
  }

  private servicePrincipalByAppId(appId: string): DirectoryEntry | undefined {
    return [...this.store.directory.values()].find((entry) => kindOf(entry) === "serviceprincipal" && entry.appId?.toLowerCase() === appId.toLowerCase());
  }

  private servicePrincipal(id: string): DirectoryEntry | undefined {
    const entry = this.store.directory.get(id.toLowerCase());
    return entry && kindOf(entry) === "serviceprincipal" ? entry : undefined;
  }

  /** Learn "List appRoleAssignedTo": every app role assignment granted for this resource service principal. */
  private appRoleAssignedTo(request: EmulatorRequest, resource: DirectoryEntry | undefined): EmulatorResponse {
    if (!resource) return graphError(404, "Request_ResourceNotFound", `Resource '${request.url.pathname.split("/").slice(-2, -1)[0] ?? ""}' does not exist or one of its queried reference-property objects are not present.`);
    const value = this.store.appRoleAssignments
      .filter((assignment) => assignment.resourceId.toLowerCase() === resource.id.toLowerCase())
      .map((assignment) => {
        const principal = this.store.directoryObject(assignment.principalId);
        return {
          id: assignment.id,
          deletedDateTime: null,
          appRoleId: assignment.appRoleId,
          createdDateTime: assignment.createdDateTime ?? "2025-01-01T00:00:00Z",
          principalDisplayName: assignment.principalDisplayName ?? principal?.displayName ?? null,
          principalId: assignment.principalId,
          principalType: assignment.principalType ?? (principal ? typeName(principal) : "ServicePrincipal"),
          resourceDisplayName: resource.displayName ?? null,
          resourceId: resource.id,
        };
      });
    return page(request, value, "appRoleAssignments");
  }

  /** Learn "List unifiedRoleAssignments" / "List roleEligibilityScheduleInstances", with `$expand=principal`. */
  private directoryRoles(request: EmulatorRequest, grants: ReadonlyArray<{ id: string; principalId: string; roleDefinitionId: string; directoryScopeId: string }>, eligible: boolean): EmulatorResponse {
    const expand = (request.url.searchParams.get("$expand") ?? "").split(",").map((value) => value.trim().toLowerCase());
    const filter = request.url.searchParams.get("$filter");
    const principalFilter = filter ? /^principalId eq '([^']+)'$/i.exec(filter.trim())?.[1] : undefined;
    if (filter && !principalFilter) return graphError(400, "Request_UnsupportedQuery", `Unsupported or invalid query filter clause specified: '${filter}'.`);
    const value = grants
      .filter((grant) => !principalFilter || grant.principalId.toLowerCase() === principalFilter.toLowerCase())
      .map((grant) => {
        const principal = this.store.directoryObject(grant.principalId);
        return {
          id: grant.id,
          principalId: grant.principalId,
          roleDefinitionId: grant.roleDefinitionId,
          directoryScopeId: grant.directoryScopeId,
          appScopeId: null,
          ...(eligible ? { memberType: "Direct", startDateTime: "2025-01-01T00:00:00Z", endDateTime: null, roleEligibilityScheduleId: grant.id } : {}),
          ...(expand.includes("principal") ? { principal: principal ? pick(principal, ["id", "displayName", "appId", "servicePrincipalType"]) : null } : {}),
        };
      });
    return page(request, value, eligible ? "roleManagement/directory/roleEligibilityScheduleInstances" : "roleManagement/directory/roleAssignments");
  }

  /** Learn "List group transitive members": nested groups and their members; 404 for an id that is no group. */
  private transitiveMembers(request: EmulatorRequest, groupId: string): EmulatorResponse {
    const group = this.store.directoryObject(groupId);
    if (!group || kindOf(group) !== "group") return graphError(404, "Request_ResourceNotFound", `Resource '${groupId}' does not exist or one of its queried reference-property objects are not present.`);
    const select = selected(request);
    return page(request, this.store.transitiveMembers(groupId).map((member) => pick(member, select)), "directoryObjects");
  }

  /** Learn "servicePrincipal: List transitiveMemberOf". */
  private transitiveMemberOf(request: EmulatorRequest, id: string): EmulatorResponse {
    if (!this.servicePrincipal(id)) return graphError(404, "Request_ResourceNotFound", `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);
    const select = selected(request);
    return page(request, this.store.transitiveMemberOf(id).map((group) => pick(group, select)), "directoryObjects");
  }

  /** Learn "JSON batching": each request answered (and throttled) on its own; a response per request id. */
  private batch(request: EmulatorRequest): EmulatorResponse {
    const body = request.body as { requests?: unknown } | null;
    const requests = body?.requests;
    if (!Array.isArray(requests) || requests.length === 0) return graphError(400, "BadRequest", "Invalid batch payload format.");
    if (requests.length > MAX_BATCH) return graphError(400, "BadRequest", `Number of requests in batch exceeded maximum of ${MAX_BATCH}.`);
    const ids = new Set<string>();
    const responses = [];
    for (const raw of requests as Array<Record<string, unknown>>) {
      const id = typeof raw?.["id"] === "string" ? raw["id"] : undefined;
      const method = typeof raw?.["method"] === "string" ? raw["method"].toUpperCase() : undefined;
      const url = typeof raw?.["url"] === "string" ? raw["url"] : undefined;
      if (!id || !method || url === undefined || ids.has(id)) return graphError(400, "BadRequest", "Invalid batch payload format: every request needs a unique id, a method and a url.");
      ids.add(id);
      const inner = new URL(`${V1}${url.startsWith("/") ? "" : "/"}${url}`, request.url);
      const path = inner.pathname.toLowerCase().replace(/\/+$/, "");
      const fault = this.itemFaults(path, method);
      const answer =
        fault?.status !== undefined && !fault.afterApply
          ? faultResponse(fault, "graph")
          : method === "GET"
            ? this.handle({ method, url: inner, path, headers: {}, body: null, rawBody: Buffer.alloc(0) })
            : graphError(405, "Request_BadRequest", `The batch here answers GET requests only (got ${method}).`);
      responses.push({ id, status: answer.status, headers: { "content-type": "application/json", ...(answer.headers ?? {}) }, body: answer.body ?? null });
    }
    return json(200, { responses });
  }
}

function notFound(request: EmulatorRequest): EmulatorResponse {
  return graphError(404, "Request_ResourceNotFound", `Resource not found for the segment '${request.url.pathname}'.`);
}

function kindOf(entry: DirectoryEntry): string {
  return entry["@odata.type"].replace(/^#microsoft\.graph\./i, "").toLowerCase();
}

function typeName(entry: DirectoryEntry): string {
  const kind = kindOf(entry);
  return kind === "serviceprincipal" ? "ServicePrincipal" : kind === "group" ? "Group" : kind === "user" ? "User" : kind;
}

/** `$select` of a directory collection: `@odata.type` and `id` always come back. */
function selected(request: EmulatorRequest): string[] | undefined {
  const select = request.url.searchParams.get("$select");
  return select ? select.split(",").map((field) => field.trim()).filter(Boolean) : undefined;
}

function pick(entry: DirectoryEntry, fields: string[] | undefined): Record<string, unknown> {
  if (!fields) return { ...entry };
  const picked: Record<string, unknown> = { "@odata.type": entry["@odata.type"], id: entry.id };
  for (const field of fields) if (field in entry) picked[field] = (entry as Record<string, unknown>)[field];
  return picked;
}

/** A page of a Graph collection: `$top` (1–999, default 100) and an opaque `$skiptoken` in `@odata.nextLink`. */
function page(request: EmulatorRequest, items: unknown[], context: string): EmulatorResponse {
  const topText = request.url.searchParams.get("$top");
  const top = topText === null ? DEFAULT_PAGE : Number(topText);
  if (!Number.isInteger(top) || top < 1 || top > MAX_PAGE) return graphError(400, "Request_BadRequest", `Invalid page size specified: '${topText}'. Must be between 1 and ${MAX_PAGE} inclusive.`);
  const token = request.url.searchParams.get("$skiptoken");
  const offset = token === null ? 0 : decodeToken(token);
  if (offset === undefined) return graphError(400, "Request_BadRequest", "The specified page token value has expired and can no longer be included in your request.");
  const body: Record<string, unknown> = { "@odata.context": `https://graph.microsoft.com/v1.0/$metadata#${context}`, value: items.slice(offset, offset + top) };
  if (offset + top < items.length) {
    const next = new URL(request.url);
    next.searchParams.set("$skiptoken", Buffer.from(JSON.stringify({ o: offset + top })).toString("base64url"));
    body["@odata.nextLink"] = next.toString();
  }
  return json(200, body);
}

function decodeToken(token: string): number | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { o?: unknown };
    return typeof parsed.o === "number" && Number.isInteger(parsed.o) && parsed.o >= 0 ? parsed.o : undefined;
  } catch {
    return undefined;
  }
}
