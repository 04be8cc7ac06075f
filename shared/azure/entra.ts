import type { AzureClients } from "./clients.js";
import type { AppRoleGrant, DirectoryRoleGrant } from "../model.js";
import { principalTypeOf } from "../model.js";
import { firstLine, ServiceCallFailed } from "../errors.js";

/**
 * Tenant-wide Microsoft Graph reads of what makes a principal privileged in Entra ID: three listings per sweep, never
 * one call per identity (data/privilege-SOURCES.md §3a):
 * - `GET /servicePrincipals(appId='00000003-0000-0000-c000-000000000000')/appRoleAssignedTo` — "If the resource service
 *   principal is the service principal for the Microsoft Graph API, this will return all service principals that have
 *   been granted any app-only permissions to Microsoft Graph" (Learn "List appRoleAssignedTo");
 * - `GET /roleManagement/directory/roleAssignments?$expand=principal` (Learn "List unifiedRoleAssignments"), active
 *   directory roles, PIM activations included;
 * - `GET /roleManagement/directory/roleEligibilityScheduleInstances?$expand=principal` (Learn "List
 *   roleEligibilityScheduleInstances"), PIM-eligible directory roles.
 * Each pages with `@odata.nextLink`. Anything but a 200 with a `value` array is ServiceCallFailed: unknown, never "none".
 */

export const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";
/** Graph directory collections page at most 999 objects (Learn "List group members": default 100, maximum 999). */
export const GRAPH_PAGE_SIZE = 999;

type Raw = Record<string, unknown>;

const text = (value: unknown): string => (typeof value === "string" ? value : "");

/** Follows `@odata.nextLink` while it stays on Graph's own origin and version (a link elsewhere would get our token). */
export async function* graphPages(clients: AzureClients, path: string, query: Record<string, string>, what: string, signal?: AbortSignal): AsyncGenerator<Raw[]> {
  const { graph } = clients;
  let next: string | undefined = path;
  let first = true;
  while (next !== undefined) {
    let response;
    try {
      const abort = signal ? { abortSignal: signal } : {};
      response = first ? await graph.pathUnchecked(next).get({ queryParameters: query, ...abort }) : await graph.pathUnchecked(next).get(abort);
    } catch (error) {
      throw new ServiceCallFailed("graph", undefined, `graph: ${what} failed: ${firstLine(error instanceof Error ? error.message : String(error))}`);
    }
    const status = Number(response.status);
    if (status !== 200) {
      const code = (response.body as { error?: { code?: string } } | undefined)?.error?.code;
      throw new ServiceCallFailed("graph", status, `graph: ${what} answered ${status}${code ? ` ${code}` : ""}`, code);
    }
    const body = response.body as { value?: unknown; "@odata.nextLink"?: unknown } | undefined;
    if (!body || !Array.isArray(body.value)) throw new ServiceCallFailed("graph", status, `graph: ${what} answered 200 without a value array`);
    yield body.value.filter((entry): entry is Raw => !!entry && typeof entry === "object");
    next = graphNextLink(clients, body["@odata.nextLink"], what);
    first = false;
  }
}

/** A nextLink is followed only on the Graph endpoint the clients call, at its v1.0 root. */
export function graphNextLink(clients: AzureClients, link: unknown, what: string): string | undefined {
  if (link === undefined || link === null) return undefined;
  const endpoint = clients.endpoints.graph.replace(/\/+$/, "");
  if (typeof link !== "string" || !link.startsWith(`${endpoint}/v1.0/`)) {
    throw new ServiceCallFailed("graph", 200, `graph: ${what} answered a nextLink outside ${endpoint}: not followed`);
  }
  return link;
}

/** Every application permission granted on Microsoft Graph, tenant-wide. Graph's service principal absent (404): none can be. */
export async function listGraphAppRoleAssignments(clients: AzureClients, signal?: AbortSignal): Promise<AppRoleGrant[]> {
  const grants: AppRoleGrant[] = [];
  try {
    for await (const page of graphPages(clients, `/v1.0/servicePrincipals(appId='${GRAPH_APP_ID}')/appRoleAssignedTo`, { $top: String(GRAPH_PAGE_SIZE) }, "appRoleAssignedTo of Microsoft Graph", signal)) {
      for (const raw of page) {
        const id = text(raw["id"]);
        const principalId = text(raw["principalId"]);
        if (!id || !principalId) continue;
        grants.push({
          id,
          principalId,
          principalType: text(raw["principalType"]),
          ...(text(raw["principalDisplayName"]) ? { principalDisplayName: text(raw["principalDisplayName"]) } : {}),
          appRoleId: text(raw["appRoleId"]),
          resourceId: text(raw["resourceId"]),
        });
      }
    }
  } catch (error) {
    if (error instanceof ServiceCallFailed && error.statusCode === 404) return [];
    throw error;
  }
  return grants;
}

async function listDirectoryRoles(clients: AzureClients, path: string, eligible: boolean, what: string, signal?: AbortSignal): Promise<DirectoryRoleGrant[]> {
  const grants: DirectoryRoleGrant[] = [];
  for await (const page of graphPages(clients, path, { $expand: "principal" }, what, signal)) {
    for (const raw of page) {
      const id = text(raw["id"]);
      const principalId = text(raw["principalId"]);
      const roleDefinitionId = text(raw["roleDefinitionId"]);
      if (!id || !principalId || !roleDefinitionId) continue;
      const principal = (raw["principal"] ?? undefined) as Raw | undefined;
      grants.push({
        id,
        principalId,
        principalType: principalTypeOf(text(principal?.["@odata.type"])),
        ...(text(principal?.["displayName"]) ? { principalDisplayName: text(principal?.["displayName"]) } : {}),
        roleDefinitionId,
        directoryScopeId: text(raw["directoryScopeId"]) || "/",
        eligible,
      });
    }
  }
  return grants;
}

export const listDirectoryRoleAssignments = (clients: AzureClients, signal?: AbortSignal): Promise<DirectoryRoleGrant[]> =>
  listDirectoryRoles(clients, "/v1.0/roleManagement/directory/roleAssignments", false, "directory role assignments", signal);

export const listDirectoryRoleEligibilities = (clients: AzureClients, signal?: AbortSignal): Promise<DirectoryRoleGrant[]> =>
  listDirectoryRoles(clients, "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances", true, "directory role eligibilities", signal);
