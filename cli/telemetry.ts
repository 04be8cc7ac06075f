import type { AppSettings } from "../shared/config/settings.js";
import { installTelemetry, type Telemetry } from "../shared/telemetry.js";
import type { RunningEmulator } from "../local/emulator/server.js";

/** Any key: the emulator keeps what it receives. */
const EMULATOR_INSTRUMENTATION_KEY = "00000000-0000-4000-8000-000000000000";

/**
 * Telemetry for a CLI run, only when APPLICATIONINSIGHTS_CONNECTION_STRING is set. With --estate it
 * goes to the emulator's ingestion endpoint whatever the connection string names (as every other
 * client goes to the emulator), so nothing leaves 127.0.0.1. The SDK takes seconds to load: it is
 * imported only then, so a run without telemetry is not slowed.
 */
export async function startCliTelemetry(settings: AppSettings, emulator?: RunningEmulator): Promise<Telemetry | undefined> {
  const connectionString = settings.APPLICATIONINSIGHTS_CONNECTION_STRING;
  if (!connectionString) return undefined;
  const { credentialFor, instrumentationKeyOf, startTelemetry } = await import("../shared/azure/telemetry.js");
  if (emulator) {
    const key = instrumentationKeyOf(connectionString) ?? EMULATOR_INSTRUMENTATION_KEY;
    return install(startTelemetry({ connectionString: `InstrumentationKey=${key};IngestionEndpoint=${emulator.url}/`, ca: emulator.ca }));
  }
  const credential = credentialFor(settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING);
  return install(startTelemetry({ connectionString, ...(credential ? { credential } : {}) }));
}

function install(telemetry: Telemetry): Telemetry {
  installTelemetry(telemetry);
  return telemetry;
}
