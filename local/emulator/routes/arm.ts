import { randomUUID } from "node:crypto";
import type { EstateStore } from "../store.js";
import type { EstateFederatedCredential, EstateResource, EstateRoleEligibility } from "../estate.js";
import { armError, json, type EmulatorRequest, type EmulatorResponse } from "../http.js";
import { handleEventGridArm } from "./eventGridArm.js";
import { ROLE_ASSIGNMENTS, RoleAssignmentRoute } from "./roleAssignments.js";
import { methodNotAllowed, msiId, notFound, paged } from "./armCommon.js";
import type { AsyncOperations } from "../asyncOperations.js";
import { handleMetrics, isMetricsPath } from "./metrics.js";

const ROLE_DEFINITIONS = "/providers/microsoft.authorization/roledefinitions";
const ROLE_ELIGIBILITIES = "/providers/microsoft.authorization/roleeligibilityscheduleinstances";
/** api-versions of Microsoft.Authorization that serve roleEligibilityScheduleInstances (azure-rest-api-specs). */
const ELIGIBILITY_API_VERSIONS = new Set(["2020-10-01", "2020-10-01-preview", "2022-04-01-preview", "2024-02-01-preview", "2024-09-01-preview"]);
const IDENTITY_TYPE = "microsoft.managedidentity/userassignedidentities";
const FICS = "/federatedidentitycredentials";
const TAGS = "/providers/microsoft.resources/tags/default";
const COMPUTE_OPERATION = /^\/subscriptions\/[^/]+\/providers\/microsoft\.compute\/locations\/[^/]+\/operations\/([^/]+)$/;

/** A user-assigned identity or federated credential as the Managed Identity provider answers it. */
function msiShaped<T extends { id: string }>(item: T): T {
  return { ...item, id: msiId(item.id) };
}

/** ARM: role assignments and definitions, user-assigned identities and their federated credentials, and generic resources. */
export class ArmRoute {
  private readonly assignments: RoleAssignmentRoute;

  constructor(private readonly store: EstateStore, private readonly operations: AsyncOperations) {
    this.assignments = new RoleAssignmentRoute(store);
  }

  handle(request: EmulatorRequest): EmulatorResponse {
    const { path } = request;
    this.operations.settle();
    if (path === "/subscriptions" || /^\/subscriptions\/[^/]+$/.test(path)) return this.subscriptions(request);
    const operation = COMPUTE_OPERATION.exec(path);
    if (operation && request.method === "GET") return this.operations.status(operation[1] ?? "");
    if (path.endsWith(TAGS)) return this.tags(request, path.slice(0, -TAGS.length));
    if (isMetricsPath(path)) return handleMetrics(this.store, request);
    const eligibilities = path.indexOf(ROLE_ELIGIBILITIES);
    if (eligibilities >= 0) return this.roleEligibilities(request, eligibilities);
    const assignments = path.indexOf(ROLE_ASSIGNMENTS);
    if (assignments >= 0) return this.assignments.handle(request, assignments);
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

  /**
   * PIM eligibility instances (azure-rest-api-specs `RoleEligibilityScheduleInstance.json`, 2020-10-01): `$filter=atScope()`
   * gives those at the scope and inherited from above (management groups, the root), not below; `principalId eq`
   * those of one principal at, above or below. Shaped as GetRoleEligibilityScheduleInstancesByScope.json shows.
   */
  private roleEligibilities(request: EmulatorRequest, at: number): EmulatorResponse {
    if (request.method !== "GET") return methodNotAllowed(request);
    const apiVersion = request.url.searchParams.get("api-version") ?? "";
    if (!ELIGIBILITY_API_VERSIONS.has(apiVersion)) {
      return armError(400, "InvalidApiVersionParameter", `The api-version '${apiVersion}' is invalid. The supported versions are '${[...ELIGIBILITY_API_VERSIONS].join(",")}'.`);
    }
    const scope = (request.url.pathname.slice(0, at) || "/").replace(/\/+$/, "") || "/";
    const rest = request.path.slice(at + ROLE_ELIGIBILITIES.length).replace(/^\//, "");
    const shaped = (instance: EstateRoleEligibility) => this.shapeEligibility(instance);
    if (rest !== "") {
      const found = this.store.roleEligibilityScheduleInstances.find((instance) => instance.id.toLowerCase() === request.path);
      return found ? json(200, shaped(found)) : armError(404, "RoleEligibilityScheduleInstanceNotFound", `The role eligibility schedule instance '${rest}' is not found.`);
    }
    const filter = (request.url.searchParams.get("$filter") ?? "").trim();
    const principal = /^principalId\s+eq\s+'([^']+)'$/i.exec(filter)?.[1]?.toLowerCase();
    if (filter && !/^atScope\(\)$/i.test(filter) && !principal) return armError(400, "InvalidFilter", `The filter '${filter}' is not supported.`);
    const above = new Set(this.store.scopesAtOrAbove(scope));
    const matches = this.store.roleEligibilityScheduleInstances.filter((instance) => {
      const key = instance.properties.scope.toLowerCase().replace(/\/+$/, "") || "/";
      const inherited = above.has(key);
      if (/^atScope\(\)$/i.test(filter)) return inherited;
      const below = this.store.scopesAtOrAbove(key).includes(scope.toLowerCase());
      if (!inherited && !below) return false;
      return !principal || instance.properties.principalId.toLowerCase() === principal;
    });
    return paged(request, matches.map(shaped));
  }

  private shapeEligibility(instance: EstateRoleEligibility): Record<string, unknown> {
    const properties = instance.properties;
    const principal = this.store.directoryObject(properties.principalId);
    const role = this.store.roleDefinitions.get(properties.roleDefinitionId.slice(properties.roleDefinitionId.lastIndexOf("/") + 1).toLowerCase());
    const name = instance.name ?? instance.id.slice(instance.id.lastIndexOf("/") + 1);
    return {
      properties: {
        scope: properties.scope,
        roleDefinitionId: properties.roleDefinitionId,
        principalId: properties.principalId,
        principalType: properties.principalType ?? "User",
        status: properties.status ?? "Provisioned",
        roleEligibilityScheduleId: `${properties.scope === "/" ? "" : properties.scope}/providers/Microsoft.Authorization/RoleEligibilitySchedules/${name}`,
        startDateTime: properties.startDateTime ?? "2025-01-01T00:00:00Z",
        endDateTime: properties.endDateTime ?? null,
        memberType: properties.memberType ?? "Direct",
        createdOn: properties.startDateTime ?? "2025-01-01T00:00:00Z",
        condition: properties.condition ?? null,
        conditionVersion: properties.conditionVersion ?? null,
        expandedProperties: {
          scope: { id: properties.scope, displayName: properties.scope.split("/").pop() || "Root", type: properties.scope.toLowerCase().includes("managementgroups") ? "managementgroup" : "subscription" },
          roleDefinition: { id: properties.roleDefinitionId, displayName: role?.properties.roleName ?? "", type: role ? (role.properties.type ?? "CustomRole") : "" },
          principal: { id: properties.principalId, displayName: principal?.displayName ?? "", type: properties.principalType ?? "User" },
        },
      },
      name,
      id: instance.id,
      type: "Microsoft.Authorization/RoleEligibilityScheduleInstances",
    };
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
    return paged(request, identities.map(msiShaped));
  }

  private federatedCredentials(request: EmulatorRequest, at: number): EmulatorResponse {
    const identityKey = request.path.slice(0, at);
    const identity = this.store.resources.get(identityKey);
    if (!identity) return notFound(request);
    const rest = request.path.slice(at + FICS.length).replace(/^\//, "");
    if (rest === "") {
      if (request.method !== "GET") return methodNotAllowed(request);
      return paged(request, this.store.credentialsOf(identityKey).map(msiShaped));
    }
    const existing = this.store.federatedCredentials.get(request.path);
    switch (request.method) {
      case "GET":
        return existing ? json(200, msiShaped(existing)) : notFound(request);
      case "DELETE":
        if (!existing) return { status: 204 };
        this.store.federatedCredentials.delete(request.path);
        this.store.touch();
        // Recorded: 200 with an empty body (azure-cli identity test_federated_identity_credential.yaml).
        return { status: 200 };
      case "PUT": {
        const properties = (request.body as { properties?: Record<string, unknown> } | null)?.properties ?? {};
        const problem = invalidCredential(properties);
        if (problem) return armError(400, "BadRequest", problem);
        const expression = properties["claimsMatchingExpression"] as { value: string; languageVersion: number } | undefined;
        const credential: EstateFederatedCredential = {
          id: msiId(request.url.pathname),
          name: request.url.pathname.split("/").pop() ?? rest,
          type: "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
          properties: {
            issuer: properties["issuer"] as string,
            ...(typeof properties["subject"] === "string" ? { subject: properties["subject"] } : {}),
            audiences: Array.isArray(properties["audiences"]) ? (properties["audiences"] as string[]) : ["api://AzureADTokenExchange"],
            ...(expression ? { claimsMatchingExpression: { languageVersion: expression.languageVersion, value: expression.value } } : {}),
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
        return existing ? json(200, this.shaped(existing), { etag: this.store.etagOf(request.path) }) : notFound(request);
      case "DELETE":
        if (!existing) return { status: 204 };
        this.store.resources.delete(request.path);
        if (existing.type.toLowerCase() === IDENTITY_TYPE) this.forgetIdentity(existing);
        this.store.changed(request.path);
        return { status: 200 };
      case "PATCH":
        if (!existing) return notFound(request);
        return this.patch(request, existing);
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
    const isIdentity = type.toLowerCase() === IDENTITY_TYPE;
    const resource: EstateResource = {
      ...(existing ?? {}),
      ...body,
      // A new identity's id as the Managed Identity provider writes it.
      id: existing?.id ?? (isIdentity ? msiId(request.url.pathname) : request.url.pathname),
      name: existing?.name ?? segments[segments.length - 1] ?? "",
      type,
    };
    const asynchronous = existing !== undefined && this.operations.appliesTo(resource);
    if (asynchronous) {
      const busy = this.operations.conflict(request.path);
      if (busy) return busy;
    }
    if (isIdentity && !existing) {
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
    const headers = asynchronous ? this.operations.start(request.path, resource, existing?.identity, request.url.origin, request.url.searchParams.get("api-version") ?? "") : {};
    return json(existing ? 200 : 201, this.shaped(resource), { etag: this.store.etagOf(request.path), ...headers });
  }

  private patch(request: EmulatorRequest, resource: EstateResource): EmulatorResponse {
    const key = request.path;
    const asynchronous = this.operations.appliesTo(resource);
    if (asynchronous) {
      const busy = this.operations.conflict(key);
      if (busy) return busy;
    }
    // applyIdentity replaces the identity block, never edits it: this is the block as it was (start() keeps a copy).
    const prior = resource.identity;
    const patch = (request.body ?? {}) as Partial<EstateResource>;
    if (patch.tags !== undefined) resource.tags = patch.tags ?? {};
    if (patch.identity !== undefined && patch.identity !== null) {
      const problem = this.applyIdentity(resource, patch.identity, false);
      if (problem) return problem;
    }
    this.store.changed(key);
    const headers = asynchronous ? this.operations.start(key, resource, prior, request.url.origin, request.url.searchParams.get("api-version") ?? "") : {};
    return json(200, this.shaped(resource), { etag: this.store.etagOf(key), ...headers });
  }

  /** A resource as its provider answers for it (the Managed Identity provider spells `resourcegroups`). */
  private shaped(resource: EstateResource): EstateResource {
    // A resource without identities has no identity block at all (recorded: `az vm identity remove`).
    const { identity, ...rest } = resource;
    const answered = identity === null || identity === undefined ? (rest as EstateResource) : resource;
    return resource.type.toLowerCase() === IDENTITY_TYPE ? msiShaped(answered) : answered;
  }

  /** ARM's identity merge: null removes a user-assigned entry, an object adds it (it must exist). */
  private applyIdentity(resource: EstateResource, identity: NonNullable<EstateResource["identity"]>, replace: boolean): EmulatorResponse | undefined {
    const invalid = invalidIdentityBlock(resource.type, identity);
    if (invalid) return armError(400, "InvalidParameter", invalid);
    // type None removes every identity, system- and user-assigned.
    if (normalType(identity.type) === "none") {
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
  if (!IDENTITY_TYPES.has(normalType(identity.type))) {
    const allowed = ["SystemAssigned", "UserAssigned", combined, "None"];
    return `The value '${identity.type}' of parameter 'identity.type' is not valid for ${resourceType}. Allowed values: ${allowed.map((type) => `'${type}'`).join(", ")}.`;
  }
  const map = identity.userAssignedIdentities;
  const userAssigned = /userassigned/i.test(identity.type);
  if (!userAssigned && map !== undefined && map !== null) {
    return `Parameter 'identity.userAssignedIdentities' is not allowed with identity type '${identity.type}': user-assigned identities can only be given with type 'UserAssigned' or '${combined}'.`;
  }
  return undefined;
}

/**
 * The combined type with or without the space: Azure CLI's recorded `az vm identity assign` sends
 * "SystemAssigned,UserAssigned" to Compute and gets 200, and the answer spells it "SystemAssigned,
 * UserAssigned" (azure-cli vm/tests/latest/recordings/test_vm_explicit_msi.yaml).
 */
const IDENTITY_TYPES = new Set(["systemassigned", "userassigned", "systemassigned,userassigned", "none"]);
const normalType = (type: string): string => type.replace(/\s+/g, "").toLowerCase();

function combinedTypeOf(resourceType: string): string {
  return resourceType.toLowerCase().startsWith("microsoft.app/") ? "SystemAssigned,UserAssigned" : "SystemAssigned, UserAssigned";
}

/** What Azure refuses in a federated credential: an issuer, and exactly one of subject or claimsMatchingExpression (a flexible credential). */
function invalidCredential(properties: Record<string, unknown>): string | undefined {
  if (typeof properties["issuer"] !== "string" || !/^https:\/\//i.test(properties["issuer"])) return "properties.issuer must be an https URL.";
  const subject = properties["subject"];
  const expression = properties["claimsMatchingExpression"] as { value?: unknown; languageVersion?: unknown } | undefined;
  const hasSubject = typeof subject === "string" && subject.length > 0;
  const hasExpression = expression !== undefined && expression !== null;
  if (hasSubject === hasExpression) return "Exactly one of properties.subject and properties.claimsMatchingExpression is required.";
  if (hasExpression && (typeof expression.value !== "string" || expression.value.length === 0 || expression.languageVersion !== 1)) {
    return "properties.claimsMatchingExpression needs a value and languageVersion 1.";
  }
  if (properties["audiences"] !== undefined && (!Array.isArray(properties["audiences"]) || properties["audiences"].length !== 1)) return "properties.audiences must hold exactly one audience.";
  return undefined;
}
