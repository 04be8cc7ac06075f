/**
 * Plain snapshot types: what adapters in shared/azure/ produce from SDK models and what rules read.
 * Ids keep the spelling ARM gave them; compare them with `sameId`/`idKey`.
 */

export type Tags = Record<string, string>;

export interface Identity {
  id: string;
  name: string;
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  tags: Tags;
  principalId: string;
  clientId: string;
  tenantId: string;
}

/** A resource whose `identity.userAssignedIdentities` names at least one UAMI. */
export interface AttachedResource {
  id: string;
  name: string;
  type: string;
  subscriptionId: string;
  resourceGroup: string;
  tags: Tags;
  /** "SystemAssigned, UserAssigned", "UserAssigned", ... as ARM reports it. */
  identityType: string;
  userAssignedIdentityIds: string[];
}

export interface RoleAssignment {
  id: string;
  scope: string;
  roleDefinitionId: string;
  principalId: string;
  principalType: string;
  /** ISO timestamp; absent when ARM did not report it. */
  createdOn?: string;
  /** An ABAC condition on the assignment; absent when it has none. */
  condition?: string;
}

/**
 * One permission entry of a role definition. Resource Graph spells the keys `Actions`/`NotActions`/…,
 * ARM `actions`/`notActions`/…; adapters read either into this one shape.
 */
export interface RolePermission {
  actions: string[];
  notActions: string[];
  dataActions: string[];
  notDataActions: string[];
}

export interface RoleDefinition {
  id: string;
  /** The GUID that ends the id. */
  name: string;
  roleName: string;
  roleType: string;
  permissions: RolePermission[];
}

export interface FederatedCredential {
  id: string;
  name: string;
  identityId: string;
  issuer: string;
  /** Empty for a flexible credential (claimsMatchingExpression instead of subject). */
  subject: string;
  audiences: string[];
  claimsMatchingExpression?: { value: string; languageVersion: number };
}

/** A subscription and the management groups above it (Resource Graph `resourcecontainers`). */
export interface Subscription {
  subscriptionId: string;
  /** `managementGroupAncestorsChain[].name`, nearest first (the tenant root group last). */
  managementGroups: string[];
}

export interface DirectoryObject {
  id: string;
  odataType: string;
  displayName?: string;
  servicePrincipalType?: string;
  appId?: string;
}

/** A critical or high identity as of the last sweep (the identity catalog; docs/rules/identity-assign-right-granted.md). */
export interface GradedIdentity {
  identityId: string;
  principalId: string;
  grade: "critical" | "high";
  /** Scopes of the identity's assignments at its grade ("already as privileged" needs them). */
  gradeScopes: string[];
  /** Management groups above the identity's subscription, nearest first. */
  managementGroups: string[];
}

/** Directory answer for one principal: found, looked up and absent, or not known (lookup failed). */
export type PrincipalStatus =
  | { state: "found"; object: DirectoryObject }
  | { state: "missing" }
  | { state: "unknown" };

/**
 * The checks a run makes that a rule's verdict can depend on (a rule's `meta.needs`). When one is
 * `incomplete`, the rules that need it neither confirm nor resolve their findings.
 */
export const CHECKS = ["directory-lookup", "federated-credentials", "sign-in-logs", "event-coverage", "event-delivery-metrics", "role-definitions", "desired-state"] as const;
export type CheckId = (typeof CHECKS)[number];

/** What cleanup can change (docs/guarantees.md "Cleanup actions"); which rule takes which is in each rule's `meta.action`. No action deletes an identity. */
export const ACTION_KINDS = ["delete-role-assignment", "detach-identity", "tag-identity"] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];

/** Something a run could not check; reported, never turned into a finding. */
export interface Incomplete {
  /** A CheckId, or another label (`event <id>`, `notification`, `finding-history`) no rule depends on. */
  check: string;
  reason: string;
  affected: number;
}

/**
 * How an identity got into a resource's attachment baseline when an approved write's read-back absorbed it
 * (docs/guarantees.md "Order does not matter"): an unapproved write whose `eventTime` is not after that read-back,
 * delivered later, may be the one that attached it. An identity without this record is known (a sweep saw it, an unapproved write
 * reported it, or the row predates provenance).
 */
export interface AbsorbedBy {
  eventId: string;
  eventTime: string;
  /** When the approved write's read-back saw the identity (absent on rows written before it was kept: eventTime stands in). */
  readBackAt?: string;
  /** The approval of the absorbing write (e.g. `approved pipeline deploy-rg-app`). */
  approvedAs: string;
}

/** A resource's attachment baseline: the identities last seen, and (by `idKey`) those an approved write absorbed. */
export interface AttachmentBaseline {
  identityIds: string[];
  absorbed: Record<string, AbsorbedBy>;
}

/** ARM ids are case-insensitive. */
export function idKey(id: string): string {
  return id.toLowerCase();
}

export function sameId(a: string, b: string): boolean {
  return a.length === b.length && a.toLowerCase() === b.toLowerCase();
}

/** The GUID at the end of a role definition id. */
export function roleDefinitionGuid(roleDefinitionId: string): string {
  const slash = roleDefinitionId.lastIndexOf("/");
  return roleDefinitionId.slice(slash + 1).toLowerCase();
}

const RESOURCE_GROUP = /\/resourcegroups\/([^/]+)/i;
const SUBSCRIPTION = /^\/subscriptions\/([^/]+)/i;

export function resourceGroupOf(id: string): string | undefined {
  return RESOURCE_GROUP.exec(id)?.[1];
}

export function subscriptionOf(id: string): string | undefined {
  return SUBSCRIPTION.exec(id)?.[1];
}

export type ScopeLevel = "managementGroup" | "subscription" | "resourceGroup" | "resource" | "root";

const SLASH = 47;

/** Whether `scope[start, end)` is `word` (lower-case ASCII), ignoring case. */
function segmentIs(scope: string, start: number, end: number, word: string): boolean {
  return end - start === word.length && scope.slice(start, end).toLowerCase() === word;
}

/**
 * The level of a scope from its non-empty segments, read in place: every role assignment of a sweep
 * passes here, so no array of segments is built.
 */
export function scopeLevel(scope: string): ScopeLevel {
  let count = 0;
  let start0 = 0;
  let end0 = 0;
  let start1 = 0;
  let end1 = 0;
  let start2 = 0;
  let end2 = 0;
  for (let at = 0; at < scope.length && count < 5; ) {
    if (scope.charCodeAt(at) === SLASH) {
      at += 1;
      continue;
    }
    const start = at;
    while (at < scope.length && scope.charCodeAt(at) !== SLASH) at += 1;
    if (count === 0) {
      start0 = start;
      end0 = at;
    } else if (count === 1) {
      start1 = start;
      end1 = at;
    } else if (count === 2) {
      start2 = start;
      end2 = at;
    }
    count += 1;
  }
  if (count === 0) return "root";
  if (count >= 2 && segmentIs(scope, start0, end0, "providers") && segmentIs(scope, start1, end1, "microsoft.management")) return "managementGroup";
  if (!segmentIs(scope, start0, end0, "subscriptions")) return "resource";
  if (count === 2) return "subscription";
  if (count === 4 && segmentIs(scope, start2, end2, "resourcegroups")) return "resourceGroup";
  return "resource";
}

/** `Microsoft.Compute/virtualMachines` from a resource id (nested types included). */
export function resourceTypeOf(id: string): string | undefined {
  const parts = id.split("/").filter((part) => part.length > 0);
  const at = parts.map((part) => part.toLowerCase()).lastIndexOf("providers");
  if (at < 0 || parts.length < at + 3) return undefined;
  const namespace = parts[at + 1];
  const types = parts.slice(at + 2).filter((_, index) => index % 2 === 0);
  return `${namespace}/${types.join("/")}`;
}

/**
 * Where one event subscription of a subscription's system topic delivers, as ARM's GET returns it
 * (azure-rest-api-specs eventgrid 2022-06-15 examples: an AzureFunction destination carries
 * `properties.resourceId`; a WebHook only `properties.endpointBaseUrl`, never the full URL). For a WebHook on the
 * app's own host the full URL is asked for (`getFullUrl`), to learn the function it names.
 */
export interface EventDestination {
  eventSubscriptionId: string;
  endpointType: string;
  resourceId?: string;
  endpointBaseUrl?: string;
  /** WebHook: the `functionName` of the full URL, when it could be read (`""`: the URL names none). */
  functionName?: string;
  /** WebHook: why the full URL could not be read. */
  fullUrlProblem?: string;
}

/** One advanced filter of an event subscription, as ARM returns it (`values` for the *In/*With/Contains operators, `value` for the others). */
export interface AdvancedFilter {
  operatorType: string;
  key: string;
  values?: unknown[];
  value?: unknown;
}

/** An event subscription of a subscription system topic: what decides whether it delivers the app's events. */
export interface EventSubscriptionState {
  id: string;
  provisioningState: string;
  /** ISO time; absent: never expires. */
  expirationTimeUtc?: string;
  /** Absent: every event type of the topic. */
  includedEventTypes?: string[];
  subjectBeginsWith?: string;
  subjectEndsWith?: string;
  advancedFilters: AdvancedFilter[];
  destination: EventDestination;
}

/** A `Microsoft.Resources.Subscriptions` system topic and its event subscriptions. */
export interface SystemTopicState {
  id: string;
  topicType: string;
  provisioningState: string;
  eventSubscriptions: EventSubscriptionState[];
}

/** A governed subscription's event delivery: its `Microsoft.Resources.Subscriptions` system topics and their event subscriptions. */
export interface SubscriptionEventDelivery {
  /** As ARM spells it. */
  subscriptionId: string;
  systemTopics: SystemTopicState[];
}

/** Event Grid's delivery metrics of one system topic over the lookback (Azure Monitor, Total aggregation). */
export interface DeliveryMetrics {
  systemTopicId: string;
  DroppedEventCount: number;
  DeadLetteredCount: number;
  DeliveryAttemptFailCount: number;
}

/**
 * Whether a URL is on the Function App's host: `<name>.azurewebsites.net`, or the unique default hostname
 * `<name>-<hash>.<region>.azurewebsites.net` that apps created since June 2024 may get (MicrosoftDocs/azure-docs
 * articles/app-service/includes/regionalization-note.md: "myapp-ds27dh7271aah175.westus-01.azurewebsites.net").
 */
export function onAppHost(url: string, functionAppId: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  const name = (functionAppId.split("/").filter(Boolean).pop() ?? "").toLowerCase();
  if (!name) return false;
  if (host === `${name}.azurewebsites.net`) return true;
  const unique = /^([a-z0-9-]+)-[a-z0-9]{16}\.[a-z0-9-]+\.azurewebsites\.net$/.exec(host);
  return unique?.[1] === name;
}

/**
 * Graph getByIds returns only the `types` asked for: a principal of a type not asked for looks deleted.
 * These are the role-assignment principal types it can look up (Learn: "directoryObject: getByIds",
 * `types`: user, group, device, servicePrincipal, ...; "Role Assignments - Get", principalType: User,
 * Group, ServicePrincipal, ForeignGroup, Device). ForeignGroup lives in another tenant.
 */
export const LOOKUP_TYPES = ["user", "group", "servicePrincipal", "device"] as const;

/** Whether the directory lookup can answer for a role assignment of this principalType: if not, it is never an orphan. */
export function isLookupType(principalType: string): boolean {
  const type = principalType.toLowerCase();
  return LOOKUP_TYPES.some((candidate) => candidate.toLowerCase() === type);
}
