import type { AzureClients } from "../azure/clients.js";
import { listRoleAssignmentIdsFor, listRoleAssignmentsFor, readFederatedCredential, readResourceIdentity, readRoleAssignment, readRoleDefinition } from "../azure/arm.js";
import { getDirectoryObjectsByIds } from "../azure/directory.js";
import type { Policy } from "../config/policy.js";
import { errorMessage } from "../errors.js";
import { isRuleEnabled } from "../findings.js";
import type { AbsorbedBy, AttachmentBaseline, Incomplete, RoleAssignment, RoleDefinition } from "../model.js";
import { idKey, resourceTypeOf, roleDefinitionGuid, subscriptionOf } from "../model.js";
import { approvalOf, guardExemption } from "../rules/lib/approval.js";
import { extensionScope, guardSubscriptions, managementGroupOf } from "../rules/lib/guard.js";
import { readSubscriptions } from "../azure/estateReader.js";
import { BUILT_IN_ROLES } from "../rules/lib/roles.js";
import { identityRightsOf } from "../rules/identity-assign-right-granted.js";
import { delegationOf } from "../rules/lib/conditions.js";
import { identityScopeTree } from "../rules/lib/scopes.js";
import type { EventFacts, PrincipalStatus } from "../rules/types.js";
import { apiVersionForType, type ChangeKind, type OperationEntry } from "../events/operations.js";
import type { ResourceEvent } from "../events/resourceEvent.js";
import type { AttachmentBaselineStore, GradedIdentityStore, IdentityCatalogStore } from "../state/eventStores.js";
import type { SelfRoleAssignmentStore } from "../state/selfRoleAssignments.js";
import type { Journal } from "../cleanup/journal.js";
import type { JournalEntry } from "../cleanup/types.js";
import { matchingSource, type ReadBack } from "../desiredState/approval.js";
import type { SourceRead } from "../desiredState/model.js";

/** What the gatherers read from: ARM and Graph, and the stores the sweeps and earlier events left. */
export interface FactSources {
  clients: AzureClients;
  policy: Policy;
  baseline: AttachmentBaselineStore;
  catalog: IdentityCatalogStore;
  graded?: GradedIdentityStore;
  selfAssignments?: SelfRoleAssignmentStore;
  journal?: Journal;
  /** The policy's desired-state sources (read and cached by the composition root): approvals with `desiredState.approves`. */
  desiredState?: () => Promise<SourceRead[]>;
  now: Date;
}

/** What a gatherer hands back besides the facts: what it could not check, and what the commit writes last. */
export interface Gathered {
  facts: EventFacts;
  incomplete: Incomplete[];
  /** What later events compare against (the attachment baseline, the catalog's attachments): written after the commit. */
  after: Array<() => Promise<unknown>>;
  /** Ids whose open findings the event resolves (a delete ARM confirms). */
  deleted?: string[];
}

type Gatherer = (event: ResourceEvent, operation: OperationEntry, sources: FactSources, gathered: Gathered) => Promise<void>;

/**
 * One fact gatherer per change kind (the way operations.ts is a table of operations): each re-reads from ARM
 * what the event is about — the event is a hint, ARM is the truth — and fills the facts the event rules of
 * that change kind evaluate. A gatherer throws when ARM or storage fails; a check it could not make is an
 * `incomplete` entry, and an event whose rules need that check is not decided (eventProcessor.ts).
 */
export const FACT_GATHERERS: Readonly<Record<ChangeKind, Gatherer>> = {
  "role-assignment-write": async (event, _operation, sources, gathered) => {
    const { facts } = gathered;
    if (!facts.approval.approved) {
      const restoredBy = (await restoresOf(event.resourceUri, sources))[0];
      if (restoredBy) facts.approval = { approved: true, reason: `restore ${restoredBy.entryId}` };
    }
    if (facts.approval.approved) return;
    const assignment = await readRoleAssignment(sources.clients, event.resourceUri);
    if (!assignment || !readBackMatches(assignment.id, event, gathered.incomplete)) return;
    facts.roleAssignment = assignment;
    [facts.principal, facts.roleDefinitions] = await Promise.all([principalStatus(sources.clients, assignment.principalId, gathered.incomplete), roleDefinitionsFor(sources.clients, assignment.roleDefinitionId)]);
    // A delegation condition's allow-list names the roles the grant can give: their actions decide its rights.
    for (const [guid, definition] of await conditionRoleDefinitions(sources.clients, assignment)) facts.roleDefinitions.set(guid, definition);
    if (await approvedByDesiredState(facts, { kind: "role-assignment", assignment, roleDefinitions: facts.roleDefinitions }, sources)) return;
    await gatherExposureFacts(facts, assignment, sources, gathered.incomplete);
  },

  "attachment-write": async (event, operation, sources, gathered) => {
    const { facts } = gathered;
    // The baseline is keyed by the resource id case-insensitively: the event's URI finds it as well as the id read back.
    const [resource, entry] = await Promise.all([readResourceIdentity(sources.clients, event.resourceUri, operation.apiVersion ?? "2024-03-01"), sources.baseline.getEntry(event.resourceUri)]);
    if (!resource || !readBackMatches(resource.id, event, gathered.incomplete)) return;
    facts.resource = resource;
    if (!facts.approval.approved) await approvedByDesiredState(facts, { kind: "attachment", resourceId: resource.id, identityIds: resource.userAssignedIdentityIds }, sources);
    const baseline = entry?.identityIds;
    const known = new Set((baseline ?? []).map(idKey));
    // An absorbed identity may be new to this write (docs/guarantees.md "Order does not matter"): a restore may have re-attached it too.
    const added = resource.userAssignedIdentityIds.filter((id) => !known.has(idKey(id)) || entry?.absorbed[idKey(id)]);
    // docs/guarantees.md "Restore is never enforced against": what a restore of the last 24 hours re-attached is known.
    const restored = added.length > 0 && !facts.approval.approved ? (await restoresOf(event.resourceUri, sources)).flatMap((journaled) => (journaled.action.identityId ? [journaled.action.identityId] : [])) : [];
    if (baseline || restored.length > 0) facts.baseline = [...(baseline ?? []), ...restored];
    const restoredKeys = new Set(restored.map(idKey));
    const absorbed = Object.entries(entry?.absorbed ?? {}).filter(([key]) => !restoredKeys.has(key));
    if (absorbed.length > 0) facts.absorbed = Object.fromEntries(absorbed);
    if (!sameIdSet(entry?.identityIds, resource.userAssignedIdentityIds)) {
      const newlyAttached = resource.userAssignedIdentityIds.filter((id) => !known.has(idKey(id)));
      gathered.after.push(() => sources.baseline.set(resource.id, resource.userAssignedIdentityIds, absorbedAfterWrite(facts, entry, sources.now)));
      if (newlyAttached.length > 0) gathered.after.push(() => sources.catalog.addAttachment(resource.id, newlyAttached));
    }
  },

  "federated-credential-write": async (event, _operation, sources, gathered) => {
    if (gathered.facts.approval.approved) return;
    const credential = await readFederatedCredential(sources.clients, event.resourceUri);
    if (credential) gathered.facts.federatedCredential = credential;
    if (credential) await approvedByDesiredState(gathered.facts, { kind: "federated-credential", id: event.resourceUri, ...credential }, sources);
  },

  "federated-credential-delete": async (event, _operation, sources, gathered) => {
    gathered.facts.deleted = (await readFederatedCredential(sources.clients, event.resourceUri)) === undefined;
    if (gathered.facts.deleted) gathered.deleted = [event.resourceUri];
  },

  "identity-write": async (event, _operation, sources, gathered) => {
    if (!gathered.facts.approval.approved) await approvedByDesiredState(gathered.facts, { kind: "identity", id: event.resourceUri }, sources);
  },

  "identity-delete": async (event, _operation, sources, gathered) => {
    gathered.facts.usage = await identityUsage(event.resourceUri, sources);
  },

  "role-assignment-delete": async (event, _operation, sources, gathered) => {
    const { facts } = gathered;
    // The tamper check comes before, and regardless of, pipeline approval: only self and the deployers skip it.
    if (sources.selfAssignments && !guardExemption(event.caller, sources.policy)) facts.selfRoleAssignment = await sources.selfAssignments.has(event.resourceUri);
    // Resolving is not destructive, but the event still only says what was asked: ARM says what is.
    facts.deleted = (await readRoleAssignment(sources.clients, event.resourceUri)) === undefined;
    if (facts.deleted) gathered.deleted = [event.resourceUri];
  },

  "role-definition-change": async (event, _operation, sources, gathered) => {
    if (!guardExemption(event.caller, sources.policy)) gathered.facts.selfRoleDefinition = await heldByGuard(event.resourceUri, sources);
  },

  "resource-change": async () => undefined,

  "guard-scope-write": async (event, _operation, sources, gathered) => {
    // A lock or policy assignment on a management group contains the guard when a guard subscription's ancestry names
    // the group (Resource Graph resourcecontainers, managementGroupAncestorsChain). A read that fails fails the event.
    const group = managementGroupOf(extensionScope(event.resourceUri) ?? "");
    if (!group || guardExemption(event.caller, sources.policy)) return;
    const subscriptions = await readSubscriptions(sources.clients, { subscriptions: guardSubscriptions(sources.policy) });
    const holder = subscriptions.find((subscription) => subscription.managementGroups.some((name) => name.toLowerCase() === group.toLowerCase()));
    if (holder) gathered.facts.guardManagementGroup = { group, subscriptionId: holder.subscriptionId };
  },
};

/**
 * Whether the guard's identity holds this custom role: as the last sweep saw it (a role can only be deleted once
 * unassigned, so a delete is known from there alone), or as ARM lists the identity's assignments in the role's
 * subscription now (a role assigned since). A listing that fails fails the event, for redelivery.
 */
async function heldByGuard(roleDefinitionId: string, sources: FactSources): Promise<boolean> {
  if (await sources.selfAssignments?.holdsRole(roleDefinitionId)) return true;
  const self = sources.policy.self.objectId;
  const subscription = subscriptionOf(roleDefinitionId);
  if (!self || !subscription) return false;
  const guid = roleDefinitionGuid(roleDefinitionId);
  return (await listRoleAssignmentsFor(sources.clients, subscription, self)).some((held) => roleDefinitionGuid(held.roleDefinitionId) === guid);
}

/** The facts of one event: its approval, then what the gatherer of its change kind reads. */
export async function gatherFacts(event: ResourceEvent, operation: OperationEntry, sources: FactSources): Promise<Gathered> {
  const gathered: Gathered = { facts: { event, change: operation.kind, approval: approvalOf(event.caller, event.resourceUri, sources.policy) }, incomplete: [], after: [] };
  await FACT_GATHERERS[operation.kind](event, operation, sources, gathered);
  return gathered;
}

/**
 * `desiredState.approves`: a change whose read-back is what a desired-state source declares is approved as
 * `desired-state <source>`, as an approved pipeline's would be. A source that cannot be read approves nothing.
 */
async function approvedByDesiredState(facts: EventFacts, readBack: ReadBack, sources: FactSources): Promise<boolean> {
  if (facts.approval.approved || !sources.policy.desiredState.approves || !sources.desiredState) return facts.approval.approved;
  const source = matchingSource(await sources.desiredState(), readBack);
  if (source) facts.approval = { approved: true, reason: `desired-state ${source}` };
  return source !== undefined;
}

const RESTORE_APPROVAL_MS = 24 * 3_600_000;

/** Restores of the last 24 hours that wrote this target (newest first): their events are approved as `restore <entry id>`. */
async function restoresOf(targetId: string, sources: FactSources): Promise<JournalEntry[]> {
  if (!sources.journal) return [];
  const since = new Date(sources.now.getTime() - RESTORE_APPROVAL_MS);
  const entries = await sources.journal.since(since);
  return entries
    .filter((entry) => entry.kind === "restore" && entry.status === "done" && idKey(entry.action.targetId) === idKey(targetId))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/** docs/guarantees.md "Canonical ids only": ARM answering for another id than the event's is not trusted (no finding, no baseline write). */
function readBackMatches(readId: string, event: ResourceEvent, incomplete: Incomplete[]): boolean {
  if (idKey(readId) === idKey(event.resourceUri)) return true;
  incomplete.push({ check: `event ${event.id}`, reason: `ARM answered for ${readId.slice(0, 300)}, not the event's ${event.resourceUri.slice(0, 300)}: not trusted`, affected: 1 });
  return false;
}

/**
 * For identity-assign-right-granted: when the new grant gives assign or federate rights, the graded identities
 * (identity catalog) its scope contains and the assignee's assignments now ("already as privileged"). A
 * failed listing leaves that exclusion unchecked (reported as incomplete), never drops the finding.
 */
async function gatherExposureFacts(facts: EventFacts, assignment: RoleAssignment, sources: FactSources, incomplete: Incomplete[]): Promise<void> {
  if (!sources.graded || !isRuleEnabled(sources.policy, "identity-assign-right-granted")) return;
  const definitions = facts.roleDefinitions ?? new Map<string, RoleDefinition>();
  if (identityRightsOf(assignment, definitions).length === 0) return;
  const graded = (await sources.graded.list()).filter((identity) => identityScopeTree(identity.identityId, identity.managementGroups).contains(assignment.scope, identity.identityId));
  facts.gradedIdentities = graded;
  if (graded.length === 0) return;
  const subscriptions = [...new Set(graded.map((identity) => subscriptionOf(identity.identityId)?.toLowerCase() ?? "").filter(Boolean))];
  try {
    const listed = (await Promise.all(subscriptions.map((subscription) => listRoleAssignmentsFor(sources.clients, subscription, assignment.principalId)))).flat();
    const byId = new Map(listed.map((held) => [held.id.toLowerCase(), held]));
    facts.assigneeAssignments = [...byId.values()];
    const merged = new Map(definitions);
    for (const guid of new Set(facts.assigneeAssignments.map((held) => roleDefinitionGuid(held.roleDefinitionId)))) {
      if (merged.has(guid)) continue;
      const held = facts.assigneeAssignments.find((item) => roleDefinitionGuid(item.roleDefinitionId) === guid);
      if (held) for (const [key, value] of await roleDefinitionsFor(sources.clients, held.roleDefinitionId)) merged.set(key, value);
    }
    facts.roleDefinitions = merged;
  } catch (error) {
    incomplete.push({ check: "assignee-assignments", reason: `role assignments of ${assignment.principalId} could not be listed: ${errorMessage(error)}`, affected: 1 });
  }
}

async function principalStatus(clients: AzureClients, principalId: string, incomplete: Incomplete[]): Promise<PrincipalStatus> {
  try {
    const [object] = await getDirectoryObjectsByIds(clients.graph, [principalId]);
    return object ? { state: "found", object } : { state: "missing" };
  } catch (error) {
    incomplete.push({ check: "directory-lookup", reason: `principal ${principalId} could not be looked up: ${errorMessage(error)}`, affected: 1 });
    return { state: "unknown" };
  }
}

const KNOWN_ROLES = new Set<string>(Object.values(BUILT_IN_ROLES));

/**
 * Built-in roles, by GUID, as read once: they are the same in every tenant and only Microsoft changes
 * them. Custom roles are read every time (their actions grade the grant). Every role is read, so an
 * alert names the role as the sweep does ("Owner", not its GUID).
 */
const builtInRoleDefinitions = new Map<string, RoleDefinition>();
const MAX_BUILT_IN_ROLES = 2_000;

async function roleDefinitionsFor(clients: AzureClients, roleDefinitionId: string): Promise<Map<string, RoleDefinition>> {
  const guid = roleDefinitionGuid(roleDefinitionId);
  const known = builtInRoleDefinitions.get(guid);
  if (known) return new Map([[guid, known]]);
  let definition: RoleDefinition | undefined;
  try {
    definition = await readRoleDefinition(clients, roleDefinitionId);
  } catch (error) {
    // The privileged built-in roles are graded by GUID: without the read only their name is missing.
    if (KNOWN_ROLES.has(guid)) return new Map();
    throw error;
  }
  if (definition?.roleType.toLowerCase() === "builtinrole" && builtInRoleDefinitions.size < MAX_BUILT_IN_ROLES) builtInRoleDefinitions.set(guid, definition);
  return definition ? new Map([[guid, definition]]) : new Map();
}

/** The definitions of the roles an assignment's delegation condition allows granting (docs/rules/privileged-role-broad-scope.md). */
async function conditionRoleDefinitions(clients: AzureClients, assignment: RoleAssignment): Promise<Map<string, RoleDefinition>> {
  const delegation = delegationOf(assignment.condition);
  if (delegation.kind !== "allow") return new Map();
  const prefix = assignment.roleDefinitionId.slice(0, assignment.roleDefinitionId.toLowerCase().lastIndexOf("/roledefinitions/") + "/roleDefinitions/".length);
  const read = await Promise.all(delegation.roles.map((guid) => roleDefinitionsFor(clients, `${prefix}${guid}`)));
  return new Map(read.flatMap((definitions) => [...definitions]));
}

/**
 * Who still uses a deleted identity: the resources the identity catalog knows it was attached to (the last
 * sweep, and attachment events since), each re-read from ARM, and its principal's role assignments now. One
 * point read of the catalog, never a page of the tenant's attachments.
 */
async function identityUsage(identityId: string, sources: FactSources): Promise<NonNullable<EventFacts["usage"]>> {
  const { clients } = sources;
  const wanted = idKey(identityId);
  const catalogued = await sources.catalog.get(identityId);
  const resources = new Map<string, string>();
  for (const resourceId of catalogued?.attachedTo ?? []) {
    if (resources.has(idKey(resourceId))) continue;
    const apiVersion = apiVersionForType(resourceTypeOf(resourceId) ?? "");
    if (!apiVersion) continue;
    const current = await readResourceIdentity(clients, resourceId, apiVersion);
    if (current?.userAssignedIdentityIds.some((id) => idKey(id) === wanted)) resources.set(idKey(current.id), current.id);
  }
  const subscription = subscriptionOf(identityId);
  const roleAssignments = catalogued && subscription ? await listRoleAssignmentIdsFor(clients, subscription, catalogued.principalId) : [];
  return { resources: [...resources.values()].sort(), roleAssignments: roleAssignments.sort(), ...(catalogued ? { principalId: catalogued.principalId } : {}) };
}

/**
 * docs/guarantees.md "Order does not matter": the provenance kept after a write. Identities already in the baseline keep
 * theirs; what an approved write's read-back adds is recorded as absorbed by it — its event id and time, and
 * when the read-back happened — so an unapproved write that is not later than that read-back, delivered later,
 * still reports it. What an unapproved write adds was judged by the rule just now: known.
 */
function absorbedAfterWrite(facts: EventFacts, before: AttachmentBaseline | undefined, readBackAt: Date): Record<string, AbsorbedBy> {
  const known = new Set((before?.identityIds ?? []).map(idKey));
  const absorbed: Record<string, AbsorbedBy> = {};
  for (const id of facts.resource?.userAssignedIdentityIds ?? []) {
    const key = idKey(id);
    const kept = before?.absorbed[key];
    if (kept) absorbed[key] = kept;
    else if (!known.has(key) && facts.approval.approved) {
      absorbed[key] = { eventId: facts.event.id, eventTime: facts.event.eventTime, readBackAt: readBackAt.toISOString(), approvedAs: facts.approval.reason };
    }
  }
  return absorbed;
}

function sameIdSet(before: string[] | undefined, now: string[]): boolean {
  if (!before || before.length !== now.length) return false;
  const known = new Set(before.map(idKey));
  return now.every((id) => known.has(idKey(id)));
}
