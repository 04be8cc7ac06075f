import { setMaxListeners } from "node:events";
import { getHeapStatistics } from "node:v8";
import type { AzureClients } from "../azure/clients.js";
import type { ReadOptions } from "../azure/estateReader.js";
import type { Policy } from "../config/policy.js";
import { ReportTooLarge, ServiceCallFailed, errorMessage } from "../errors.js";
import { InventoryBuilder } from "../inventoryBuilder.js";
import type { Subscription } from "../model.js";
import { buildReportModel, type ReportModel } from "../report/model.js";
import { sweepScopeKey } from "../state/findingStateTable.js";
import type { FindingRecord, FindingStateStore } from "./findingLifecycle.js";
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
  /** The most identities the report takes on; default: what this process's heap holds (`reportIdentityLimit`). */
  maxIdentities?: number;
}

/**
 * What the report path needs of the heap, per identity in scope and fixed: the smallest `--max-old-space-size` under
 * which the whole report (sweep, inventory, model, page) still finished on the benchmark's synthetic estate (ten role
 * assignments per identity, its grants and holders) was 48 MB at 1,000 identities and 192 MB at 10,000 (160 MB ran out
 * of heap): ~16 KB an identity (bench/README.md "The report's memory").
 */
export const REPORT_BYTES_PER_IDENTITY = 16 * 1024;
const REPORT_FIXED_BYTES = 32 * 1024 * 1024;
/**
 * Of the heap, what the report may plan to need: the rest is room for V8 to collect without thrashing (at the smallest
 * heap that finishes, the report takes twice as long) and for estates with more holders per identity than the
 * benchmark's. Under the shipped 1,024 MB cap that is 32,256 identities; 40,000 still finished there, at 1,176 MB
 * resident with 590 MB of heap in use at the end, a margin this keeps.
 */
const REPORT_HEAP_SHARE = 0.5;

/** The identities a report can hold in a heap of `heapLimitBytes` (default: this process's, as `--max-old-space-size` set it). */
export function reportIdentityLimit(heapLimitBytes = getHeapStatistics().heap_size_limit): number {
  return Math.max(1, Math.floor((heapLimitBytes * REPORT_HEAP_SHARE - REPORT_FIXED_BYTES) / REPORT_BYTES_PER_IDENTITY));
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
  const limit = options.maxIdentities ?? reportIdentityLimit();
  // Refusing stops what the sweep has in flight (the credential listing, the group expansion) with it.
  const refusal = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, refusal.signal]) : refusal.signal;
  // Every call in flight listens to it (as to the run's deadline, azure/deadline.ts): not a leak.
  setMaxListeners(0, signal);
  let builder: InventoryBuilder | undefined;
  let subscriptions: Subscription[] = [];
  let failedListing: Array<{ identityId: string; reason: string }> = [];
  const tap: SweepTap = {
    estate: (read) => {
      // docs/output.md "How large a report can be": refused before the role assignments stream, the memory unspent.
      if (read.identities.length > limit) {
        const refused = new ReportTooLarge(read.identities.length, limit);
        refusal.abort(refused);
        throw refused;
      }
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
  const sweep = await runSweep(clients, policy, { ...options, signal, now, tap, collectExposure: true });
  // The inventory is evidence: an identity whose credentials could not be listed fails it (as `uami-guard inventory`).
  const [failure] = failedListing;
  if (failure) throw new ServiceCallFailed("arm", undefined, `arm: federated credentials of ${failedListing.length} identities could not be listed (first: ${failure.identityId}: ${failure.reason})`);
  if (!builder) throw new Error("report: the sweep read no estate");
  // Grades and holders are evidence too: a privilege read that failed fails the inventory (as `uami-guard inventory`).
  const gap = sweep.incomplete.find((entry) => PRIVILEGE_CHECKS.has(entry.check));
  if (gap) throw new ServiceCallFailed(gap.check === "role-eligibility" ? "arm" : "graph", undefined, `${gap.check}: ${gap.reason}`);
  const inventory = builder.build(policy, subscriptions);
  // The builder holds the sweep's exposure collector (every grant that gives a right, every group's members): the
  // inventory has what it needs of it, so it goes before the finding state comes.
  builder = undefined;
  // Read after the sweep, not beside it: its records (one per finding the state remembers) are not added to the sweep's peak.
  const previous = await readPrevious(options.findingState, scope);
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

/** The finding state as stored, without snapshots; a store that cannot be read is an Error (the history is left out). */
async function readPrevious(findingState: (() => FindingStateStore) | undefined, scope: string): Promise<Map<string, FindingRecord> | Error | undefined> {
  if (!findingState) return undefined;
  try {
    return await findingState().load(scope, { snapshots: false });
  } catch (error) {
    return new Error(errorMessage(error));
  }
}
