import type { AzureClients } from "../azure/clients.js";
import type { Policy } from "../config/policy.js";
import type { RunReport } from "../findings.js";
import type { FindingStateStore } from "../state/findingStateTable.js";
import { sweepScopeKey } from "../state/findingStateTable.js";
import { applyRun, rulesWithUnknowns, type LifecycleResult } from "./findingLifecycle.js";
import { CHECK_AFFECTS, runSweep, type SweepOptions } from "./sweep.js";

export interface SweepJobResult {
  report: RunReport;
  lifecycle: LifecycleResult;
}

/** A sweep plus finding state: what the timer function (and the CLI with --state) runs. */
export async function runSweepJob(
  clients: AzureClients,
  policy: Policy,
  state: FindingStateStore,
  options: SweepOptions = {},
): Promise<SweepJobResult> {
  const now = options.now ?? new Date();
  const scope = sweepScopeKey(options.subscriptions ?? []);
  const previous = await state.load(scope);
  const report = await runSweep(clients, policy, { ...options, now });
  const lifecycle = applyRun(previous, report.findings, { now, unknownRules: rulesWithUnknowns(report.incomplete, CHECK_AFFECTS) });
  await state.save(scope, lifecycle.changed);
  return { report, lifecycle };
}
