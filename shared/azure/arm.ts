import type { AzureClients } from "./clients.js";
import type { RoleAssignment, RoleDefinition } from "../model.js";
import type { FederatedCredentialState, ResourceIdentityState } from "../events/readBack.js";
import { subscriptionOf } from "../model.js";
import { statusCodeOf, toServiceCallFailed } from "../errors.js";
import { toRolePermissions } from "./rolePermissions.js";

/** Read-backs from ARM: current state, never the event payload, decides. 404 → undefined. */

const FIC_API_VERSION = "2023-01-31";
const NO_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000";

export async function readRoleAssignment(clients: AzureClients, id: string): Promise<RoleAssignment | undefined> {
  try {
    const assignment = await clients.authorization(subscriptionOf(id) ?? NO_SUBSCRIPTION).roleAssignments.getById(id);
    if (!assignment.id || !assignment.principalId || !assignment.roleDefinitionId) return undefined;
    const read: RoleAssignment = {
      id: assignment.id,
      scope: assignment.scope ?? "",
      roleDefinitionId: assignment.roleDefinitionId,
      principalId: assignment.principalId,
      principalType: assignment.principalType ?? "",
    };
    if (assignment.createdOn) read.createdOn = new Date(assignment.createdOn).toISOString();
    if (assignment.condition) read.condition = assignment.condition;
    return read;
  } catch (error) {
    if (statusCodeOf(error) === 404) return undefined;
    throw toServiceCallFailed("arm", error);
  }
}

/**
 * Role assignments naming a principal at, above or below a subscription (Learn REST "Role Assignments - List For
 * Subscription": `$filter=principalId eq {id}` returns those at, above or below the scope).
 */
export async function listRoleAssignmentsFor(clients: AzureClients, subscriptionId: string, principalId: string): Promise<RoleAssignment[]> {
  const found: RoleAssignment[] = [];
  try {
    for await (const assignment of clients.authorization(subscriptionId).roleAssignments.listForSubscription({ filter: `principalId eq '${principalId}'` })) {
      if (!assignment.id || assignment.principalId?.toLowerCase() !== principalId.toLowerCase()) continue;
      found.push({ id: assignment.id, scope: assignment.scope ?? "", roleDefinitionId: assignment.roleDefinitionId ?? "", principalId: assignment.principalId, principalType: assignment.principalType ?? "" });
    }
  } catch (error) {
    throw toServiceCallFailed("arm", error);
  }
  return found;
}

/** Role assignments naming a principal anywhere in a subscription. */
export async function listRoleAssignmentIdsFor(clients: AzureClients, subscriptionId: string, principalId: string): Promise<string[]> {
  return (await listRoleAssignmentsFor(clients, subscriptionId, principalId)).map((assignment) => assignment.id);
}


async function getJson(clients: AzureClients, id: string, apiVersion: string): Promise<Record<string, unknown> | undefined> {
  let response;
  try {
    response = await clients.arm.path(id).get({ queryParameters: { "api-version": apiVersion } });
  } catch (error) {
    throw toServiceCallFailed("arm", error);
  }
  const status = Number(response.status);
  if (status === 404) return undefined;
  if (status !== 200) {
    const code = (response.body as { error?: { code?: string } } | undefined)?.error?.code;
    throw toServiceCallFailed("arm", { statusCode: status, message: `GET ${id} answered ${status}${code ? ` ${code}` : ""}` });
  }
  return response.body as Record<string, unknown>;
}

export async function readResourceIdentity(clients: AzureClients, id: string, apiVersion: string): Promise<ResourceIdentityState | undefined> {
  const body = await getJson(clients, id, apiVersion);
  if (!body) return undefined;
  const identity = (body["identity"] ?? null) as { type?: unknown; userAssignedIdentities?: unknown } | null;
  const assigned = identity?.userAssignedIdentities;
  return {
    id: typeof body["id"] === "string" ? body["id"] : id,
    type: typeof body["type"] === "string" ? body["type"] : "",
    identityType: typeof identity?.type === "string" ? identity.type : "None",
    userAssignedIdentityIds: assigned && typeof assigned === "object" ? Object.keys(assigned) : [],
  };
}


export async function readFederatedCredential(clients: AzureClients, id: string): Promise<FederatedCredentialState | undefined> {
  const body = await getJson(clients, id, FIC_API_VERSION);
  if (!body) return undefined;
  const properties = (body["properties"] ?? {}) as Record<string, unknown>;
  const audiences = Array.isArray(properties["audiences"]) ? properties["audiences"].filter((audience): audience is string => typeof audience === "string") : undefined;
  return { issuer: String(properties["issuer"] ?? ""), subject: String(properties["subject"] ?? ""), ...(audiences ? { audiences } : {}) };
}

export async function readRoleDefinition(clients: AzureClients, roleDefinitionId: string): Promise<RoleDefinition | undefined> {
  const body = await getJson(clients, roleDefinitionId, "2022-04-01");
  if (!body) return undefined;
  const properties = (body["properties"] ?? {}) as { roleName?: unknown; type?: unknown; permissions?: unknown };
  return {
    id: String(body["id"] ?? roleDefinitionId),
    name: String(body["name"] ?? roleDefinitionId.slice(roleDefinitionId.lastIndexOf("/") + 1)).toLowerCase(),
    roleName: String(properties.roleName ?? ""),
    roleType: String(properties.type ?? ""),
    permissions: toRolePermissions(properties.permissions),
  };
}
