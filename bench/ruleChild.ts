import { parseArgs } from "node:util";
import { builtInRoleDefinitions } from "../local/emulator/builtinRoles.js";
import { toAttachedResource, toIdentity, toRoleAssignment, toRoleDefinition, toSubscription } from "../shared/azure/estateReader.js";
import { toFederatedCredential } from "../shared/azure/federatedCredentials.js";
import { defaultPolicy } from "../shared/config/policy.js";
import { FindingCollector } from "../shared/findings.js";
import type { AttachedResource, FederatedCredential, Identity, RoleAssignment, RoleDefinition } from "../shared/model.js";
import { subscriptionOf } from "../shared/model.js";
import { sweepRules } from "../shared/rules/index.js";
import { buildSweepIndex, exposureCollectorFor } from "../shared/rules/lib/sweepIndex.js";
import { rule as exposedRule } from "../shared/rules/privileged-identity-exposed.js";
import type { AssignmentRule, PrincipalStatus } from "../shared/rules/types.js";
import type { SweepInventory } from "../shared/rules/lib/sweepIndex.js";
import { median } from "./stats.js";
import { generateSyntheticEstate } from "./syntheticEstate.js";

/**
 * Pure rule-evaluation throughput: the synthetic estate turned into the snapshot types by the same
 * mappers the sweep uses, the index built once, then every role assignment (ForeignGroup skipped, as
 * the sweep does) through every role-assignment rule with its principal status already known. No I/O.
 * Output: one JSON line on stdout.
 */
export interface RuleChildResult {
  assignments: number;
  rules: string[];
  /** Median over the repetitions, assignments per second through all role-assignment rules. */
  assignmentsPerSecond: number;
  bestAssignmentsPerSecond: number;
  /** The same, with each draft also turned into a finding by the FindingCollector (fingerprint, remediation). */
  withCollectorPerSecond: number;
  drafts: number;
  repetitions: number;
  indexBuildMs: number;
  /** Issue 16: feeding every assignment to the exposure collector, evaluating privileged-identity-exposed, and what the collector keeps. */
  exposure: { addMs: number; evaluateMs: number; retainedBytes: number | null; findings: number };
}

const text = (value: unknown): string => (typeof value === "string" ? value : "");

function main(): void {
  const { values } = parseArgs({ options: { size: { type: "string" }, seed: { type: "string", default: "1" }, repetitions: { type: "string", default: "5" } } });
  const size = Number(values.size);
  const repetitions = Number(values.repetitions);
  const { estate } = generateSyntheticEstate({ assignments: size, seed: Number(values.seed) });

  // Rows as Resource Graph projects them (shared/azure/queries.ts), through the sweep's own mappers.
  const identities: Identity[] = [];
  const attachments: AttachedResource[] = [];
  for (const resource of estate.resources) {
    const common = { id: resource.id, name: resource.name, type: resource.type, tags: resource.tags ?? {} };
    if (resource.type.toLowerCase() === "microsoft.managedidentity/userassignedidentities") {
      const identity = toIdentity({ ...common, location: resource.location ?? "", principalId: text(resource.properties?.["principalId"]), clientId: text(resource.properties?.["clientId"]), tenantId: text(resource.properties?.["tenantId"]) });
      if (identity) identities.push(identity);
    }
    if (resource.identity?.userAssignedIdentities) {
      const attached = toAttachedResource({ ...common, identityType: resource.identity.type, userAssignedIdentities: resource.identity.userAssignedIdentities });
      if (attached) attachments.push(attached);
    }
  }
  const roleDefinitions: RoleDefinition[] = [...builtInRoleDefinitions(), ...estate.roleDefinitions].flatMap((definition) => {
    const mapped = toRoleDefinition({ id: definition.id, name: definition.name, roleName: definition.properties.roleName, roleType: definition.properties.type ?? "CustomRole", permissions: definition.properties.permissions });
    return mapped ? [mapped] : [];
  });
  const federatedCredentials: FederatedCredential[] = estate.federatedCredentials.flatMap((credential) => {
    const mapped = toFederatedCredential(credential, credential.id.slice(0, credential.id.toLowerCase().lastIndexOf("/federatedidentitycredentials/")));
    return mapped ? [mapped] : [];
  });
  const directory = new Map(estate.directory.map((entry) => [entry.id.toLowerCase(), entry]));
  const statusByPrincipal = new Map<string, PrincipalStatus>();
  const assignments: RoleAssignment[] = [];
  const principals: PrincipalStatus[] = [];
  const assignmentsByPrincipal = new Map<string, number>();
  // The generator builds ids with template literals (rope strings that V8 flattens in place on first
  // read, so the first rule to read one would be charged for a copy); the sweep reads parsed JSON,
  // so rows go through JSON a Resource Graph page (1,000 rows) at a time, as the sweep gets them.
  const rows: typeof estate.roleAssignments = [];
  for (let at = 0; at < estate.roleAssignments.length; at += 1000) rows.push(...(JSON.parse(JSON.stringify(estate.roleAssignments.slice(at, at + 1000))) as typeof rows));
  estate.roleAssignments = [];
  for (const raw of rows) {
    const assignment = toRoleAssignment({ id: raw.id, ...raw.properties });
    if (!assignment || assignment.principalType.toLowerCase() === "foreigngroup") continue;
    const key = assignment.principalId.toLowerCase();
    let status = statusByPrincipal.get(key);
    if (!status) {
      const entry = directory.get(key);
      status = entry
        ? { state: "found", object: { id: entry.id, odataType: entry["@odata.type"], ...(entry.displayName ? { displayName: entry.displayName } : {}), ...(entry.servicePrincipalType ? { servicePrincipalType: entry.servicePrincipalType } : {}) } }
        : { state: "missing" };
      statusByPrincipal.set(key, status);
    }
    assignmentsByPrincipal.set(key, (assignmentsByPrincipal.get(key) ?? 0) + 1);
    assignments.push(assignment);
    principals.push(status);
  }
  const subscriptionsInScope = new Set<string>();
  for (const item of [...identities, ...attachments]) subscriptionsInScope.add((subscriptionOf(item.id) ?? "").toLowerCase());
  // Management-group chains as the sweep reads them (Resource Graph resourcecontainers): grants at a group reach below it.
  const subscriptions = estate.subscriptions.flatMap((subscription) => {
    const mapped = toSubscription({ subscriptionId: subscription.subscriptionId, managementGroupAncestorsChain: subscription.managementGroupAncestorsChain ?? [] });
    return mapped ? [mapped] : [];
  });
  const inventory: SweepInventory = { now: new Date(), identities, attachments, roleDefinitions, federatedCredentials, assignmentsByPrincipal, subscriptionsInScope, subscriptions };

  const policy = defaultPolicy();
  const indexStarted = performance.now();
  const index = buildSweepIndex(inventory);
  const indexBuildMs = performance.now() - indexStarted;
  const rules = sweepRules.filter((rule): rule is AssignmentRule => rule.kind === "role-assignment");

  // Small estates are evaluated several times per repetition so each repetition lasts long enough to time.
  const passes = Math.max(1, Math.ceil(1_000_000 / assignments.length));
  const count = assignments.length;
  const timeOne = (collect: boolean): { perSecond: number; drafts: number } => {
    const collector = new FindingCollector(policy, new Map(rules.map((rule) => [rule.meta.id, rule.meta])), inventory.now);
    let drafts = 0;
    const started = performance.now();
    for (let pass = 0; pass < passes; pass += 1) {
      for (let n = 0; n < count; n += 1) {
        const assignment = assignments[n] as RoleAssignment;
        const principal = principals[n] as PrincipalStatus;
        for (const rule of rules) {
          const draft = rule.evaluate(assignment, principal, index, policy);
          if (draft) {
            drafts += 1;
            if (collect) collector.add(draft);
          }
        }
      }
    }
    const seconds = (performance.now() - started) / 1000;
    return { perSecond: (count * passes) / seconds, drafts: drafts / passes };
  };
  // Exposure: what the sweep adds per assignment (collector.add in the resolver callback) and once at the end.
  const gc = (globalThis as { gc?: () => void }).gc;
  // Let the generated estate go now: released later (once the optimiser drops a dead local), it would be
  // counted against what the collector keeps.
  rows.length = 0;
  estate.resources = [];
  estate.directory = [];
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const addStarted = performance.now();
  const exposure = exposureCollectorFor(index, policy);
  for (let n = 0; n < count; n += 1) exposure.add(assignments[n] as RoleAssignment, principals[n] as PrincipalStatus);
  const addMs = performance.now() - addStarted;
  gc?.();
  const retainedBytes = gc ? process.memoryUsage().heapUsed - heapBefore : null;
  inventory.exposure = exposure;
  const evaluateStarted = performance.now();
  const exposed = exposedRule.evaluate(index, policy).length;
  const evaluateMs = performance.now() - evaluateStarted;

  timeOne(false); // warm-up (JIT)
  const runs = Array.from({ length: repetitions }, () => timeOne(false));
  const collected = Array.from({ length: 3 }, () => timeOne(true));
  const result: RuleChildResult = {
    assignments: count,
    rules: rules.map((rule) => rule.meta.id),
    assignmentsPerSecond: median(runs.map((run) => run.perSecond)),
    bestAssignmentsPerSecond: Math.max(...runs.map((run) => run.perSecond)),
    withCollectorPerSecond: median(collected.map((run) => run.perSecond)),
    drafts: runs[0]?.drafts ?? 0,
    repetitions,
    indexBuildMs,
    exposure: { addMs, evaluateMs, retainedBytes, findings: exposed },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main();
