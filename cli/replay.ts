import { InputError } from "../shared/errors.js";
import { readJsonFile } from "../shared/config/validation.js";
import { eventDependencies } from "../shared/engine/eventRuntime.js";
import { replayEvents, type ReplayReport } from "../shared/engine/replay.js";
import { loadPolicy } from "../shared/config/policy.js";
import { ruleIds } from "../shared/rules/index.js";
import { seedEventStores } from "../local/seed.js";
import type { Run } from "./runtime.js";

export function readEventsFile(path: string): unknown[] {
  const parsed = readJsonFile(path, `events ${path}`);
  if (!Array.isArray(parsed)) throw new InputError(`events ${path}: must be a JSON array of events (got ${parsed === null ? "null" : typeof parsed})`);
  return parsed;
}

/** `uami-guard replay`: the events file through the event handler and dedupe. */
export async function replay(run: Run, eventsPath: string, policyPath: string | undefined, notify: boolean): Promise<ReplayReport> {
  const events = readEventsFile(eventsPath);
  const policy = loadPolicy(policyPath ?? run.settings.UAMI_GUARD_POLICY, ruleIds);
  const deps = eventDependencies(run.clients, policy, { notify });
  // The estate seeds the baseline once; with --state a later run continues from what it left.
  if (run.estate && (await deps.baseline.isEmpty())) await seedEventStores(run.estate, deps);
  return replayEvents(events, deps, (outcome) => {
    if (outcome.status === "malformed") run.progress.note(`event ${outcome.eventId}: malformed, dropped: ${outcome.reason ?? ""}`);
    if (outcome.status === "failed") run.progress.note(`event ${outcome.eventId}: failed: ${outcome.reason ?? ""}`);
  });
}
