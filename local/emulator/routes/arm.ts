import { randomUUID } from "node:crypto";
import type { EstateStore } from "../store.js";
import type { EstateFederatedCredential, EstateResource, EstateRoleAssignment } from "../estate.js";
import { armError, json, type EmulatorRequest, type EmulatorResponse } from "../http.js";
import { handleEventGridArm } from "./eventGridArm.js";
import { handleMetrics, isMetricsPath } from "./metrics.js";

const ROLE_ASSIGNMENTS = "/providers/microsoft.authorization/roleassignments";
const ROLE_DEFINITIONS = "/providers/microsoft.authorization/roledefinitions";
const IDENTITY_TYPE = "microsoft.managedidentity/userassignedidentities";
const FICS = "/federatedidentitycredentials";
const TAGS = "/providers/microsoft.resources/tags/default";
const PAGE_SIZE = 1000;

/** ARM: role assignments and definitions, user-assigned identities and their federated credentials, and generic resources. */
export class ArmRoute {
  constructor(private readonly store: EstateStore) {}

  handle(request: EmulatorRequest): EmulatorResponse {
    const { path } = request;
    if (path === "/subscriptions" || /^\/subscriptions\/[^/]+$/.test(path)) return this.subscriptions(request);
    if (path.endsWith(TAGS)) return this.tags(request, path.slice(0, -TAGS.length));
    if (isMetricsPath(path)) return handleMetrics(this.store, request);
    const assignments = path.indexOf(ROLE_ASSIGNMENTS);
    if (assignments >= 0) return this.roleAssignments(request, assignments);
    const definitions = path.indexOf(ROLE_DEFINITIONS);
    if (definitions >= 0) return this.roleDefinitions(request, definitions);
    const fics = path.indexOf(FICS);
    if (fics >= 0) return this.federatedCredentials(request, fics);
    if (path.endsWith("/providers/microsoft.managedidentity/userassignedidentities")) return this.listIdentities(request);
    return handleEventGridArm(this.store, request) ?? this.resource(request);
  }

  private subscriptions(request: EmulatorRequest): EmulatorResponse {
    const shaped = this.store.subscriptions.map((subscription) => ({
      id: `/subscriptions/${subscription.subscriptionId}`,
      subscriptionId: subscription.subscriptionId,
      displayName: subscription.displayName ?? subscription.subscriptionId,
      state: "Enabled",
      tenantId: this.store.tenantId,
    }));
    if (request.path === "/subscriptions") return json(200, { value: shaped });
    const wanted = request.path.split("/")[2];
    const found = shaped.find((subscription) => subscription.subscriptionId.toLowerCase() === wanted);
    return found ? json(200, found) : armError(404, "SubscriptionNotFound", `The subscription '${wanted}' could not be found.`);
  }

  private roleAssignments(request: EmulatorRequest, at: number): EmulatorResponse {
    const scope = request.url.pathname.slice(0, at) || "/";
    const rest = request.path.slice(at + ROLE_ASSIGNMENTS.length);
    if (rest === "" || rest === "/") {
      if (request.method !== "GET") return methodNotAllowed(request);
      return this.listRoleAssignments(request, scope);
    }
    const key = request.path;
    const existing = this.store.roleAssignments.get(key);
    switch (request.method) {
      case "GET":
        return existing ? json(200, existing) : armError(404, "RoleAssignmentNotFound", `The role assignment '${rest.slice(1)}' is not found.`);
      case "DELETE":
        if (!existing) return { status: 204 };
        this.store.roleAssignments.delete(key);
        this.store.touch();
        return json(200, existing);
      case "PUT":
        return this.createRoleAssignment(request, scope, existing);
      default:
        return methodNotAllowed(request);
    }
  }

  private listRoleAssignments(request: EmulatorRequest, scope: string): EmulatorResponse {
    const filter = request.url.searchParams.get("$filter") ?? "";
    const principal = /principalId\s+eq\s+'([^']+)'/i.exec(filter)?.[1]?.toLowerCase();
    const assignedTo = /assignedTo\('([^']+)'\)/i.exec(filter)?.[1]?.toLowerCase();
    const atScope = /atScope\(\)/i.test(filter);
    const wanted = scope.toLowerCase().replace(/\/$/, "");
    const matches = [...this.store.roleAssignments.values()].filter((assignment) => {
      const assigned = assignment.properties.scope.toLowerCase().replace(/\/$/, "");
      const above = isAtOrAbove(assigned, wanted);
      if (atScope ? !above : !(above || isAtOrAbove(wanted, assigned))) return false;
      const who = assignment.properties.principalId.toLowerCase();
      if (principal && who !== principal) return false;
      if (assignedTo && who !== assignedTo) return false;
      return true;
    });
    return paged(request, matches);
  }

  private createRoleAssignment(request: EmulatorRequest, scope: string, existing: EstateRoleAssignment | undefined): EmulatorResponse {
    const body = request.body as { properties?: Record<string, unknown> } | null;
    const properties = body?.properties;
    const roleDefinitionId = properties?.["roleDefinitionId"];
    const principalId = properties?.["principalId"];
    if (typeof roleDefinitionId !== "string" || typeof principalId !== "string") {
      return armError(400, "InvalidRequestContent", "The request content must contain properties.roleDefinitionId and properties.principalId.");
    }
    if (existing) {
      const same =
        existing.properties.principalId.toLowerCase() === principalId.toLowerCase() &&
        existing.properties.roleDefinitionId.toLowerCase() === roleDefinitionId.toLowerCase();
      if (same) return json(200, existing);
      return armError(409, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.");
    }
    const duplicate = [...this.store.roleAssignments.values()].find(
      (assignment) =>
        assignment.properties.scope.toLowerCase() === scope.toLowerCase() &&
        assignment.properties.principalId.toLowerCase() === principalId.toLowerCase() &&
        assignment.properties.roleDefinitionId.toLowerCase() === roleDefinitionId.toLowerCase(),
    );
    if (duplicate) return armError(409, "RoleAssignmentExists", "The role assignment already exists.");
    if (!this.store.directory.has(principalId.toLowerCase())) {
      return armError(400, "PrincipalNotFound", `Principal ${principalId.replace(/-/g, "")} does not exist in the directory ${this.store.tenantId}. Check that you have the correct principal ID.`);
    }
    const now = new Date().toISOString();
    const name = request.url.pathname.split("/").pop() ?? randomUUID();
    const created: EstateRoleAssignment = {
      id: request.url.pathname,
      name,
      type: "Microsoft.Authorization/roleAssignments",
      properties: {
        scope,
        roleDefinitionId,
        principalId,
        principalType: typeof properties?.["principalType"] === "string" ? (properties["principalType"] as string) : "ServicePrincipal",
        createdOn: now,
        updatedOn: now,
        ...(typeof properties?.["description"] === "string" ? { description: properties["description"] as string } : {}),
        ...(typeof properties?.["condition"] === "string" ? { condition: properties["condition"] as string } : {}),
      },
    };
    this.store.roleAssignments.set(request.path, created);
    this.store.touch();
    return json(201, created);
  }

  private roleDefinitions(request: EmulatorRequest, at: number): EmulatorResponse {
    if (request.method !== "GET") return methodNotAllowed(request);
    const rest = request.path.slice(at + ROLE_DEFINITIONS.length).replace(/^\//, "");
    if (rest === "") return paged(request, [...this.store.roleDefinitions.values()]);
    const found = this.store.roleDefinitions.get(rest);
    return found ? json(200, found) : armError(404, "RoleDefinitionDoesNotExist", `The specified role definition with ID '${rest}' does not exist.`);
  }

  private listIdentities(request: EmulatorRequest): EmulatorResponse {
    if (request.method !== "GET") return methodNotAllowed(request);
    const prefix = request.path.slice(0, request.path.indexOf("/providers/"));
    const identities = [...this.store.resources.values()].filter(
      (resource) => resource.type.toLowerCase() === IDENTITY_TYPE && resource.id.toLowerCase().startsWith(`${prefix}/`),
    );
    return paged(request, identities);
  }

  private federatedCredentials(request: EmulatorRequest, at: number): EmulatorResponse {
    const identityKey = request.path.slice(0, at);
    const identity = this.store.resources.get(identityKey);
    if (!identity) return notFound(request);
    const rest = request.path.slice(at + FICS.length).replace(/^\//, "");
    if (rest === "") {
      if (request.method !== "GET") return methodNotAllowed(request);
      return paged(request, this.store.credentialsOf(identityKey));
    }
    const existing = this.store.federatedCredentials.get(request.path);
    switch (request.method) {
      case "GET":
        return existing ? json(200, existing) : notFound(request);
      case "DELETE":
        if (!existing) return { status: 204 };
        this.store.federatedCredentials.delete(request.path);
        this.store.touch();
        return json(200, existing);
      case "PUT": {
        const properties = (request.body as { properties?: Record<string, unknown> } | null)?.properties ?? {};
        if (typeof properties["issuer"] !== "string" || typeof properties["subject"] !== "string") {
          return armError(400, "BadRequest", "issuer and subject are required.");
        }
        const credential: EstateFederatedCredential = {
          id: request.url.pathname,
          name: request.url.pathname.split("/").pop() ?? rest,
          type: "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
          properties: {
            issuer: properties["issuer"],
            subject: properties["subject"],
            audiences: Array.isArray(properties["audiences"]) ? (properties["audiences"] as string[]) : ["api://AzureADTokenExchange"],
          },
        };
        this.store.federatedCredentials.set(request.path, credential);
        this.store.touch();
        return json(existing ? 200 : 201, credential);
      }
      default:
        return methodNotAllowed(request);
    }
  }

  private resource(request: EmulatorRequest): EmulatorResponse {
    const existing = this.store.resources.get(request.path);
    if (request.method !== "GET" && !this.matches(request, existing)) {
      return armError(412, "PreconditionFailed", `The condition specified using HTTP conditional header(s) is not met for '${request.url.pathname}'.`);
    }
    switch (request.method) {
      case "GET":
        return existing ? json(200, existing, { etag: this.store.etagOf(request.path) }) : notFound(request);
      case "DELETE":
        if (!existing) return { status: 204 };
        this.store.resources.delete(request.path);
        if (existing.type.toLowerCase() === IDENTITY_TYPE) this.forgetIdentity(existing);
        this.store.changed(request.path);
        return { status: 200 };
      case "PATCH":
        if (!existing) return notFound(request);
        return this.patch(request.path, existing, request.body);
      case "PUT":
        return this.put(request, existing);
      default:
        return methodNotAllowed(request);
    }
  }

  /** If-Match (ARM's optimistic concurrency): `*` needs the resource to exist, an ETag must be the current one. */
  private matches(request: EmulatorRequest, existing: EstateResource | undefined): boolean {
    const header = request.headers["if-match"];
    const wanted = Array.isArray(header) ? header[0] : header;
    if (wanted === undefined) return true;
    if (!existing) return false;
    return wanted.trim() === "*" || wanted.trim() === this.store.etagOf(request.path);
  }

  /** Tags at a resource's scope (Tags - Get / Create Or Update / Update At Scope). */
  private tags(request: EmulatorRequest, scopeKey: string): EmulatorResponse {
    const resource = this.store.resources.get(scopeKey);
    if (!resource) return notFound(request);
    const shaped = (): EmulatorResponse =>
      json(200, { id: `${resource.id}/providers/Microsoft.Resources/tags/default`, name: "default", type: "Microsoft.Resources/tags", properties: { tags: resource.tags ?? {} } });
    if (request.method === "GET") return shaped();
    const body = (request.body ?? {}) as { operation?: unknown; properties?: { tags?: unknown } };
    const given = body.properties?.tags;
    if (!given || typeof given !== "object" || Array.isArray(given)) return armError(400, "InvalidRequestContent", "properties.tags must be an object.");
    const tags = given as Record<string, string>;
    const current = { ...(resource.tags ?? {}) };
    const keyOf = (name: string): string | undefined => Object.keys(current).find((key) => key.toLowerCase() === name.toLowerCase());
    if (request.method === "PUT") {
      resource.tags = { ...tags };
    } else if (request.method === "PATCH") {
      const operation = String(body.operation ?? "");
      if (operation === "Replace") resource.tags = { ...tags };
      else if (operation === "Merge") {
        for (const [name, value] of Object.entries(tags)) current[keyOf(name) ?? name] = value;
        resource.tags = current;
      } else if (operation === "Delete") {
        // Delete removes a tag only when the given value matches (ARM deletes name-value pairs).
        for (const [name, value] of Object.entries(tags)) {
          const key = keyOf(name);
          if (key !== undefined && current[key] === value) delete current[key];
        }
        resource.tags = current;
      } else {
        return armError(400, "InvalidRequestContent", `operation must be Merge, Replace or Delete (got '${operation}').`);
      }
    } else {
      return methodNotAllowed(request);
    }
    this.store.changed(scopeKey);
    return shaped();
  }

  /** Deleting a UAMI deletes its service principal; federated credentials go with it. */
  private forgetIdentity(identity: EstateResource): void {
    const principal = identity.properties?.["principalId"];
    if (typeof principal === "string") this.store.directory.delete(principal.toLowerCase());
    const prefix = `${identity.id.toLowerCase()}${FICS}/`;
    for (const key of [...this.store.federatedCredentials.keys()]) if (key.startsWith(prefix)) this.store.federatedCredentials.delete(key);
  }

  private put(request: EmulatorRequest, existing: EstateResource | undefined): EmulatorResponse {
    const body = (request.body ?? {}) as Partial<EstateResource>;
    const segments = request.url.pathname.split("/");
    const providerAt = segments.findIndex((segment) => segment.toLowerCase() === "providers");
    if (providerAt < 0 || segments.length < providerAt + 4) return notFound(request);
    const type = existing?.type ?? `${segments[providerAt + 1]}/${segments.slice(providerAt + 2).filter((_, i) => i % 2 === 0).join("/")}`;
    const resource: EstateResource = {
      ...(existing ?? {}),
      ...body,
      id: existing?.id ?? request.url.pathname,
      name: existing?.name ?? segments[segments.length - 1] ?? "",
      type,
    };
    if (type.toLowerCase() === IDENTITY_TYPE && !existing) {
      const principalId = randomUUID();
      const clientId = randomUUID();
      resource.properties = { principalId, clientId, tenantId: this.store.tenantId };
      this.store.directory.set(principalId, {
        id: principalId,
        "@odata.type": "#microsoft.graph.servicePrincipal",
        displayName: resource.name,
        servicePrincipalType: "ManagedIdentity",
        appId: clientId,
      });
    }
    if (body.identity) {
      const problem = this.applyIdentity(resource, body.identity, true);
      if (problem) return problem;
    }
    this.store.resources.set(request.path, resource);
    this.store.changed(request.path);
    return json(existing ? 200 : 201, resource, { etag: this.store.etagOf(request.path) });
  }

  private patch(key: string, resource: EstateResource, body: unknown): EmulatorResponse {
    const patch = (body ?? {}) as Partial<EstateResource>;
    if (patch.tags !== undefined) resource.tags = patch.tags ?? {};
    if (patch.identity !== undefined && patch.identity !== null) {
      const problem = this.applyIdentity(resource, patch.identity, false);
      if (problem) return problem;
    }
    this.store.changed(key);
    return json(200, resource, { etag: this.store.etagOf(key) });
  }

  /** ARM's identity merge: null removes a user-assigned entry, an object adds it (it must exist). */
  private applyIdentity(resource: EstateResource, identity: NonNullable<EstateResource["identity"]>, replace: boolean): EmulatorResponse | undefined {
    const invalid = invalidIdentityBlock(resource.type, identity);
    if (invalid) return armError(400, "InvalidParameter", invalid);
    // type None removes every identity, system- and user-assigned.
    if (/^\s*none\s*$/i.test(identity.type)) {
      resource.identity = null;
      return undefined;
    }
    // The type decides: a type without UserAssigned removes every user-assigned identity.
    const keepsUserAssigned = /userassigned/i.test(identity.type);
    const current = replace || !keepsUserAssigned ? {} : { ...(resource.identity?.userAssignedIdentities ?? {}) };
    for (const [identityId, entry] of Object.entries(identity.userAssignedIdentities ?? {})) {
      const existingKey = Object.keys(current).find((key) => key.toLowerCase() === identityId.toLowerCase());
      if (entry === null) {
        if (existingKey) delete current[existingKey];
        continue;
      }
      const target = this.store.resources.get(identityId.toLowerCase());
      if (!target || target.type.toLowerCase() !== IDENTITY_TYPE) {
        return armError(400, "FailedIdentityOperation", `Identity operation for resource '${resource.id}' failed with error 'Failed to perform resource identity operation. Status: 'NotFound'. Response: 'Resource '${identityId}' was not found.'`);
      }
      current[existingKey ?? identityId] = {
        principalId: String(target.properties?.["principalId"] ?? ""),
        clientId: String(target.properties?.["clientId"] ?? ""),
      };
    }
    const systemAssigned = /systemassigned/i.test(identity.type);
    const hasUserAssigned = Object.keys(current).length > 0;
    if (!systemAssigned && !hasUserAssigned && !replace) {
      return armError(400, "InvalidParameter", `The identity type 'UserAssigned' of resource '${resource.id}' needs at least one user-assigned identity; use 'None' to remove the last one.`);
    }
    const type = systemAssigned && hasUserAssigned ? combinedTypeOf(resource.type) : systemAssigned ? "SystemAssigned" : hasUserAssigned ? "UserAssigned" : "None";
    const next: NonNullable<EstateResource["identity"]> = { ...(resource.identity ?? {}), type };
    if (hasUserAssigned) next.userAssignedIdentities = current;
    else delete next.userAssignedIdentities;
    if (!systemAssigned) delete next.principalId;
    resource.identity = type === "None" ? null : next;
    return undefined;
  }
}

/**
 * What Azure rejects in an identity block, per provider. Type strings: Compute, App Service and most
 * providers spell the combined type "SystemAssigned, UserAssigned" (Compute's ResourceIdentityType,
 * specification/compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-07-01/virtualMachine.json);
 * Container Apps "SystemAssigned,UserAssigned" (common-types v5 managedidentity.json
 * ManagedServiceIdentityType). A `userAssignedIdentities` map beside "SystemAssigned" or "None" is
 * refused with 400 InvalidParameter (Compute does; Azure CLI's `az vm identity remove` sends no map then).
 */
function invalidIdentityBlock(resourceType: string, identity: NonNullable<EstateResource["identity"]>): string | undefined {
  const combined = combinedTypeOf(resourceType);
  const allowed = ["SystemAssigned", "UserAssigned", combined, "None"];
  if (!allowed.some((type) => type.toLowerCase() === identity.type.toLowerCase())) {
    return `The value '${identity.type}' of parameter 'identity.type' is not valid for ${resourceType}. Allowed values: ${allowed.map((type) => `'${type}'`).join(", ")}.`;
  }
  const map = identity.userAssignedIdentities;
  const userAssigned = /userassigned/i.test(identity.type);
  if (!userAssigned && map !== undefined && map !== null) {
    return `Parameter 'identity.userAssignedIdentities' is not allowed with identity type '${identity.type}': user-assigned identities can only be given with type 'UserAssigned' or '${combined}'.`;
  }
  return undefined;
}

function combinedTypeOf(resourceType: string): string {
  return resourceType.toLowerCase().startsWith("microsoft.app/") ? "SystemAssigned,UserAssigned" : "SystemAssigned, UserAssigned";
}

function isAtOrAbove(candidate: string, scope: string): boolean {
  return candidate === "" || scope === candidate || scope.startsWith(`${candidate}/`);
}

function paged<T>(request: EmulatorRequest, items: T[]): EmulatorResponse {
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

function notFound(request: EmulatorRequest): EmulatorResponse {
  return armError(404, "ResourceNotFound", `The Resource '${request.url.pathname}' was not found.`);
}

function methodNotAllowed(request: EmulatorRequest): EmulatorResponse {
  return armError(405, "MethodNotAllowed", `The requested method ${request.method} is not allowed on ${request.url.pathname}.`);
}
