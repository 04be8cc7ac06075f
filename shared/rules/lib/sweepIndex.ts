import type { AttachedResource, FederatedCredential, Identity, RoleDefinition, Subscription, SubscriptionEventDelivery, DeliveryMetrics } from "../../model.js";
import { idKey, roleDefinitionGuid, subscriptionOf } from "../../model.js";
import { ScopeTree } from "./scopes.js";
import type { CorePolicy } from "../../config/policyCore.js";
import { ExposureCollector } from "./exposure.js";
import type { DriftResult } from "../../desiredState/compare.js";

/** What a sweep read, as the sweep rules see it (the index below is built from it). */
export interface SweepInventory {
  now: Date;
  identities: Identity[];
  attachments: AttachedResource[];
  roleDefinitions: RoleDefinition[];
  federatedCredentials: FederatedCredential[];
  /** Identities (lower-cased ids) whose federated credentials ARM did not list: unknown, not "none". */
  federatedCredentialsUnknown?: Set<string>;
  /** Role assignments held per principal id (lower-case), counted while streaming. */
  assignmentsByPrincipal: Map<string, number>;
  /** Last sign-in per principal id (lower-case); undefined when sign-in logs are not configured or failed. */
  lastSignIns?: Map<string, Date>;
  /** Subscriptions the sweep covered (lower-case), explicit or seen in the results. */
  subscriptionsInScope: Set<string>;
  /** Subscriptions with their management-group chains (scope containment); empty when not read. */
  subscriptions?: Subscription[];
  /** Rights and grades gathered while role assignments streamed (absent: exposure not evaluated). */
  exposure?: ExposureCollector;
  /**
   * Event delivery per subscription (lower-case id), read only when `self.functionAppId` is set. A
   * subscription whose read failed is absent (an incomplete check, never a finding).
   */
  eventDelivery?: Map<string, SubscriptionEventDelivery>;
  /** event-delivery-failing: Event Grid's delivery metrics per system topic delivering to the app (lower-cased id); a topic that could not be read is absent. */
  deliveryMetrics?: Map<string, DeliveryMetrics>;
  /** Azure against the desired-state sources (absent: no sources, or no drift rule on). */
  drift?: DriftResult;
}

/** Lookups every rule needs, built once per sweep (pure). */
export interface SweepIndex {
  inventory: SweepInventory;
  identityById: Map<string, Identity>;
  identityByPrincipal: Map<string, Identity>;
  attachmentsByIdentity: Map<string, AttachedResource[]>;
  credentialsByIdentity: Map<string, FederatedCredential[]>;
  roleDefinitionByGuid: Map<string, RoleDefinition>;
  scopeTree: ScopeTree;
}

export function buildSweepIndex(inventory: SweepInventory): SweepIndex {
  const identityById = new Map<string, Identity>();
  const identityByPrincipal = new Map<string, Identity>();
  // Both maps are keyed by the lower-cased identity id: one copy of each key, not one per map.
  const keyOf = new Map<string, string>();
  for (const identity of inventory.identities) {
    const key = idKey(identity.id);
    keyOf.set(identity.id, key);
    identityById.set(key, identity);
    if (identity.principalId) identityByPrincipal.set(identity.principalId.toLowerCase(), identity);
  }
  const attachmentsByIdentity = new Map<string, AttachedResource[]>();
  for (const resource of inventory.attachments) {
    for (const identityId of resource.userAssignedIdentityIds) push(attachmentsByIdentity, keyOf.get(identityId) ?? idKey(identityId), resource);
  }
  const credentialsByIdentity = indexCredentials(inventory.federatedCredentials);
  const roleDefinitionByGuid = new Map<string, RoleDefinition>();
  for (const definition of inventory.roleDefinitions) roleDefinitionByGuid.set(roleDefinitionGuid(definition.id), definition);
  return { inventory, identityById, identityByPrincipal, attachmentsByIdentity, credentialsByIdentity, roleDefinitionByGuid, scopeTree: new ScopeTree(inventory.subscriptions ?? []) };
}

/** Federated credentials by the lower-cased id of their identity. */
export function indexCredentials(credentials: readonly FederatedCredential[]): Map<string, FederatedCredential[]> {
  const byIdentity = new Map<string, FederatedCredential[]>();
  for (const credential of credentials) push(byIdentity, idKey(credential.identityId), credential);
  return byIdentity;
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Role assignments the identity's principal holds (0 when it holds none). */
export function assignmentCount(index: SweepIndex, identity: Identity): number {
  return identity.principalId ? (index.inventory.assignmentsByPrincipal.get(identity.principalId.toLowerCase()) ?? 0) : 0;
}

export function inScope(index: SweepIndex, id: string): boolean {
  const subscription = subscriptionOf(id)?.toLowerCase();
  return subscription !== undefined && index.inventory.subscriptionsInScope.has(subscription);
}

/**
 * The exposure collector a sweep feeds: rights at a resource that is not one of the index's identities are
 * dropped as they stream, and with a policy only its approved pipelines' application ids are kept.
 */
export function exposureCollectorFor(index: SweepIndex, policy?: CorePolicy): ExposureCollector {
  const appIds = policy ? new Set(policy.approvedPipelines.flatMap((pipeline) => (pipeline.appId ? [pipeline.appId.toLowerCase()] : []))) : undefined;
  return new ExposureCollector(index.roleDefinitionByGuid, { ...(appIds ? { appIds } : {}), isIdentity: (key) => index.identityById.has(key) });
}
