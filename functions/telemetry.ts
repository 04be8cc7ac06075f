import { errorMessage } from "../shared/errors.js";
import { installTelemetry } from "../shared/telemetry.js";

/**
 * Application Insights for the Function App, started once, before any function module loads (the entry
 * module imports this first and registers the functions when it has run; a function's module loads on its
 * first invocation). Off without APPLICATIONINSIGHTS_CONNECTION_STRING, and then neither the SDK nor the
 * settings' schema is loaded. A bad setting is reported and leaves telemetry off; the functions still load
 * (they fail on their own settings).
 */
export async function startAppTelemetry(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (!env["APPLICATIONINSIGHTS_CONNECTION_STRING"]) return false;
  try {
    const { readAppSettings } = await import("../shared/config/settings.js");
    const settings = readAppSettings(env);
    if (!settings.APPLICATIONINSIGHTS_CONNECTION_STRING) return false;
    const { credentialFor, startTelemetry } = await import("../shared/azure/telemetry.js");
    const credential = credentialFor(settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING);
    installTelemetry(startTelemetry({ connectionString: settings.APPLICATIONINSIGHTS_CONNECTION_STRING, ...(credential ? { credential } : {}) }));
    return true;
  } catch (error) {
    console.error(`telemetry: not started: ${errorMessage(error)}`);
    return false;
  }
}

await startAppTelemetry();
