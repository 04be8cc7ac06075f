import { createHttpPoller } from "@azure/core-lro";
import type { AzureClients } from "./clients.js";
import { QUERIES } from "./queries.js";
import { queryPages } from "./resourceGraph.js";
import { getDirectoryObjectsByIds } from "./directory.js";
import { ServiceCallFailed, statusCodeOf, toServiceCallFailed } from "../errors.js";
import { subscriptionOf } from "../model.js";

/**
 * The writes cleanup actions and restore make, and the reads they decide on. Raw ARM JSON in and
 * out: the journal keeps the prior state exactly as ARM returned it. Errors keep their HTTP status
 * (ServiceCallFailed.statusCode) so the executor can tell "gone" (404) from "locked" (409) from
 * "changed under us" (412).
 */

const ROLE_ASSIGNMENTS_API = "2022-04-01";
const TAGS_API = "2021-04-01";
const NO_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000";

export type ArmJson = Record<string, unknown>;

export interface ArmRead {
  body: ArmJson;
  etag?: string;
}

function failure(method: string, id: string, status: number, body: unknown): ServiceCallFailed {
  const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
  const code = error?.code ? ` ${error.code}` : "";
  const message = error?.message ? `: ${error.message.split("\n", 1)[0]?.slice(0, 200) ?? ""}` : "";
  return new ServiceCallFailed("arm", status, `arm: ${method} ${id} answered ${status}${code}${message}`, error?.code);
}

async function send(clients: AzureClients, method: "GET" | "PATCH" | "PUT", id: string, apiVersion: string, options: { body?: unknown; ifMatch?: string } = {}) {
  const request = {
    queryParameters: { "api-version": apiVersion },
    ...(options.ifMatch ? { headers: { "If-Match": options.ifMatch } } : {}),
    ...(options.body !== undefined ? { body: options.body, contentType: "application/json" } : {}),
  };
  try {
    const path = clients.arm.path(id);
    return method === "GET" ? await path.get(request) : method === "PATCH" ? await path.patch(request) : await path.put(request);
  } catch (error) {
    throw toServiceCallFailed("arm", error);
  }
}

/** GET by id; 404 → undefined; any other non-2xx → ServiceCallFailed (unknown, never "absent"). */
export async function readArm(clients: AzureClients, id: string, apiVersion: string): Promise<ArmRead | undefined> {
  const response = await send(clients, "GET", id, apiVersion);
  const status = Number(response.status);
  if (status === 404) return undefined;
  if (status !== 200) throw failure("GET", id, status, response.body);
  const body = response.body as ArmJson;
  const etag = response.headers["etag"] ?? (typeof body["etag"] === "string" ? body["etag"] : undefined);
  return { body, ...(etag ? { etag } : {}) };
}

export function readRoleAssignmentRaw(clients: AzureClients, id: string): Promise<ArmRead | undefined> {
  return readArm(clients, id, ROLE_ASSIGNMENTS_API);
}

/** Deletes a role assignment: "deleted", or "absent" when ARM says there was nothing (204/404). */
export async function deleteRoleAssignment(clients: AzureClients, id: string): Promise<"deleted" | "absent"> {
  let status = 0;
  try {
    await clients.authorization(subscriptionOf(id) ?? NO_SUBSCRIPTION).roleAssignments.deleteById(id, {
      onResponse: (response) => {
        status = response.status;
      },
    });
  } catch (error) {
    if (statusCodeOf(error) === 404) return "absent";
    throw toServiceCallFailed("arm", error);
  }
  return status === 204 ? "absent" : "deleted";
}

/**
 * Recreates a role assignment from its journaled ARM JSON: same name, scope, role and principal, and
 * every property one can set (description, condition with its version, the delegated managed identity).
 */
export async function recreateRoleAssignment(clients: AzureClients, prior: ArmJson): Promise<"created" | "exists"> {
  const properties = (prior["properties"] ?? {}) as Record<string, unknown>;
  const text = (key: string): string | undefined => (typeof properties[key] === "string" ? (properties[key] as string) : undefined);
  const scope = text("scope");
  const name = typeof prior["name"] === "string" ? prior["name"] : undefined;
  const roleDefinitionId = text("roleDefinitionId");
  const principalId = text("principalId");
  if (!scope || !name || !roleDefinitionId || !principalId) throw new ServiceCallFailed("arm", undefined, "journal entry lacks scope, name, roleDefinitionId or principalId");
  const description = text("description");
  const condition = text("condition");
  const conditionVersion = text("conditionVersion");
  const principalType = text("principalType");
  const delegatedManagedIdentityResourceId = text("delegatedManagedIdentityResourceId");
  try {
    await clients.authorization(subscriptionOf(scope) ?? NO_SUBSCRIPTION).roleAssignments.create(scope, name, {
      roleDefinitionId,
      principalId,
      ...(principalType ? { principalType } : {}),
      ...(description ? { description } : {}),
      ...(condition ? { condition, ...(conditionVersion ? { conditionVersion } : {}) } : {}),
      ...(delegatedManagedIdentityResourceId ? { delegatedManagedIdentityResourceId } : {}),
    });
    return "created";
  } catch (error) {
    const failed = toServiceCallFailed("arm", error);
    if (failed.statusCode === 409 && failed.code === "RoleAssignmentExists") return "exists";
    throw failed;
  }
}

/**
 * PATCH a resource's `identity` block (ARM merges user-assigned entries; null removes one), and wait
 * until the write is done: Compute answers a VM PATCH 200 with provisioningState "Updating" and an
 * Azure-AsyncOperation header, the new identity's entry empty until the operation completes
 * (azure-cli vm/tests/latest/recordings/test_vm_explicit_msi.yaml). What is read back before then is
 * not the outcome.
 */
export async function patchIdentity(clients: AzureClients, id: string, apiVersion: string, identity: ArmJson, etag?: string): Promise<void> {
  const response = await send(clients, "PATCH", id, apiVersion, { body: { identity }, ...(etag ? { ifMatch: etag } : {}) });
  const status = Number(response.status);
  if (status !== 200 && status !== 201 && status !== 202) throw failure("PATCH", id, status, response.body);
  await untilDone(clients, "PATCH", id, apiVersion, { status, headers: response.headers as Record<string, string>, body: response.body });
}

/**
 * How often an operation is polled when ARM sends no Retry-After: @azure/core-lro's own default (POLL_INTERVAL_IN_MS,
 * 2 s) against Azure; the emulator needs no wait.
 */
function pollOptions(clients: AzureClients): { intervalInMs?: number } {
  return clients.target === "emulator" ? { intervalInMs: 20 } : {};
}

/**
 * Waits for an ARM write's long-running operation with the SDK's poller (@azure/core-lro: Azure-AsyncOperation,
 * Location or provisioningState, Retry-After honoured), then reads the resource. A failed or canceled
 * operation throws: the change did not happen as asked. Polling URLs are followed only on ARM's own host.
 */
async function untilDone(clients: AzureClients, method: "PATCH" | "PUT", id: string, apiVersion: string, initial: { status: number; headers: Record<string, string>; body: unknown }): Promise<void> {
  const armOrigin = new URL(clients.endpoints.arm).origin;
  const lowerHeaders = (headers: Record<string, string>): Record<string, string> =>
    Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), String(value)]));
  const initialResponse = { flatResponse: initial.body, rawResponse: { statusCode: initial.status, headers: lowerHeaders(initial.headers), body: initial.body } };
  try {
    const poller = await createHttpPoller(
      {
        requestMethod: method,
        requestPath: `${id}?api-version=${encodeURIComponent(apiVersion)}`,
        sendInitialRequest: async () => initialResponse,
        sendPollRequest: async (path, options) => {
          const url = path.startsWith("/") ? `${armOrigin}${path}` : path;
          if (new URL(url).origin !== armOrigin) throw new ServiceCallFailed("arm", undefined, `arm: ${method} ${id}: operation URL ${new URL(url).origin} is not ARM's host`);
          const response = await clients.arm.pathUnchecked(url).get(options?.abortSignal ? { abortSignal: options.abortSignal } : {});
          const status = Number(response.status);
          if (status >= 400) throw failure("GET", url.split("?", 1)[0] ?? url, status, response.body);
          return { flatResponse: response.body, rawResponse: { statusCode: status, headers: lowerHeaders(response.headers as Record<string, string>), body: response.body } };
        },
      },
      pollOptions(clients),
    );
    await poller.pollUntilDone();
  } catch (error) {
    if (error instanceof ServiceCallFailed) throw error;
    throw toServiceCallFailed("arm", error);
  }
}

function tagsPath(id: string): string {
  return `${id}/providers/Microsoft.Resources/tags/default`;
}

/** Tags at a scope (Tags - Get At Scope). */
export async function readTags(clients: AzureClients, id: string): Promise<Record<string, string> | undefined> {
  const read = await readArm(clients, tagsPath(id), TAGS_API);
  if (!read) return undefined;
  const tags = (read.body["properties"] as { tags?: unknown } | undefined)?.tags;
  return tags && typeof tags === "object" ? { ...(tags as Record<string, string>) } : {};
}

/** Tags - Update At Scope: Merge adds/overwrites only the given keys; Delete removes only them. */
export async function updateTags(clients: AzureClients, id: string, operation: "Merge" | "Delete", tags: Record<string, string>): Promise<void> {
  const response = await send(clients, "PATCH", tagsPath(id), TAGS_API, { body: { operation, properties: { tags } } });
  const status = Number(response.status);
  if (status !== 200) throw failure("PATCH", tagsPath(id), status, response.body);
}

/** Whether a principal exists: true/false only from a Graph answer that succeeded; else it throws. */
export async function principalExists(clients: AzureClients, principalId: string): Promise<boolean> {
  const [found] = await getDirectoryObjectsByIds(clients.graph, [principalId]);
  return found !== undefined;
}

/** How many role assignments there are in these subscriptions now (the base of maxDeletePercent for event runs). */
export async function countRoleAssignments(clients: AzureClients, subscriptions: string[]): Promise<number> {
  let total = 0;
  for await (const page of queryPages(clients.resourceGraph, clients.resourceGraphPacer, {
    query: QUERIES.roleAssignmentCount,
    ...(subscriptions.length > 0 ? { subscriptions } : {}),
  })) {
    for (const row of page) total += Number((row as { count_?: unknown }).count_ ?? 0);
  }
  return total;
}
