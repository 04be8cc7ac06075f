import type { AzureClients } from "./clients.js";
import { QUERIES, type QueryName } from "./queries.js";
import { queryPages, type ResourceGraphRow } from "./resourceGraph.js";
import type {
  AttachedResource,
  FederatedCredential,
  Identity,
  RoleAssignment,
  RoleDefinition,
  Tags,
} from "../model.js";
import { resourceGroupOf, subscriptionOf } from "../model.js";

/** Reads the estate through Resource Graph and turns rows into the plain snapshot types. */
export interface ReadOptions {
  subscriptions?: string[];
  signal?: AbortSignal;
  /** Called after every page with the rows of that page (progress on stderr). */
  onPage?: (query: QueryName, rows: number) => void;
}

async function* rowsOf<T>(clients: AzureClients, name: QueryName, map: (row: ResourceGraphRow) => T | undefined, options: ReadOptions): AsyncGenerator<T[]> {
  const pages = queryPages(clients.resourceGraph, clients.resourceGraphPacer, {
    query: QUERIES[name],
    subscriptions: options.subscriptions,
    signal: options.signal,
  });
  for await (const page of pages) {
    options.onPage?.(name, page.length);
    const mapped: T[] = [];
    for (const row of page) {
      const value = map(row);
      if (value !== undefined) mapped.push(value);
    }
    yield mapped;
  }
}

async function collect<T>(pages: AsyncIterable<T[]>): Promise<T[]> {
  const all: T[] = [];
  for await (const page of pages) for (const item of page) all.push(item);
  return all;
}

const str = (value: unknown): string => (typeof value === "string" ? value : value == null ? "" : String(value));

function tagsOf(value: unknown): Tags {
  if (!value || typeof value !== "object") return {};
  const tags: Tags = {};
  for (const [key, tagValue] of Object.entries(value as Record<string, unknown>)) tags[key] = str(tagValue);
  return tags;
}

export function toIdentity(row: ResourceGraphRow): Identity | undefined {
  const id = str(row["id"]);
  if (!id) return undefined;
  return {
    id,
    name: str(row["name"]),
    subscriptionId: str(row["subscriptionId"]) || (subscriptionOf(id) ?? ""),
    resourceGroup: str(row["resourceGroup"]) || (resourceGroupOf(id) ?? ""),
    location: str(row["location"]),
    tags: tagsOf(row["tags"]),
    principalId: str(row["principalId"]),
    clientId: str(row["clientId"]),
    tenantId: str(row["tenantId"]),
  };
}

export function toAttachedResource(row: ResourceGraphRow): AttachedResource | undefined {
  const id = str(row["id"]);
  const assigned = row["userAssignedIdentities"];
  if (!id || !assigned || typeof assigned !== "object") return undefined;
  const userAssignedIdentityIds = Object.keys(assigned as Record<string, unknown>);
  if (userAssignedIdentityIds.length === 0) return undefined;
  return {
    id,
    name: str(row["name"]),
    type: str(row["type"]),
    subscriptionId: str(row["subscriptionId"]) || (subscriptionOf(id) ?? ""),
    resourceGroup: str(row["resourceGroup"]) || (resourceGroupOf(id) ?? ""),
    tags: tagsOf(row["tags"]),
    identityType: str(row["identityType"]),
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
  return assignment;
}

export function toRoleDefinition(row: ResourceGraphRow): RoleDefinition | undefined {
  const id = str(row["id"]);
  if (!id) return undefined;
  const permissions = Array.isArray(row["permissions"]) ? (row["permissions"] as Array<{ actions?: unknown }>) : [];
  const actions = permissions.flatMap((permission) => (Array.isArray(permission?.actions) ? permission.actions.map(str) : []));
  return {
    id,
    name: (str(row["name"]) || id.slice(id.lastIndexOf("/") + 1)).toLowerCase(),
    roleName: str(row["roleName"]),
    roleType: str(row["roleType"]),
    actions,
  };
}

const FIC = /^(.*\/userAssignedIdentities\/[^/]+)\/federatedIdentityCredentials\/([^/]+)$/i;

export function toFederatedCredential(row: ResourceGraphRow): FederatedCredential | undefined {
  const id = str(row["id"]);
  const match = FIC.exec(id);
  if (!match) return undefined;
  return {
    id,
    name: str(row["name"]) || (match[2] ?? ""),
    identityId: match[1] ?? "",
    issuer: str(row["issuer"]),
    subject: str(row["subject"]),
    audiences: Array.isArray(row["audiences"]) ? (row["audiences"] as unknown[]).map(str) : [],
  };
}

export const readIdentities = (clients: AzureClients, options: ReadOptions = {}): Promise<Identity[]> =>
  collect(rowsOf(clients, "identities", toIdentity, options));
export const readAttachments = (clients: AzureClients, options: ReadOptions = {}): Promise<AttachedResource[]> =>
  collect(rowsOf(clients, "attachments", toAttachedResource, options));
export const readRoleDefinitions = (clients: AzureClients, options: ReadOptions = {}): Promise<RoleDefinition[]> =>
  collect(rowsOf(clients, "roleDefinitions", toRoleDefinition, options));
export const readFederatedCredentials = (clients: AzureClients, options: ReadOptions = {}): Promise<FederatedCredential[]> =>
  collect(rowsOf(clients, "federatedCredentials", toFederatedCredential, options));
/** Role assignments can number in the millions: streamed page by page. */
export const streamRoleAssignments = (clients: AzureClients, options: ReadOptions = {}): AsyncGenerator<RoleAssignment[]> =>
  rowsOf(clients, "roleAssignments", toRoleAssignment, options);
