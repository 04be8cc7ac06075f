import { armError, json, type EmulatorRequest, type EmulatorResponse } from "../http.js";

const PAGE_SIZE = 1000;

/** ARM's list envelope: `value`, and `nextLink` while more pages follow. */
export function paged<T>(request: EmulatorRequest, items: T[]): EmulatorResponse {
  const skip = Number(request.url.searchParams.get("$skiptoken") ?? "0") || 0;
  const page = items.slice(skip, skip + PAGE_SIZE);
  const body: { value: T[]; nextLink?: string } = { value: page };
  if (skip + PAGE_SIZE < items.length) {
    const next = new URL(request.url);
    next.searchParams.set("$skiptoken", String(skip + PAGE_SIZE));
    body.nextLink = next.toString();
  }
  return json(200, body);
}

export function notFound(request: EmulatorRequest): EmulatorResponse {
  return armError(404, "ResourceNotFound", `The Resource '${request.url.pathname}' was not found.`);
}

export function methodNotAllowed(request: EmulatorRequest): EmulatorResponse {
  return armError(405, "MethodNotAllowed", `The requested method ${request.method} is not allowed on ${request.url.pathname}.`);
}

/**
 * The caller's object id, when the bearer token is a JWT that names one (`oid`): ARM records it as a
 * role assignment's createdBy/updatedBy. The emulator checks no signature; it only reads the claim.
 */
export function callerObjectId(request: EmulatorRequest): string | undefined {
  const header = request.headers["authorization"];
  const token = typeof header === "string" ? header.replace(/^Bearer\s+/i, "") : "";
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { oid?: unknown };
    return typeof claims.oid === "string" ? claims.oid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Ids as the Managed Identity provider writes them: `resourcegroups` in lower case, whatever the
 * request said (azure-cli identity/tests/latest/recordings/test_federated_identity_credential.yaml;
 * azure-rest-api-specs IdentityGet.json).
 */
export function msiId(id: string): string {
  return id.replace(/\/resourceGroups\//i, "/resourcegroups/");
}
