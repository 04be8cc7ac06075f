import type { AzureClients } from "../azure/clients.js";
import type { ReadOptions } from "../azure/estateReader.js";
import type { Policy } from "../config/policy.js";
import { errorMessage } from "../errors.js";
import { buildReportModel, type ReportModel } from "../report/model.js";
import { sweepScopeKey } from "../state/findingStateTable.js";
import type { FindingStateStore } from "./findingLifecycle.js";
import { applyRun, rulesWithUnknowns } from "./findingLifecycle.js";
import { collectInventory } from "./inventory.js";
import { CHECK_AFFECTS } from "../rules/index.js";
import { runSweep } from "./sweep.js";

export interface ReportOptions extends ReadOptions {
  now?: Date;
  /**
   * Finding state to draw open findings over time from; read only (the report never writes state).
   * A factory, so that storage that is not configured counts as unreadable state like any other.
   */
  findingState?: () => FindingStateStore;
}

/**
 * The access-review report: the inventory and a sweep read side by side, joined by the pure
 * builder. With finding state, this run is applied to it in memory (applyRun) so the history ends
 * at this run; nothing is saved. A state store that cannot be read leaves the history out and says
 * so under `incomplete`: it never fails the report or turns into findings.
 */
export async function collectReport(clients: AzureClients, policy: Policy, options: ReportOptions = {}): Promise<ReportModel> {
  const now = options.now ?? new Date();
  const scope = sweepScopeKey(options.subscriptions ?? []);
  const [inventory, sweep, previous] = await Promise.all([
    collectInventory(clients, { ...options, policy }),
    runSweep(clients, policy, { ...options, now }),
    options.findingState
      ? Promise.resolve()
          .then(() => options.findingState?.().load(scope))
          .catch((error: unknown) => new Error(errorMessage(error)))
      : Promise.resolve(undefined),
  ]);
  let findingState;
  if (previous instanceof Error) {
    sweep.incomplete.push({ check: "finding-history", reason: `finding state could not be read: ${previous.message}`, affected: 0 });
  } else if (previous) {
    const lifecycle = applyRun(previous, sweep.findings, { now, unknownRules: rulesWithUnknowns(sweep.incomplete, CHECK_AFFECTS) });
    const changed = new Map(lifecycle.changed.map((record) => [record.fingerprint, record]));
    findingState = [...previous.values()].map((record) => changed.get(record.fingerprint) ?? record);
    for (const record of lifecycle.changed) if (!previous.has(record.fingerprint)) findingState.push(record);
  }
  return buildReportModel({ inventory, sweep, now, ...(findingState ? { findingState } : {}) });
}
