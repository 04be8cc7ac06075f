import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createAzureClients, type AzureClients } from "../shared/azure/clients.js";
import { readAppSettings, type AppSettings } from "../shared/config/settings.js";
import { loadEstateFile, saveEstateFile, type Estate } from "../local/emulator/estate.js";
import { startEmulator, type RunningEmulator } from "../local/emulator/server.js";
import { startAzurite, type RunningAzurite } from "../local/azurite.js";
import { InputError } from "../shared/errors.js";
import { Progress } from "./progress.js";
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
  const settings = readAppSettings();
  const progress = new Progress();
  const subscriptions = options.subscription && options.subscription.length > 0 ? options.subscription : settings.UAMI_GUARD_SUBSCRIPTIONS;
  const stateConnection = options.state && /AccountName=|UseDevelopmentStorage=/i.test(options.state) ? options.state : undefined;
  const stateDirectory = options.state && !stateConnection ? options.state : undefined;
  if (stateDirectory) mkdirSync(stateDirectory, { recursive: true });
  const needsAzurite = stateDirectory !== undefined || (options.storage === true && options.estate !== undefined && !stateConnection);
  if (!options.estate) {
    // A bad connection string is bad input: refused before anything starts.
    const telemetry = await startCliTelemetry(settings);
    const azurite = needsAzurite ? await startAzurite(stateDirectory ? { location: stateDirectory } : {}) : undefined;
    const storageConnectionString = stateConnection ?? azurite?.connectionString;
    try {
      const clients = createAzureClients({ kind: "azure", settings, ...(storageConnectionString ? { storageConnectionString } : {}) });
      return await work({ clients, settings, subscriptions, progress, ...(azurite ? { azurite } : {}) });
    } finally {
      await telemetry?.flush();
      await azurite?.stop();
    }
  }
  const estate = loadEstateFile(options.estate);
  const emulator = await startEmulator(estate);
  let azurite: RunningAzurite | undefined;
  try {
    if (needsAzurite) azurite = await startAzurite(stateDirectory ? { location: stateDirectory } : {});
    const storageConnectionString = stateConnection ?? azurite?.connectionString;
    const clients = createAzureClients({
      kind: "emulator",
      url: emulator.url,
      ca: emulator.ca,
      ...(storageConnectionString ? { storageConnectionString } : {}),
    });
    const telemetry = await startCliTelemetry(settings, emulator);
    let result: T;
    try {
      result = await work({ clients, settings, subscriptions, progress, emulator, estate, ...(azurite ? { azurite } : {}) });
    } finally {
      // Before --capture writes appinsights.json, and before the emulator stops.
      await telemetry?.flush();
    }
    if (options.saveEstate) saveEstateFile(options.saveEstate, emulator.store.snapshot());
    if (options.capture) writeCapture(options.capture, emulator);
    return result;
  } finally {
    progress.clear();
    await Promise.all([emulator.stop(), azurite?.stop()]);
  }
}

function writeCapture(directory: string, emulator: RunningEmulator): void {
  mkdirSync(directory, { recursive: true });
  for (const [sink, bodies] of Object.entries(emulator.capture.received)) {
    writeFileSync(join(directory, `${sink}.json`), `${JSON.stringify(bodies, null, 2)}\n`);
  }
}
