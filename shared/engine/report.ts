import type { AzureClients } from "../azure/clients.js";
import type { ReadOptions } from "../azure/estateReader.js";
import type { Policy } from "../config/policy.js";
import { ServiceCallFailed, errorMessage } from "../errors.js";
import { InventoryBuilder } from "../inventoryBuilder.js";
import type { Subscription } from "../model.js";
import { buildReportModel, type ReportModel } from "../report/model.js";
import { sweepScopeKey } from "../state/findingStateTable.js";
import type { FindingStateStore } from "./findingLifecycle.js";
import { applyRun, rulesWithUnknowns } from "./findingLifecycle.js";
import { CHECK_AFFECTS, rulePageOf } from "../rules/index.js";
import { runSweep, type SweepTap } from "./sweep.js";

/** The sweep's privilege reads (engine/privilegeReads.ts): the inventory's grades and holders depend on each. */
const PRIVILEGE_CHECKS = new Set<string>(["entra-roles", "graph-app-roles", "group-members", "role-eligibility"]);

export interface ReportOptions extends ReadOptions {
  now?: Date;
  /**
   * Finding state to draw open findings over time from; read only (the report never writes state).
   * A factory, so that storage that is not configured counts as unreadable state like any other.
   */
  findingState?: () => FindingStateStore;
}

/**
 * The access-review report: one read of the estate (the sweep's), from which both the sweep's findings and
 * the inventory are built, joined by the pure builder. With finding state, this run is applied to it in memory (applyRun) so the history ends
 * at this run; nothing is saved. A state store that cannot be read leaves the history out and says
 * so under `incomplete`: it never fails the report or turns into findings.
 */
export async function collectReport(clients: AzureClients, policy: Policy, options: ReportOptions = {}): Promise<ReportModel> {
  const now = options.now ?? new Date();
  const scope = sweepScopeKey(options.subscriptions ?? []);
  let builder: InventoryBuilder | undefined;
  let subscriptions: Subscription[] = [];
  let failedListing: Array<{ identityId: string; reason: string }> = [];
  const tap: SweepTap = {
    estate: (read) => {
      builder = new InventoryBuilder(read.identities, read.roleDefinitions, policy, read.exposure);
      builder.addAttachments(read.attachments);
      subscriptions = read.subscriptions;
    },
    roleAssignment: (assignment, principal) => builder?.addRoleAssignments([assignment], principal),
    federatedCredentials: (listing) => {
      builder?.addFederatedCredentials(listing.credentials);
      failedListing = listing.failed;
    },
  };
  const [sweep, previous] = await Promise.all([
    runSweep(clients, policy, { ...options, now, tap, collectExposure: true }),
    options.findingState
      ? Promise.resolve()
          .then(() => options.findingState?.().load(scope, { snapshots: false }))
          .catch((error: unknown) => new Error(errorMessage(error)))
      : Promise.resolve(undefined),
  ]);
  // The inventory is evidence: an identity whose credentials could not be listed fails it (as `uami-guard inventory`).
  const [failure] = failedListing;
  if (failure) throw new ServiceCallFailed("arm", undefined, `arm: federated credentials of ${failedListing.length} identities could not be listed (first: ${failure.identityId}: ${failure.reason})`);
  if (!builder) throw new Error("report: the sweep read no estate");
  // Grades and holders are evidence too: a privilege read that failed fails the inventory (as `uami-guard inventory`).
  const gap = sweep.incomplete.find((entry) => PRIVILEGE_CHECKS.has(entry.check));
  if (gap) throw new ServiceCallFailed(gap.check === "role-eligibility" ? "arm" : "graph", undefined, `${gap.check}: ${gap.reason}`);
  const inventory = builder.build(policy, subscriptions);
  let findingState;
  if (previous instanceof Error) {
    sweep.incomplete.push({ check: "finding-history", reason: `finding state could not be read: ${previous.message}`, affected: 0 });
  } else if (previous) {
    const lifecycle = applyRun(previous, sweep.findings, { now, unknownRules: rulesWithUnknowns(sweep.incomplete, CHECK_AFFECTS) });
    const changed = new Map(lifecycle.changed.map((record) => [record.fingerprint, record]));
    findingState = [...previous.values()].map((record) => changed.get(record.fingerprint) ?? record);
    for (const record of lifecycle.changed) if (!previous.has(record.fingerprint)) findingState.push(record);
  }
  const findingStateBefore = previous && !(previous instanceof Error) ? [...previous.values()] : undefined;
  return buildReportModel({ inventory, sweep, now, rulePage: rulePageOf, ...(findingState ? { findingState } : {}), ...(findingStateBefore ? { findingStateBefore } : {}) });
}
