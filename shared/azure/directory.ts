import type { Client } from "@azure-rest/core-client";
import { LOOKUP_TYPES, type DirectoryObject } from "../model.js";
import { DirectoryLookupFailed, firstLine } from "../errors.js";

export const GET_BY_IDS_LIMIT = 1000;


/**
 * Microsoft Graph `POST /v1.0/directoryObjects/getByIds`. Ids that do not resolve are simply absent
 * from the answer. Anything but a 200 with a well-formed `value` array — 401/403, 429 after the
 * pipeline's retries, 5xx, the call deadline (deadline.ts), a malformed body — is DirectoryLookupFailed: unknown, not deleted.
 */
export async function getDirectoryObjectsByIds(graph: Client, ids: string[]): Promise<DirectoryObject[]> {
  if (ids.length > GET_BY_IDS_LIMIT) throw new Error(`getByIds takes at most ${GET_BY_IDS_LIMIT} ids, got ${ids.length}`);
  let response;
  try {
    response = await graph.path("/v1.0/directoryObjects/getByIds").post({
      body: { ids, types: [...LOOKUP_TYPES] },
      contentType: "application/json",
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new DirectoryLookupFailed(undefined, `Microsoft Graph getByIds failed: ${firstLine(message)}`);
  }
  const status = Number(response.status);
  if (status !== 200) {
    const code = (response.body as { error?: { code?: string } } | undefined)?.error?.code;
    throw new DirectoryLookupFailed(status, `Microsoft Graph getByIds answered ${status}${code ? ` ${code}` : ""}`);
  }
  const value = (response.body as { value?: unknown } | undefined)?.value;
  if (!Array.isArray(value)) throw new DirectoryLookupFailed(status, "Microsoft Graph getByIds answered 200 without a value array");
  const objects: DirectoryObject[] = [];
  for (const entry of value) {
    if (!entry || typeof entry !== "object" || typeof (entry as { id?: unknown }).id !== "string") {
      throw new DirectoryLookupFailed(status, "Microsoft Graph getByIds answered 200 with a malformed object");
    }
    const raw = entry as Record<string, unknown>;
    const object: DirectoryObject = { id: raw["id"] as string, odataType: String(raw["@odata.type"] ?? "") };
    if (typeof raw["displayName"] === "string") object.displayName = raw["displayName"];
    if (typeof raw["servicePrincipalType"] === "string") object.servicePrincipalType = raw["servicePrincipalType"];
    if (typeof raw["appId"] === "string") object.appId = raw["appId"];
    objects.push(object);
  }
  return objects;
}
