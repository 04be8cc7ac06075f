import type { AzureClients } from "./clients.js";
import { INHERITING_QUERIES, QUERIES, type QueryName } from "./queries.js";
import { queryPages, type ResourceGraphRow } from "./resourceGraph.js";
import type {
  AksCluster,
  AttachedResource,
  Identity,
  RoleAssignment,
  RoleDefinition,
  Subscription,
  Tags,
} from "../model.js";
import { resourceGroupOf, resourceTypeOf, subscriptionOf } from "../model.js";
import { toRolePermissions } from "./rolePermissions.js";

/** Reads the estate through Resource Graph and turns rows into the plain snapshot types. */
export interface ReadOptions {
  subscriptions?: string[];
  signal?: AbortSignal;
  /** Called after every page with the rows of that page (progress on stderr). */
  onPage?: (query: QueryName, rows: number) => void;
}

/**
 * Equal strings parsed from different rows are separate copies. A sweep holds a few hundred thousand
 * identities and attached resources whose subscription, resource group, type, location, tags and
 * identity references repeat, so reads keep one copy of each such value (and one frozen object per
 * distinct tag set). Reads that run at the same time on the same clients share a pool — a sweep reads
 * identities and attachments together, and attachments name identities — and the pool is dropped
 * when the last of them ends: nothing is kept between sweeps.
 */
export class StringPool {
  private readonly strings = new Map<string, string>();
  private readonly tagSets = new Map<string, Tags>();

  /** `value`, or the equal string this pool has already handed out. */
  of(value: string): string {
    const pooled = this.strings.get(value);
    if (pooled !== undefined) return pooled;
    this.strings.set(value, value);
    return value;
  }

  private readonly typeSpellings = new Map<string, string>();

  /**
   * A resource type as ARM spells it in the id (Resource Graph's `type` column is lower case), worked
   * out once per type: every attached resource of a sweep passes through here.
   */
  typeOf(rowType: string, id: string): string {
    if (rowType === "") return this.of(resourceTypeOf(id) ?? "");
    const known = this.typeSpellings.get(rowType);
    if (known !== undefined) return known;
    const fromId = resourceTypeOf(id);
    const spelled = this.of(fromId && fromId.toLowerCase() === rowType.toLowerCase() ? fromId : rowType);
    this.typeSpellings.set(rowType, spelled);
    return spelled;
  }

  /** The tags of a row as a frozen object shared by every row with the same tags. */
  tags(value: unknown): Tags {
    if (!value || typeof value !== "object") return NO_TAGS;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return NO_TAGS;
    let key = "";
    for (const [name, tagValue] of entries) key += `${name}\u0000${str(tagValue)}\u0001`;
    const shared = this.tagSets.get(key);
    if (shared) return shared;
    const tags: Tags = {};
    for (const [name, tagValue] of entries) tags[this.of(name)] = this.of(str(tagValue));
    Object.freeze(tags);
    // Tag sets unique to one resource (timestamps, ticket numbers) would only grow the pool.
    if (this.tagSets.size < MAX_SHARED_TAG_SETS) this.tagSets.set(key, tags);
    return tags;
  }
}

const MAX_SHARED_TAG_SETS = 10_000;
const NO_TAGS: Tags = Object.freeze({});

const activePools = new WeakMap<AzureClients, { pool: StringPool; reads: number }>();

function joinPool(clients: AzureClients): { pool: StringPool; leave: () => void } {
  let active = activePools.get(clients);
  if (!active) {
    active = { pool: new StringPool(), reads: 0 };
    activePools.set(clients, active);
  }
  active.reads += 1;
  const joined = active;
  return {
    pool: joined.pool,
    leave: () => {
      joined.reads -= 1;
      if (joined.reads === 0 && activePools.get(clients) === joined) activePools.delete(clients);
    },
  };
}

async function* rowsOf<T>(
  clients: AzureClients,
  name: QueryName,
  map: (row: ResourceGraphRow, pool: StringPool) => T | undefined,
  options: ReadOptions,
): AsyncGenerator<T[]> {
  const { pool, leave } = joinPool(clients);
  try {
    const narrowed = (options.subscriptions?.length ?? 0) > 0;
    const pages = queryPages(clients.resourceGraph, clients.resourceGraphPacer, {
      query: QUERIES[name],
      subscriptions: options.subscriptions,
      signal: options.signal,
      // Grants at the management groups above and the root reach into the subscriptions asked for.
      ...(narrowed && INHERITING_QUERIES.has(name) ? { authorizationScopeFilter: "AtScopeAboveAndBelow" as const } : {}),
    });
    for await (const page of pages) {
      options.onPage?.(name, page.length);
      const mapped: T[] = [];
      for (const row of page) {
        const value = map(row, pool);
        if (value !== undefined) mapped.push(value);
      }
      yield mapped;
    }
  } finally {
    leave();
  }
}

async function collect<T>(pages: AsyncIterable<T[]>): Promise<T[]> {
  const all: T[] = [];
  for await (const page of pages) for (const item of page) all.push(item);
  return all;
}

const str = (value: unknown): string => (typeof value === "string" ? value : value == null ? "" : String(value));

export function toIdentity(row: ResourceGraphRow, pool = new StringPool()): Identity | undefined {
  const id = str(row["id"]);
  if (!id) return undefined;
  return {
    // Attachments name it too.
    id: pool.of(id),
    name: str(row["name"]),
    // From the id, as ARM spells it: Resource Graph answers resourceGroup in lower case.
    subscriptionId: pool.of(subscriptionOf(id) ?? str(row["subscriptionId"])),
    resourceGroup: pool.of(resourceGroupOf(id) ?? str(row["resourceGroup"])),
    location: pool.of(str(row["location"])),
    tags: pool.tags(row["tags"]),
    principalId: str(row["principalId"]),
    clientId: str(row["clientId"]),
    tenantId: pool.of(str(row["tenantId"])),
  };
}

export function toAttachedResource(row: ResourceGraphRow, pool = new StringPool()): AttachedResource | undefined {
  const id = str(row["id"]);
  const assigned = row["userAssignedIdentities"];
  if (!id || !assigned || typeof assigned !== "object") return undefined;
  // An identity is usually attached to several resources: its id is kept once.
  const userAssignedIdentityIds = Object.keys(assigned as Record<string, unknown>).map((identityId) => pool.of(identityId));
  if (userAssignedIdentityIds.length === 0) return undefined;
  return {
    id,
    name: str(row["name"]),
    // Resource Graph answers `type` and `resourceGroup` in lower case; the id keeps ARM's spelling.
    type: pool.typeOf(str(row["type"]), id),
    subscriptionId: pool.of(subscriptionOf(id) ?? str(row["subscriptionId"])),
    resourceGroup: pool.of(resourceGroupOf(id) ?? str(row["resourceGroup"])),
    tags: pool.tags(row["tags"]),
    identityType: pool.of(str(row["identityType"])),
    userAssignedIdentityIds,
  };
}

export function toRoleAssignment(row: ResourceGraphRow): RoleAssignment | undefined {
  const id = str(row["id"]);
  const principalId = str(row["principalId"]);
  if (!id || !principalId) return undefined;
  const createdOn = str(row["createdOn"]);
  const assignment: RoleAssignment = {
    id,
    scope: str(row["scope"]),
    roleDefinitionId: str(row["roleDefinitionId"]),
    principalId,
    principalType: str(row["principalType"]),
  };
  if (createdOn) assignment.createdOn = createdOn;
  const condition = str(row["condition"]);
  if (condition) {
    assignment.condition = condition;
    const conditionVersion = str(row["conditionVersion"]);
    if (conditionVersion) assignment.conditionVersion = conditionVersion;
  }
  return assignment;
}

export function toAksCluster(row: ResourceGraphRow): AksCluster | undefined {
  const id = str(row["id"]);
  const issuerUrl = str(row["issuerUrl"]);
  return id && issuerUrl ? { id, issuerUrl } : undefined;
}

export function toRoleDefinition(row: ResourceGraphRow): RoleDefinition | undefined {
  const id = str(row["id"]);
  if (!id) return undefined;
  return {
    id,
    name: (str(row["name"]) || id.slice(id.lastIndexOf("/") + 1)).toLowerCase(),
    roleName: str(row["roleName"]),
    roleType: str(row["roleType"]),
    permissions: toRolePermissions(row["permissions"]),
  };
}

export function toSubscription(row: ResourceGraphRow): Subscription | undefined {
  const subscriptionId = str(row["subscriptionId"]) || (subscriptionOf(str(row["id"])) ?? "");
  if (!subscriptionId) return undefined;
  const chain = Array.isArray(row["managementGroupAncestorsChain"]) ? (row["managementGroupAncestorsChain"] as unknown[]) : [];
  const managementGroups = chain
    .map((entry) => (entry && typeof entry === "object" ? str((entry as Record<string, unknown>)["name"]) : ""))
    .filter((name) => name.length > 0);
  return { subscriptionId, managementGroups };
}

export const readIdentities = (clients: AzureClients, options: ReadOptions = {}): Promise<Identity[]> =>
  collect(rowsOf(clients, "identities", toIdentity, options));
export const readAttachments = (clients: AzureClients, options: ReadOptions = {}): Promise<AttachedResource[]> =>
  collect(rowsOf(clients, "attachments", toAttachedResource, options));
export const readRoleDefinitions = (clients: AzureClients, options: ReadOptions = {}): Promise<RoleDefinition[]> =>
  collect(rowsOf(clients, "roleDefinitions", toRoleDefinition, options));
export const readSubscriptions = (clients: AzureClients, options: ReadOptions = {}): Promise<Subscription[]> =>
  collect(rowsOf(clients, "subscriptions", toSubscription, options));
/** AKS clusters with an OIDC issuer, over every subscription the caller can read (a credential may trust a cluster outside the sweep's scope). */
export const readAksClusters = (clients: AzureClients, options: Pick<ReadOptions, "signal"> = {}): Promise<AksCluster[]> =>
  collect(rowsOf(clients, "aksClusters", toAksCluster, options));
/** Role assignments can number in the millions: streamed page by page. */
export const streamRoleAssignments = (clients: AzureClients, options: ReadOptions = {}): AsyncGenerator<RoleAssignment[]> =>
  rowsOf(clients, "roleAssignments", toRoleAssignment, options);
