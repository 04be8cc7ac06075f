import type { EstateStore } from "../store.js";
import { armError, json, type EmulatorRequest, type EmulatorResponse } from "../http.js";

type Row = Record<string, unknown>;
type Projection = (store: EstateStore) => Row[];

const IDENTITY_TYPE = "microsoft.managedidentity/userassignedidentities";

function subscriptionOf(id: string): string {
  return /^\/subscriptions\/([^/]+)/i.exec(id)?.[1] ?? "";
}
function resourceGroupOf(id: string): string {
  return /\/resourcegroups\/([^/]+)/i.exec(id)?.[1] ?? "";
}
function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/**
 * Answers the project's queries by their tag comment with the projection the real KQL returns
 * (shared/azure/queries.ts). The emulator cannot run KQL; the tag is the contract.
 */
const PROJECTIONS: Record<string, Projection> = {
  identities: (store) =>
    [...store.resources.values()]
      .filter((resource) => resource.type.toLowerCase() === IDENTITY_TYPE)
      .map((resource) => ({
        id: resource.id,
        name: resource.name,
        type: resource.type,
        subscriptionId: subscriptionOf(resource.id),
        resourceGroup: resourceGroupOf(resource.id),
        location: resource.location ?? "",
        tags: resource.tags ?? {},
        principalId: text(resource.properties?.["principalId"]),
        clientId: text(resource.properties?.["clientId"]),
        tenantId: text(resource.properties?.["tenantId"]),
      })),
  attachments: (store) =>
    [...store.resources.values()]
      .filter((resource) => resource.identity?.userAssignedIdentities != null)
      .map((resource) => ({
        id: resource.id,
        name: resource.name,
        type: resource.type,
        subscriptionId: subscriptionOf(resource.id),
        resourceGroup: resourceGroupOf(resource.id),
        tags: resource.tags ?? {},
        identityType: resource.identity?.type ?? "",
        userAssignedIdentities: resource.identity?.userAssignedIdentities ?? {},
      })),
  "role-assignments": (store) =>
    [...store.roleAssignments.values()].map((assignment) => ({
      id: assignment.id,
      scope: assignment.properties.scope,
      roleDefinitionId: assignment.properties.roleDefinitionId,
      principalId: assignment.properties.principalId,
      principalType: assignment.properties.principalType ?? "",
      createdOn: assignment.properties.createdOn ?? "",
      condition: assignment.properties.condition ?? "",
    })),
  "role-definitions": (store) =>
    [...store.roleDefinitions.values()].map((definition) => ({
      id: definition.id,
      name: definition.name,
      roleName: definition.properties.roleName,
      roleType: definition.properties.type ?? "CustomRole",
      // Resource Graph's casing (Microsoft's sample query reads permissionsList.Actions / .DataActions;
      // MicrosoftDocs/azure-docs articles/governance/includes/resource-graph/query/authorization-resources-role-definitions-actions-list.md),
      // not ARM's `actions`: the emulator answers each API as that API does.
      permissions: definition.properties.permissions.map((permission) => ({
        Actions: permission.actions,
        NotActions: permission.notActions,
        DataActions: permission.dataActions,
        NotDataActions: permission.notDataActions,
      })),
    })),
  subscriptions: (store) =>
    store.subscriptions.map((subscription) => ({
      id: `/subscriptions/${subscription.subscriptionId}`,
      subscriptionId: subscription.subscriptionId,
      name: subscription.displayName ?? subscription.subscriptionId,
      managementGroupAncestorsChain: subscription.managementGroupAncestorsChain ?? [],
    })),
};

interface CachedResult {
  generation: number;
  rows: Row[];
}

const MAX_TOP = 1000;

export class ResourceGraphRoute {
  private readonly cache = new Map<string, CachedResult>();

  constructor(private readonly store: EstateStore) {}

  handle(request: EmulatorRequest): EmulatorResponse {
    if (request.method !== "POST" || !request.path.endsWith("/providers/microsoft.resourcegraph/resources")) {
      return armError(404, "NotFound", `No route for ${request.method} ${request.url.pathname}`);
    }
    const body = request.body as { query?: unknown; subscriptions?: unknown; options?: Record<string, unknown> } | null;
    if (!body || typeof body.query !== "string") return armError(400, "BadRequest", "The request body must contain a query.");
    // No Resource Graph table lists federated identity credentials (they are read through ARM); a
    // query for them would come back empty from Azure, so the emulator refuses it loudly instead.
    if (/federatedidentitycredentials/i.test(body.query)) {
      return armError(400, "InvalidQuery", "Query is invalid: federated identity credentials are not in Resource Graph; list them through ARM.");
    }
    const tag = /^\s*\/\/\s*uami-guard:([a-z0-9-]+)/.exec(body.query)?.[1];
    if (tag === "role-assignment-count") return this.count(body.subscriptions);
    const projection = tag ? PROJECTIONS[tag] : undefined;
    if (!tag || !projection) {
      return armError(400, "InvalidQuery", `Query is invalid: the emulator answers tagged queries only (got tag '${tag ?? "none"}').`);
    }
    const options = body.options ?? {};
    const top = options["$top"] === undefined ? 100 : Number(options["$top"]);
    if (!Number.isInteger(top) || top < 1 || top > MAX_TOP) {
      return armError(400, "BadRequest", `Please provide below info when asking for support: $top must be between 1 and ${MAX_TOP}.`);
    }
    const offset = decodeSkipToken(options["$skipToken"]);
    if (offset === undefined) return armError(400, "BadRequest", "The $skipToken is invalid.");
    const subscriptions = Array.isArray(body.subscriptions) ? (body.subscriptions as unknown[]).map(String) : [];
    const rows = this.rows(tag, projection, subscriptions);
    const page = rows.slice(offset, offset + top);
    const next = offset + top < rows.length ? encodeSkipToken(offset + top) : undefined;
    const response: Record<string, unknown> = {
      totalRecords: rows.length,
      count: page.length,
      resultTruncated: "false",
      data: page,
      facets: [],
    };
    if (next) response["$skipToken"] = next;
    return json(200, response);
  }

  /** `summarize count_ = count()` over the role assignments: one row, no paging. */
  private count(subscriptions: unknown): EmulatorResponse {
    const wanted = Array.isArray(subscriptions) ? subscriptions.map(String) : [];
    const rows = this.rows("role-assignments", PROJECTIONS["role-assignments"] as Projection, wanted);
    return json(200, { totalRecords: 1, count: 1, resultTruncated: "false", data: [{ count_: rows.length }], facets: [] });
  }

  private rows(tag: string, projection: Projection, subscriptions: string[]): Row[] {
    const key = `${tag}|${subscriptions.map((s) => s.toLowerCase()).sort().join(",")}`;
    const cached = this.cache.get(key);
    if (cached && cached.generation === this.store.generation) return cached.rows;
    const wanted = new Set(subscriptions.map((s) => s.toLowerCase()));
    // Sorted by the lower-cased id, computed once per row rather than twice per comparison (a million
    // rows take ~20 comparisons each).
    const keyed = projection(this.store)
      .filter((row) => {
        if (wanted.size === 0) return true;
        const subscription = subscriptionOf(String(row["id"])).toLowerCase();
        // Tenant-level rows (built-in role definitions, management-group scopes) are outside any subscription.
        return subscription === "" ? tag === "role-definitions" : wanted.has(subscription);
      })
      .map((row) => ({ sortKey: String(row["id"]).toLowerCase(), row }));
    keyed.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
    const rows = keyed.map((entry) => entry.row);
    this.cache.set(key, { generation: this.store.generation, rows });
    return rows;
  }
}

function encodeSkipToken(offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset })).toString("base64");
}

function decodeSkipToken(token: unknown): number | undefined {
  if (token === undefined || token === null || token === "") return 0;
  try {
    const parsed = JSON.parse(Buffer.from(String(token), "base64").toString("utf8")) as { o?: unknown };
    return typeof parsed.o === "number" && Number.isInteger(parsed.o) && parsed.o >= 0 ? parsed.o : undefined;
  } catch {
    return undefined;
  }
}
