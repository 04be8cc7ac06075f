import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createAzureClients, deadlinesOf, type AzureClients } from "../shared/azure/clients.js";
import { withRunDeadline } from "../shared/azure/deadline.js";
import { readAppSettings, type AppSettings } from "../shared/config/settings.js";
import { loadEstateFile, saveEstateFile, type Estate } from "../local/emulator/estate.js";
import { startEmulator, type RunningEmulator } from "../local/emulator/server.js";
import { startAzurite, type RunningAzurite } from "../local/azurite.js";
import { InputError } from "../shared/errors.js";
import { listReadableSubscriptions } from "../shared/azure/subscriptions.js";
import { Progress } from "./progress.js";
import { checkOutputFile, ensureDirectory, resolveState } from "./preflight.js";
import { chooseSubscriptions } from "./subscriptions.js";
import type { Log } from "./log.js";
import { startCliTelemetry } from "./telemetry.js";

export interface TargetOptions {
  estate?: string;
  saveEstate?: string;
  capture?: string;
  subscription?: string[];
  /** Start Azurite (with --estate) or require storage settings (Azure). */
  storage?: boolean;
  /** --state DIR (Azurite persisting there) or a storage connection string. */
  state?: string;
  /** A long-running host (`serve`): each invocation has the run deadline, not the command. */
  host?: boolean;
  /** --journal FILE: checked up front like every other output. */
  journal?: string;
  /** Where notes go (--only-show-errors silences them). */
  log?: Log;
}

export interface Run {
  clients: AzureClients;
  settings: AppSettings;
  subscriptions: string[];
  progress: Progress;
  emulator?: RunningEmulator;
  azurite?: RunningAzurite;
  estate?: Estate;
}

/**
 * Sets up one CLI run: with --estate, the emulator in-process seeded from the file (and Azurite when
 * state is needed) and every client pointed at them; without it, real Azure with DefaultAzureCredential.
 */
export async function withRun<T>(options: TargetOptions, work: (run: Run) => Promise<T>): Promise<T> {
  if (!options.estate && (options.saveEstate || options.capture)) {
    throw new InputError(`${options.saveEstate ? "--save-estate" : "--capture"}: needs --estate (it records what the emulator holds)`);
  }
  // Every output is checked before any work: a run must not send notifications or change anything
  // and then fail on a path it could have refused at the start.
  const saveEstate = options.saveEstate ? checkOutputFile("--save-estate", options.saveEstate) : undefined;
  const capture = options.capture ? ensureDirectory("--capture", options.capture) : undefined;
  if (options.journal) checkOutputFile("--journal", options.journal);
  const state = options.state ? resolveState(options.state) : undefined;
  const settings = readAppSettings();
  const progress = new Progress(options.log);
  const stateConnection = state?.kind === "connection" ? state.connectionString : undefined;
  const stateDirectory = state?.kind === "directory" ? state.directory : undefined;
  const needsAzurite = stateDirectory !== undefined || (options.storage === true && options.estate !== undefined && !stateConnection);
  if (!options.estate) {
    // A bad connection string is bad input: refused before anything starts.
    const telemetry = await startCliTelemetry(settings);
    const azurite = needsAzurite ? await startAzurite(stateDirectory ? { location: stateDirectory } : {}) : undefined;
    if (azurite) progress.completed(`Azurite (storage) started${stateDirectory ? `, persisting in ${stateDirectory}` : ""}`);
    const storageConnectionString = stateConnection ?? azurite?.connectionString;
    try {
      const clients = createAzureClients({ kind: "azure", settings, ...(storageConnectionString ? { storageConnectionString } : {}) });
      const subscriptions = await subscriptionsFor(clients, options, settings, progress);
      progress.completed(`subscriptions: ${subscriptions.length > 0 ? subscriptions.join(", ") : "every one the credential can read"}`);
      const result = await bounded(options, clients, () => work({ clients, settings, subscriptions, progress, ...(azurite ? { azurite } : {}) }));
      progress.done();
      return result;
    } finally {
      progress.clear();
      await telemetry?.flush();
      await azurite?.stop();
    }
  }
  const estate = loadEstateFile(options.estate);
  progress.completed(`estate ${options.estate}: ${estate.resources.length} resources, ${estate.roleAssignments.length} role assignments, ${estate.directory.length} directory objects`);
  const emulator = await startEmulator(estate);
  progress.completed(`Azure emulator listening on ${emulator.url}`);
  let azurite: RunningAzurite | undefined;
  try {
    if (needsAzurite) {
      azurite = await startAzurite(stateDirectory ? { location: stateDirectory } : {});
      progress.completed(`Azurite (storage) started${stateDirectory ? `, persisting in ${stateDirectory}` : ""}`);
    }
    const storageConnectionString = stateConnection ?? azurite?.connectionString;
    const clients = createAzureClients({
      kind: "emulator",
      url: emulator.url,
      ca: emulator.ca,
      deadlines: deadlinesOf(settings),
      ...(storageConnectionString ? { storageConnectionString } : {}),
    });
    const subscriptions = await subscriptionsFor(clients, options, settings, progress);
    progress.completed(`subscriptions: ${subscriptions.length > 0 ? subscriptions.join(", ") : "every one of the estate"}`);
    const telemetry = await startCliTelemetry(settings, emulator);
    let result: T;
    try {
      result = await bounded(options, clients, () => work({ clients, settings, subscriptions, progress, emulator, estate, ...(azurite ? { azurite } : {}) }));
    } finally {
      // Before --capture writes appinsights.json, and before the emulator stops.
      await telemetry?.flush();
    }
    if (saveEstate) {
      saveEstateFile(saveEstate, emulator.store.snapshot());
      progress.completed(`saved the estate to ${saveEstate}`);
    }
    if (capture) {
      writeCapture(capture, emulator);
      progress.completed(`wrote what the sinks received to ${capture}`);
    }
    progress.done();
    return result;
  } finally {
    progress.clear();
    await Promise.all([emulator.stop(), azurite?.stop()]);
  }
}

/** A command is one run, bounded by the run deadline; `serve` bounds each invocation instead. */
function bounded<T>(options: TargetOptions, clients: AzureClients, work: () => Promise<T>): Promise<T> {
  return options.host ? work() : withRunDeadline(clients.deadlines.runMs, work);
}

/** --subscription or UAMI_GUARD_SUBSCRIPTIONS checked against what the credential can read (cli/subscriptions.ts). */
async function subscriptionsFor(clients: AzureClients, options: TargetOptions, settings: AppSettings, progress: Progress): Promise<string[]> {
  const flag = options.subscription && options.subscription.length > 0 ? options.subscription : undefined;
  // The emulator with nothing requested: no need to ask (every subscription of the estate).
  if (!flag && settings.UAMI_GUARD_SUBSCRIPTIONS.length === 0 && clients.target === "emulator") return [];
  const choice = chooseSubscriptions(flag, settings.UAMI_GUARD_SUBSCRIPTIONS, await listReadableSubscriptions(clients), clients.target);
  if (choice.note) progress.note(choice.note);
  return choice.subscriptions;
}

function writeCapture(directory: string, emulator: RunningEmulator): void {
  for (const [sink, bodies] of Object.entries(emulator.capture.received)) {
    writeFileSync(join(directory, `${sink}.json`), `${JSON.stringify(bodies, null, 2)}\n`);
  }
}
