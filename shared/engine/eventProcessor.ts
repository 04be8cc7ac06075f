import type { AzureClients } from "../azure/clients.js";
import { listRoleAssignmentIdsFor, listRoleAssignmentsFor, readFederatedCredential, readResourceIdentity, readRoleAssignment, readRoleDefinition } from "../azure/arm.js";
import { getDirectoryObjectsByIds } from "../azure/directory.js";
import { QUERIES } from "../azure/queries.js";
import { queryPages } from "../azure/resourceGraph.js";
import { toAttachedResource } from "../azure/estateReader.js";
import type { Policy } from "../config/policy.js";
import { errorMessage, statusCodeOf } from "../errors.js";
import { FindingCollector, isRuleEnabled, type Finding } from "../findings.js";
import type { AbsorbedBy, AttachmentBaseline, Incomplete, RoleAssignment, RoleDefinition } from "../model.js";
import { idKey, roleDefinitionGuid, resourceTypeOf, subscriptionOf } from "../model.js";
import { eventRules } from "../rules/index.js";
import { approvalOf } from "../rules/lib/approval.js";
import { BUILT_IN_ROLES, rolePermissions } from "../rules/lib/roles.js";
import { rightsGiven, rightsOfPermissions } from "../rules/lib/exposure.js";
import { identityScopeTree } from "../rules/lib/scopes.js";
import type { EventFacts, PrincipalStatus } from "../rules/types.js";
import { operationFor, apiVersionForType, type OperationEntry } from "../events/operations.js";
import { parseResourceEvent, SYSTEM_TOPIC_EVENT_TYPES, type ResourceEvent } from "../events/resourceEvent.js";
import type { AttachmentBaselineStore, DeliveryRecordStore, GradedIdentityStore, IdentityCatalogStore } from "../state/eventStores.js";
import type { Notifier } from "../notify/notifier.js";
import { recordEvent, recordOutbox } from "../telemetry.js";
import type { SelfRoleAssignmentStore } from "../state/selfRoleAssignments.js";
import { sortFindings } from "../findings.js";
import { countRoleAssignments } from "../azure/armActions.js";
import { budgetNotice, cleanupMode, planCleanup } from "../cleanup/plan.js";
import { runCleanup, type CleanupOptions } from "../cleanup/pipeline.js";
import type { ActionRecord } from "../cleanup/record.js";
import { actionForRule } from "../rules/index.js";
import type { Journal } from "../cleanup/journal.js";
import type { JournalEntry } from "../cleanup/types.js";
import { commitDeletion, commitEvent, type FindingStateStore } from "./findingLifecycle.js";

export interface EventDependencies {
  clients: AzureClients;
  policy: Policy;
  dedupe: DeliveryRecordStore;
  baseline: AttachmentBaselineStore;
  catalog: IdentityCatalogStore;
  /** The graded identities of the last sweep (identity-assign-right-granted); absent: that rule sees none. */
  graded?: GradedIdentityStore;
  /** The app's own role assignments as of the last sweep (governance-tampering); absent: not known. */
  selfAssignments?: SelfRoleAssignmentStore;
  /** Sends new event findings at once (a Teams card each); absent: findings are only returned. */
  notifier?: Notifier;
  /** With the notifier: the finding state that says which event findings are new. */
  findingState?: FindingStateStore;
  /** The app's cleanup: actions of enforced rules go to the cleanup queue. Absent: findings only. */
  cleanup?: CleanupOptions;
  /** The journal, read for restores of the last 24 hours: their own writes are approved. */
  journal?: Journal;
  now?: () => Date;
}

export type EventStatus = "processed" | "ignored" | "duplicate" | "malformed" | "failed";

export interface EventOutcome {
  eventId: string;
  status: EventStatus;
  reason?: string;
  findings: Finding[];
  incomplete: Incomplete[];
  actions?: ActionRecord[];
  /** Fingerprints of open findings this event resolved (a delete of what they were about). */
  resolved?: string[];
}

const SYSTEM_TYPES = new Set(SYSTEM_TOPIC_EVENT_TYPES.map((type) => type.toLowerCase()));
const KNOWN_ROLES = new Set<string>(Object.values(BUILT_IN_ROLES));
const EVENT_RULE_META = new Map(eventRules.map((rule) => [rule.meta.id, rule.meta]));

/**
 * One event, end to end: parse (malformed → dropped), filter (not ours → ignored), read current state
 * back from ARM, evaluate the pure event rules, and only when that gives findings write its delivery record
 * (a delivery that reports nothing needs no delivery record: the baseline it may write is state, and a
 * redelivery writes the same). A failure forgets the record and reports `failed`, so a redelivery
 * is handled rather than lost.
 */
export async function handleResourceEvent(raw: unknown, deps: EventDependencies): Promise<EventOutcome> {
  const outcome = await handleEvent(raw, deps);
  recordEvent(outcome, deps.policy);
  return outcome;
}

async function handleEvent(raw: unknown, deps: EventDependencies): Promise<EventOutcome> {
  const parsed = parseResourceEvent(raw);
  if (!parsed.ok) return { eventId: parsed.id, status: "malformed", reason: parsed.reason, findings: [], incomplete: [] };
  const event = parsed.event;
  const outcome = (status: EventStatus, reason?: string): EventOutcome => ({ eventId: event.id, status, ...(reason ? { reason } : {}), findings: [], incomplete: [] });
  if (!SYSTEM_TYPES.has(event.eventType.toLowerCase())) return outcome("ignored", `event type ${event.eventType}`);
  if (event.status.toLowerCase() !== "succeeded") return outcome("ignored", `status ${event.status}`);
  const operation = operationFor(event.operationName);
  if (!operation) return outcome("ignored", `operation ${event.operationName}`);
  if (deps.dedupe.recordedHere(event.id)) return outcome("duplicate");
  const now = deps.now?.() ?? new Date();
  let recorded = false;
  const record = async (): Promise<boolean> => (recorded = await deps.dedupe.record(event.id, now));
  try {
    // A delete queries Resource Graph: it writes the delivery record first, so a redelivery spends no quota.
    if (operation.kind === "identity-delete" && !(await record())) return outcome("duplicate");
    const incomplete: Incomplete[] = [];
    const stored: { baseline?: AttachmentBaseline } = {};
    const facts = await gatherFacts(event, operation, deps, incomplete, stored);
    const collector = new FindingCollector(deps.policy, EVENT_RULE_META, now);
    for (const rule of eventRules) {
      if (!rule.changes.includes(operation.kind) || !isRuleEnabled(deps.policy, rule.meta.id)) continue;
      for (const draft of rule.evaluate(facts, deps.policy)) collector.add(draft);
    }
    let findings = collector.sorted();
    if (findings.length > 0 && !recorded && !(await record())) return outcome("duplicate");
    if (operation.kind === "attachment-write" && facts.resource && !sameIdSet(stored.baseline?.identityIds, facts.resource.userAssignedIdentityIds)) {
      await deps.baseline.set(facts.resource.id, facts.resource.userAssignedIdentityIds, absorbedAfterWrite(facts, stored.baseline));
    }
    const runId = `event-${event.id}`;
    const planned = deps.cleanup ? await planEventCleanup(findings, event, runId, deps, deps.cleanup, now) : undefined;
    if (planned?.breakerNotice) findings = sortFindings([...findings, planned.breakerNotice]);
    const { notifier, findingState } = deps;
    const sent = notifier && findingState ? await commitEvent(findingState, findings, now, (lifecycle) => notifier.afterEvent(lifecycle, deps.policy, runId, now)) : undefined;
    for (const error of sent?.errors ?? []) incomplete.push({ check: "notification", reason: `${error} (kept in the outbox for the next run)`, affected: 1 });
    recordOutbox(sent?.pending);
    // A deleted role assignment or federated credential resolves the open findings about it, in every scope.
    const resolved =
      facts.deleted && notifier && findingState ? await commitDeletion(findingState, [event.resourceUri], now, (lifecycle) => notifier.afterEvent(lifecycle, deps.policy, runId, now)) : [];
    const actions = planned && deps.cleanup ? await runCleanup(planned.plan, runId, deps.cleanup) : undefined;
    const notice = actions ? budgetNotice(actions, deps.policy, runId, "events") : undefined;
    if (notice) findings = sortFindings([...findings, notice]);
    return {
      eventId: event.id,
      status: "processed",
      findings,
      incomplete,
      ...(actions && actions.length > 0 ? { actions } : {}),
      ...(resolved.length > 0 ? { resolved: resolved.map((record) => record.fingerprint) } : {}),
    };
  } catch (error) {
    if (recorded) await deps.dedupe.forget(event.id).catch(() => undefined);
    // docs/guarantees.md "Poison never loops": what a redelivery cannot change is acknowledged and logged.
    if (isPermanent(error)) return outcome("malformed", `permanent failure, not redelivered: ${errorMessage(error)}`);
    return { ...outcome("failed", errorMessage(error)), incomplete: [{ check: `event ${event.id}`, reason: errorMessage(error), affected: 1 }] };
  }
}

/**
 * 400 (bad request), 404 (not found), 414/431 (URI or headers too long) for the event's own resource
 * answer the same on every redelivery. 429, 5xx, a timeout (no status) and storage being down are
 * transient: the trigger fails and Event Grid redelivers.
 */
const PERMANENT_STATUSES = new Set([400, 404, 414, 431]);

function isPermanent(error: unknown): boolean {
  const status = statusCodeOf(error);
  return status !== undefined && PERMANENT_STATUSES.has(status);
}

/** `stored` receives the baseline as stored (facts.baseline may add what a restore re-attached). */
async function gatherFacts(event: ResourceEvent, operation: OperationEntry, deps: EventDependencies, incomplete: Incomplete[], stored: { baseline?: AttachmentBaseline }): Promise<EventFacts> {
  const approval = approvalOf(event.caller, event.resourceUri, deps.policy);
  const facts: EventFacts = { event, change: operation.kind, approval };
  const { clients } = deps;
  switch (operation.kind) {
    case "role-assignment-write": {
      if (!approval.approved) {
        const restoredBy = (await restoresOf(event.resourceUri, deps))[0];
        if (restoredBy) facts.approval = { approved: true, reason: `restore ${restoredBy.entryId}` };
      }
      if (facts.approval.approved) return facts;
      const assignment = await readRoleAssignment(clients, event.resourceUri);
      if (!assignment) return facts;
      if (!readBackMatches(assignment.id, event, incomplete)) return facts;
      facts.roleAssignment = assignment;
      [facts.principal, facts.roleDefinitions] = await Promise.all([principalStatus(clients, assignment.principalId, incomplete), roleDefinitionsFor(clients, assignment.roleDefinitionId)]);
      await gatherExposureFacts(facts, assignment, deps, incomplete);
      return facts;
    }
    case "attachment-write": {
      // The baseline is keyed by the resource id case-insensitively: the event's URI finds it as well as the id read back.
      const [resource, entry] = await Promise.all([readResourceIdentity(clients, event.resourceUri, operation.apiVersion ?? "2024-03-01"), deps.baseline.getEntry(event.resourceUri)]);
      if (!resource) return facts;
      if (!readBackMatches(resource.id, event, incomplete)) return facts;
      facts.resource = resource;
      const baseline = entry?.identityIds;
      const known = new Set((baseline ?? []).map(idKey));
      // An absorbed identity may be new to this write (docs/guarantees.md "Order does not matter"): a restore may have re-attached it too.
      const added = resource.userAssignedIdentityIds.filter((id) => !known.has(idKey(id)) || entry?.absorbed[idKey(id)]);
      // docs/guarantees.md "Restore is never enforced against": what a restore of the last 24 hours re-attached is known.
      const restored = added.length > 0 && !approval.approved ? (await restoresOf(event.resourceUri, deps)).flatMap((entry) => (entry.action.identityId ? [entry.action.identityId] : [])) : [];
      if (entry) stored.baseline = entry;
      if (baseline || restored.length > 0) facts.baseline = [...(baseline ?? []), ...restored];
      const restoredKeys = new Set(restored.map(idKey));
      const absorbed = Object.entries(entry?.absorbed ?? {}).filter(([key]) => !restoredKeys.has(key));
      if (absorbed.length > 0) facts.absorbed = Object.fromEntries(absorbed);
      return facts;
    }
    case "federated-credential-write": {
      if (approval.approved) return facts;
      const credential = await readFederatedCredential(clients, event.resourceUri);
      if (credential) facts.federatedCredential = credential;
      return facts;
    }
    case "identity-delete":
      facts.usage = await identityUsage(event.resourceUri, deps);
      return facts;
    case "role-assignment-delete":
      if (!approval.approved && deps.selfAssignments) facts.selfRoleAssignment = await deps.selfAssignments.has(event.resourceUri);
      // Resolving is not destructive, but the event still only says what was asked: ARM says what is.
      facts.deleted = (await readRoleAssignment(clients, event.resourceUri)) === undefined;
      return facts;
    case "identity-write":
    case "resource-change":
      return facts;
    case "federated-credential-delete":
      facts.deleted = (await readFederatedCredential(clients, event.resourceUri)) === undefined;
      return facts;
  }
}

const RESTORE_APPROVAL_MS = 24 * 3_600_000;

/** Restores of the last 24 hours that wrote this target (newest first): their events are approved as `restore <entry id>`. */
async function restoresOf(targetId: string, deps: EventDependencies): Promise<JournalEntry[]> {
  if (!deps.journal) return [];
  const now = deps.now?.() ?? new Date();
  const since = new Date(now.getTime() - RESTORE_APPROVAL_MS);
  const entries = await deps.journal.since(since);
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
async function gatherExposureFacts(facts: EventFacts, assignment: RoleAssignment, deps: EventDependencies, incomplete: Incomplete[]): Promise<void> {
  if (!deps.graded || !isRuleEnabled(deps.policy, "identity-assign-right-granted")) return;
  const definitions = facts.roleDefinitions ?? new Map<string, RoleDefinition>();
  if (rightsGiven(rightsOfPermissions(rolePermissions(roleDefinitionGuid(assignment.roleDefinitionId), definitions))).length === 0) return;
  const graded = (await deps.graded.list()).filter((identity) => identityScopeTree(identity.identityId, identity.managementGroups).contains(assignment.scope, identity.identityId));
  facts.gradedIdentities = graded;
  if (graded.length === 0) return;
  const subscriptions = [...new Set(graded.map((identity) => subscriptionOf(identity.identityId)?.toLowerCase() ?? "").filter(Boolean))];
  try {
    const listed = (await Promise.all(subscriptions.map((subscription) => listRoleAssignmentsFor(deps.clients, subscription, assignment.principalId)))).flat();
    const byId = new Map(listed.map((held) => [held.id.toLowerCase(), held]));
    facts.assigneeAssignments = [...byId.values()];
    const merged = new Map(definitions);
    for (const guid of new Set(facts.assigneeAssignments.map((held) => roleDefinitionGuid(held.roleDefinitionId)))) {
      if (merged.has(guid)) continue;
      const held = facts.assigneeAssignments.find((item) => roleDefinitionGuid(item.roleDefinitionId) === guid);
      if (held) for (const [key, value] of await roleDefinitionsFor(deps.clients, held.roleDefinitionId)) merged.set(key, value);
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

/** Resources that still reference the identity (Resource Graph now, and the baseline re-read) and its principal's role assignments. */
async function identityUsage(identityId: string, deps: EventDependencies): Promise<NonNullable<EventFacts["usage"]>> {
  const { clients } = deps;
  const wanted = idKey(identityId);
  const resources = new Map<string, string>();
  for await (const page of queryPages(clients.resourceGraph, clients.resourceGraphPacer, { query: QUERIES.attachments })) {
    for (const row of page) {
      const resource = toAttachedResource(row);
      if (resource?.userAssignedIdentityIds.some((id) => idKey(id) === wanted)) resources.set(idKey(resource.id), resource.id);
    }
  }
  for (const resourceId of await deps.baseline.resourcesReferencing(identityId)) {
    if (resources.has(idKey(resourceId))) continue;
    const apiVersion = apiVersionForType(resourceTypeOf(resourceId) ?? "");
    if (!apiVersion) continue;
    const current = await readResourceIdentity(clients, resourceId, apiVersion);
    if (current?.userAssignedIdentityIds.some((id) => idKey(id) === wanted)) resources.set(idKey(current.id), current.id);
  }
  const catalogued = await deps.catalog.get(identityId);
  const subscription = subscriptionOf(identityId);
  const roleAssignments = catalogued && subscription ? await listRoleAssignmentIdsFor(clients, subscription, catalogued.principalId) : [];
  return { resources: [...resources.values()].sort(), roleAssignments: roleAssignments.sort(), ...(catalogued ? { principalId: catalogued.principalId } : {}) };
}

/**
 * One event is one run for docs/guarantees.md "Cleanup actions": its enforced findings become work items unless the
 * breaker trips; maxDeletePercent is judged against the role assignments there are now.
 */
async function planEventCleanup(findings: Finding[], event: ResourceEvent, runId: string, deps: EventDependencies, cleanup: CleanupOptions, now: Date) {
  if (cleanupMode(deps.policy, cleanup.forceEnforce) === "off") return undefined;
  const deletes = findings.some((finding) => actionForRule(finding.ruleId) === "delete-role-assignment");
  const subscription = subscriptionOf(event.resourceUri);
  const roleAssignmentsSeen = deletes ? await countRoleAssignments(deps.clients, subscription ? [subscription] : []).catch(() => undefined) : 0;
  return planCleanup(findings, deps.policy, { forceEnforce: cleanup.forceEnforce, consecutive: () => 1, roleAssignmentsSeen, now, runId, scope: "events" });
}

/**
 * docs/guarantees.md "Order does not matter": the provenance kept after a write. Identities already in the baseline keep
 * theirs; what an approved write's read-back adds is recorded as absorbed by it (its event id and time), so an
 * unapproved write with an earlier eventTime, delivered later, still reports it. What an unapproved write adds
 * was judged by the rule just now: known.
 */
function absorbedAfterWrite(facts: EventFacts, before: AttachmentBaseline | undefined): Record<string, AbsorbedBy> {
  const known = new Set((before?.identityIds ?? []).map(idKey));
  const absorbed: Record<string, AbsorbedBy> = {};
  for (const id of facts.resource?.userAssignedIdentityIds ?? []) {
    const key = idKey(id);
    const kept = before?.absorbed[key];
    if (kept) absorbed[key] = kept;
    else if (!known.has(key) && facts.approval.approved) absorbed[key] = { eventId: facts.event.id, eventTime: facts.event.eventTime, approvedAs: facts.approval.reason };
  }
  return absorbed;
}

function sameIdSet(before: string[] | undefined, now: string[]): boolean {
  if (!before || before.length !== now.length) return false;
  const known = new Set(before.map(idKey));
  return now.every((id) => known.has(idKey(id)));
}
