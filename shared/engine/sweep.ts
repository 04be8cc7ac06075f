import { randomUUID } from "node:crypto";
import type { AzureClients } from "../azure/clients.js";
import { getDirectoryObjectsByIds, GET_BY_IDS_LIMIT } from "../azure/directory.js";
import {
  readAksClusters,
  readAttachments,
  readIdentities,
  readRoleDefinitions,
  readSubscriptions,
  streamRoleAssignments,
  type ReadOptions,
} from "../azure/estateReader.js";
import { readLastSignIns } from "../azure/signIns.js";
import { listFederatedCredentials } from "../azure/federatedCredentials.js";
import { listSubscriptionIds, readEventDelivery } from "../azure/eventDelivery.js";
import { readDeliveryMetrics } from "../azure/deliveryMetrics.js";
import { OPERATIONS } from "../events/operations.js";
import { judgeDelivery } from "../rules/lib/eventDelivery.js";
import pLimit from "p-limit";
import type { Policy } from "../config/policy.js";
import { errorMessage } from "../errors.js";
import { FindingCollector, isRuleEnabled, summarize, type RunReport } from "../findings.js";
import type { AttachedResource, DeliveryMetrics, FederatedCredential, Identity, Incomplete, RoleAssignment, RoleDefinition, Subscription, SubscriptionEventDelivery } from "../model.js";
import { roleDefinitionGuid, subscriptionOf } from "../model.js";
import { sweepRules } from "../rules/index.js";
import { buildSweepIndex, exposureCollectorFor, indexCredentials, type SweepIndex, type SweepInventory } from "../rules/lib/sweepIndex.js";
import type { AssignmentRule, InventoryRule, PrincipalStatus } from "../rules/types.js";
import { DirectoryResolver } from "./directoryResolver.js";
import { completePrivilege, eligibilityScopes, groupExpanderFor, readEligibilities, readEntra } from "./privilegeReads.js";
import type { ExposureCollector } from "../rules/lib/exposure.js";
import { builtInFallbackGuids } from "../rules/lib/roles.js";
import { isAksIssuer } from "../rules/lib/subjects.js";
import { DriftComparison } from "../desiredState/compare.js";
import { readDesiredStateSources } from "./desiredStateSources.js";
import type { SourceRead } from "../desiredState/model.js";

export interface SweepOptions extends ReadOptions {
  now?: Date;
  runId?: string;
  /** Parallel Graph getByIds calls (each ≤1,000 ids). */
  directoryConcurrency?: number;
  /** Receives the identities and attachments read (the sweep job refreshes the event baseline from them). */
  onInventory?: (identities: Identity[], attachments: AttachedResource[]) => void;
  /** Gather exposure even when privileged-identity-exposed is off (the sweep job's catalog keeps grades). */
  collectExposure?: boolean;
  /** Receives the index once the rules have run (grades for the identity catalog). */
  onIndex?: (index: SweepIndex) => void;
  /** Receives the role assignments held by `self.objectId` (governance-tampering knows them by id and role). */
  onSelfRoleAssignments?: (assignments: Array<{ id: string; roleDefinitionId: string }>) => void;
  /** Receives everything the sweep reads, as it reads it: the report builds its inventory from the same reads. */
  tap?: SweepTap;
  /** Receives the desired-state sources as read (the cleanup never removes what they declare). */
  onDesiredState?: (sources: SourceRead[]) => void;
}

export interface SweepTap {
  /** Throwing here ends the sweep before the role assignments stream. `exposure`: the sweep's own collector (with `collectExposure` or a privilege rule on), complete with groups, eligibility and Entra ID by the time `federatedCredentials` is called. */
  estate(read: { identities: Identity[]; roleDefinitions: RoleDefinition[]; attachments: AttachedResource[]; subscriptions: Subscription[]; exposure?: ExposureCollector }): void;
  /** Each role assignment, with its principal as the directory answered (unknown when it could not or need not be asked). */
  roleAssignment(assignment: RoleAssignment, principal: PrincipalStatus): void;
  federatedCredentials(listing: { credentials: FederatedCredential[]; failed: Array<{ identityId: string; reason: string }> }): void;
}

const UNKNOWN_PRINCIPAL: PrincipalStatus = { state: "unknown" };

/** The rules that need grades and holders (docs/rules/privileged-identity-exposed.md): without one of them, none of it is read. */
const PRIVILEGE_RULES = ["privileged-identity-exposed", "identity-privileged-in-entra", "identity-privilege-via-group", "federated-credential-untrusted-subject"];
const DRIFT_RULES = ["drift-changed", "drift-missing-in-azure", "drift-not-in-code"] as const;

/** Subscriptions whose event subscriptions are listed at the same time (two ARM reads each, or more). */
const EVENT_COVERAGE_CONCURRENCY = 4;

/**
 * One sweep: gather state through Resource Graph (role assignments streamed page by page), resolve
 * principals in Microsoft Graph as they arrive, evaluate the pure rules, collect findings.
 * Resource Graph failing fails the sweep (nothing is concluded); Graph or Log Analytics failing makes
 * the affected checks `incomplete`, never findings.
 */
export async function runSweep(clients: AzureClients, policy: Policy, options: SweepOptions = {}): Promise<RunReport> {
  const now = options.now ?? new Date();
  const startedAt = new Date().toISOString();
  const runId = options.runId ?? `sweep-${randomUUID()}`;
  const incomplete: Incomplete[] = [];
  const enabled = sweepRules.filter((rule) => isRuleEnabled(policy, rule.meta.id));
  const assignmentRules = enabled.filter((rule): rule is AssignmentRule => rule.kind === "role-assignment");
  const inventoryRules = enabled.filter((rule): rule is InventoryRule => rule.kind === "inventory");
  const collector = new FindingCollector(policy, new Map(sweepRules.map((rule) => [rule.meta.id, rule.meta])), now);

  const signInsWanted = policy.signInLogs.workspaceId !== null && isRuleEnabled(policy, "stale-identity");
  const identitiesRead = readIdentities(clients, options);
  const driftWanted = policy.desiredState.sources.length > 0 && DRIFT_RULES.some((ruleId) => isRuleEnabled(policy, ruleId));
  // Read whenever the policy names sources: besides the drift rules, the cleanup never removes what they declare.
  const desiredRead = policy.desiredState.sources.length > 0 ? readDesiredStateSources(policy.desiredState.sources, clients) : Promise.resolve(undefined);
  // Federated credentials come from ARM, one call per identity, paced by each subscription's read
  // bucket: the listing runs beside the role-assignment stream and joins the index before the
  // inventory rules, the only ones that read it.
  const credentialsListed = identitiesRead.then((read) => listFederatedCredentials(clients, read, { ...(options.signal ? { signal: options.signal } : {}) }));
  credentialsListed.catch(() => undefined);
  const privilegeWanted = PRIVILEGE_RULES.some((id) => isRuleEnabled(policy, id)) || options.collectExposure === true;
  // Three tenant-wide Graph listings, beside everything else (docs/rules/identity-privileged-in-entra.md).
  const entraRead = privilegeWanted ? readEntra(clients, incomplete, options.signal) : undefined;
  const [identities, roleDefinitions, attachments, subscriptions, lastSignIns, desired] = await Promise.all([
    identitiesRead,
    readRoleDefinitions(clients, options),
    readAttachments(clients, options),
    readSubscriptions(clients, options),
    signInsWanted
      ? readLastSignIns(clients, policy.signInLogs.workspaceId ?? "", policy.signInLogs.lookbackDays).catch((error: unknown) => {
          incomplete.push({ check: "sign-in-logs", reason: `sign-in logs could not be read: ${errorMessage(error)}`, affected: 0 });
          return undefined;
        })
      : Promise.resolve(undefined),
    desiredRead,
  ]);

  const subscriptionsInScope = new Set((options.subscriptions ?? []).map((subscription) => subscription.toLowerCase()));
  for (const item of [...identities, ...attachments]) {
    const subscription = subscriptionOf(item.id);
    if (subscription) subscriptionsInScope.add(subscription.toLowerCase());
  }
  const inventory: SweepInventory = {
    now,
    identities,
    attachments,
    roleDefinitions,
    federatedCredentials: [],
    federatedCredentialsUnknown: new Set(),
    assignmentsByPrincipal: new Map(),
    subscriptionsInScope,
    subscriptions,
    ...(lastSignIns ? { lastSignIns } : {}),
  };
  const functionAppId = policy.self.functionAppId;
  if (functionAppId && (isRuleEnabled(policy, "event-coverage-missing") || isRuleEnabled(policy, "event-delivery-failing"))) {
    inventory.eventDelivery = await readEventCoverage(clients, await coverageScope(clients, options.subscriptions ?? [], subscriptionsInScope, incomplete), functionAppId, incomplete);
    if (isRuleEnabled(policy, "event-delivery-failing")) inventory.deliveryMetrics = await readDeliveryHealth(clients, inventory.eventDelivery, functionAppId, policy, now, incomplete);
  }
  const index = buildSweepIndex(inventory);
  // Exposure keeps only the assignments that give a right or a grade, indexed while they stream
  // (docs/rules/privileged-identity-exposed.md); the groups among their holders are expanded 20 a $batch as they appear.
  let exposure: ExposureCollector | undefined;
  const expander = groupExpanderFor(clients, () => exposure, options.signal);
  if (privilegeWanted) exposure = exposureCollectorFor(index, policy, (groupId) => void expander.submit(groupId));
  if (exposure) inventory.exposure = exposure;
  options.onInventory?.(identities, attachments);
  const definitions = new DefinitionCheck(index.roleDefinitionByGuid);
  // Before the eligibility lists and the role-assignment stream start: the report may refuse the estate here.
  options.tap?.estate({ identities, roleDefinitions, attachments, subscriptions, ...(exposure ? { exposure } : {}) });
  const eligibilitiesRead = exposure ? readEligibilities(clients, eligibilityScopes(subscriptions, options.subscriptions), now, incomplete) : undefined;
  // Azure against the desired-state sources: grants are compared as they stream, the rest once read.
  const drift = desired && driftWanted ? new DriftComparison(desired, identities, index.roleDefinitionByGuid) : undefined;
  if (desired) options.onDesiredState?.(desired);
  for (const source of desired ?? []) {
    if (!source.ok) incomplete.push({ check: "desired-state", reason: `${source.path}: ${source.reason}; nothing under its scopes (${source.scopes.join(", ")}) is compared`, affected: 1 });
  }

  let roleAssignments = 0;
  const selfObjectId = policy.self.objectId?.toLowerCase();
  const selfRoleAssignments: Array<{ id: string; roleDefinitionId: string }> = [];
  const resolver = new DirectoryResolver(
    (ids) => getDirectoryObjectsByIds(clients.graph, ids),
    (assignment, principal) => {
      options.tap?.roleAssignment(assignment, principal);
      exposure?.add(assignment, principal);
      drift?.observeRoleAssignment(assignment, principal);
      for (const rule of assignmentRules) {
        const draft = rule.evaluate(assignment, principal, index, policy);
        if (draft) collector.add(draft);
      }
    },
    { batchSize: GET_BY_IDS_LIMIT, concurrency: options.directoryConcurrency ?? 4 },
  );
  for await (const page of streamRoleAssignments(clients, options)) {
    for (const assignment of page) {
      roleAssignments += 1;
      definitions.check(assignment.roleDefinitionId);
      const principal = assignment.principalId.toLowerCase();
      if (principal === selfObjectId) selfRoleAssignments.push({ id: assignment.id, roleDefinitionId: assignment.roleDefinitionId });
      // Only identities' own assignments are counted: that is all the inventory rules ask about.
      if (index.identityByPrincipal.has(principal)) {
        inventory.assignmentsByPrincipal.set(principal, (inventory.assignmentsByPrincipal.get(principal) ?? 0) + 1);
      }
      // ForeignGroup principals live in another tenant: Graph here cannot answer for them.
      if (assignment.principalType.toLowerCase() === "foreigngroup") {
        exposure?.add(assignment, UNKNOWN_PRINCIPAL);
        options.tap?.roleAssignment(assignment, UNKNOWN_PRINCIPAL);
        continue;
      }
      await resolver.submit(assignment);
    }
  }
  await resolver.flush();
  incomplete.push(...resolver.incomplete());
  options.onSelfRoleAssignments?.(selfRoleAssignments);
  const missingDefinitions = definitions.incomplete();
  if (missingDefinitions) incomplete.push(missingDefinitions);
  if (exposure) {
    const [entra, eligibilities] = await Promise.all([entraRead, eligibilitiesRead]);
    await completePrivilege(exposure, expander, { ...(entra ? { entra } : {}), ...(eligibilities ? { eligibilities } : {}) }, incomplete);
  }

  const listing = await credentialsListed;
  options.tap?.federatedCredentials(listing);
  inventory.federatedCredentials = listing.credentials;
  index.credentialsByIdentity = indexCredentials(listing.credentials);
  for (const failure of listing.failed) inventory.federatedCredentialsUnknown?.add(failure.identityId.toLowerCase());
  const [firstFailure] = listing.failed;
  if (firstFailure) {
    incomplete.push({
      check: "federated-credentials",
      reason: `ARM did not list the federated credentials of ${listing.failed.length} identities (first: ${firstFailure.identityId}: ${firstFailure.reason})`,
      affected: listing.failed.length,
    });
  }

  if (isRuleEnabled(policy, "federated-credential-untrusted-subject") && listing.credentials.some((credential) => isAksIssuer(credential.issuer))) {
    // Only a credential that trusts an AKS issuer needs the estate's clusters (federation.subjects.aksIssuers defaults to them).
    try {
      inventory.aksClusters = await readAksClusters(clients, options.signal ? { signal: options.signal } : {});
    } catch (error) {
      incomplete.push({ check: "aks-clusters", reason: `AKS clusters could not be read: ${errorMessage(error)}`, affected: 1 });
    }
  }

  if (drift) {
    const subscriptionsRead = new Set([...subscriptionsInScope, ...subscriptions.map((subscription) => subscription.subscriptionId.toLowerCase())]);
    const wholeTenant = (options.subscriptions ?? []).length === 0;
    inventory.drift = drift.finish({
      attachments,
      federatedCredentials: listing.credentials,
      credentialsUnknown: inventory.federatedCredentialsUnknown ?? new Set(),
      // Absence means something only where the sweep looked: a subscription it read, or (read whole) above them.
      read: (id) => {
        const subscription = subscriptionOf(id);
        return subscription ? subscriptionsRead.has(subscription.toLowerCase()) : wholeTenant;
      },
    });
  }
  for (const rule of inventoryRules) {
    if (rule.evaluateEach) rule.evaluateEach(index, policy, (draft) => collector.add(draft));
    else for (const draft of rule.evaluate(index, policy)) collector.add(draft);
  }
  options.onIndex?.(index);

  const findings = collector.sorted();
  return {
    runId,
    mode: "sweep",
    startedAt,
    finishedAt: new Date().toISOString(),
    summary: summarize(findings, { identities: identities.length, roleAssignments, suppressed: collector.suppressed }),
    findings,
    incomplete,
    fixes: collector.fixes(),
    actions: [],
    ...(inventory.drift ? { drift: inventory.drift.sources } : {}),
  };
}

/**
 * docs/rules/privileged-role-broad-scope.md: an assignment whose role definition the snapshot lacks (and
 * that is no built-in role the rules know) is never "no rights": it is counted and reported incomplete.
 */
class DefinitionCheck {
  private readonly known = new Map<string, boolean>();
  private missing = 0;
  private readonly examples: string[] = [];

  constructor(private readonly definitions: Map<string, RoleDefinition>) {}

  check(roleDefinitionId: string): void {
    const guid = roleDefinitionGuid(roleDefinitionId);
    let known = this.known.get(guid);
    if (known === undefined) {
      known = this.definitions.has(guid) || builtInFallbackGuids.has(guid);
      this.known.set(guid, known);
      if (!known && this.examples.length < 3) this.examples.push(roleDefinitionId);
    }
    if (!known) this.missing += 1;
  }

  incomplete(): Incomplete | undefined {
    if (this.missing === 0) return undefined;
    return {
      check: "role-definitions",
      reason: `${this.missing} role assignment(s) name a role definition the snapshot lacks (deleted, or defined at a scope not read), e.g. ${this.examples.join(", ")}: their rights are unknown, not none`,
      affected: this.missing,
    };
  }
}

/**
 * The subscriptions whose event delivery is checked: the explicit ones, or — a sweep over everything
 * the identity can read — every subscription ARM lists, with those seen in the results.
 */
async function coverageScope(clients: AzureClients, explicit: string[], seen: Set<string>, incomplete: Incomplete[]): Promise<Set<string>> {
  if (explicit.length > 0) return seen;
  try {
    return new Set([...seen, ...(await listSubscriptionIds(clients)).map((subscription) => subscription.toLowerCase())]);
  } catch (error) {
    incomplete.push({ check: "event-coverage", reason: `subscriptions could not be listed: ${errorMessage(error)}`, affected: 1 });
    return seen;
  }
}

/** Event delivery per subscription (lower-case key); a subscription that cannot be read is an incomplete check. */
async function readEventCoverage(clients: AzureClients, subscriptions: Set<string>, functionAppId: string, incomplete: Incomplete[]): Promise<Map<string, SubscriptionEventDelivery>> {
  const limit = pLimit(EVENT_COVERAGE_CONCURRENCY);
  const delivery = new Map<string, SubscriptionEventDelivery>();
  await Promise.all(
    [...subscriptions].map((subscription) =>
      limit(async () => {
        try {
          delivery.set(subscription, await readEventDelivery(clients, subscription, { functionAppId }));
        } catch (error) {
          incomplete.push({ check: "event-coverage", reason: `event subscriptions of /subscriptions/${subscription} could not be listed: ${errorMessage(error)}`, affected: 1 });
        }
      }),
    ),
  );
  return delivery;
}

/**
 * Event Grid's delivery metrics of every provisioned system topic with an event subscription to the app
 * (docs/rules/event-delivery-failing.md), by lower-cased topic id. A topic whose metrics cannot be read is an
 * incomplete check: its absence from the map is never "healthy".
 */
async function readDeliveryHealth(
  clients: AzureClients,
  delivery: Map<string, SubscriptionEventDelivery>,
  functionAppId: string,
  policy: Policy,
  now: Date,
  incomplete: Incomplete[],
): Promise<Map<string, DeliveryMetrics>> {
  const operations = Object.keys(OPERATIONS);
  const topics = [...delivery.values()].flatMap((read) => judgeDelivery(read, { functionAppId, now, operations }).topicsToApp);
  const limit = pLimit(EVENT_COVERAGE_CONCURRENCY);
  const metrics = new Map<string, DeliveryMetrics>();
  const failed: string[] = [];
  await Promise.all(
    topics.map((topicId) =>
      limit(async () => {
        try {
          metrics.set(topicId.toLowerCase(), await readDeliveryMetrics(clients, topicId, policy.coverage.metricsLookbackHours, now));
        } catch (error) {
          failed.push(`${topicId}: ${errorMessage(error)}`);
        }
      }),
    ),
  );
  if (failed.length > 0) {
    incomplete.push({ check: "event-delivery-metrics", reason: `Event Grid delivery metrics of ${failed.length} system topics could not be read (first: ${failed.sort()[0]})`, affected: failed.length });
  }
  return metrics;
}
