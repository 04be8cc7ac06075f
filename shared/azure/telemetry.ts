import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { TokenCredential } from "@azure/core-auth";
import { ManagedIdentityCredential } from "@azure/identity";
import { metrics, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { flushAzureMonitor, useAzureMonitor } from "applicationinsights";
import { InputError } from "../errors.js";
import type { GuardMetrics, Telemetry } from "../telemetry.js";

/**
 * Application Insights through `applicationinsights` v3 (the OpenTelemetry-based SDK): the metrics of
 * README.md "Watching the guard itself" on one meter, spans around the triggers, and the SDK's requests, dependencies
 * and logs. Only the connection string's ingestion endpoint is ever called: statsbeat, SDK stats, live
 * metrics, offline storage and OneSettings polling (the exporter's dynamic configuration, fetched from
 * settings.sdk.monitor.azure.com: @azure/monitor-opentelemetry-exporter 1.0.0-beta.47
 * src/_configuration/configurationManager.ts) are switched off.
 */
export interface TelemetryTarget {
  connectionString: string;
  /** Entra auth (APPLICATIONINSIGHTS_AUTHENTICATION_STRING; the component has local auth disabled). */
  credential?: TokenCredential;
  /** PEM the ingestion endpoint's certificate must chain to (the emulator's); absent: the system's. */
  ca?: string;
}

/** Statsbeat and SDK stats go to Microsoft's own endpoints, not the connection string's (Constants.ts of the exporter). */
const QUIET_ENVIRONMENT = {
  APPLICATION_INSIGHTS_NO_STATSBEAT: "true",
  APPLICATIONINSIGHTS_STATSBEAT_DISABLED: "true",
  APPLICATIONINSIGHTS_SDKSTATS_DISABLED: "true",
} as const;

/**
 * `ClientId=<guid>;Authorization=AAD` (as infra sets it): the user-assigned identity that publishes
 * (Monitoring Metrics Publisher on the component). Without `Authorization=AAD`: no credential.
 */
export function credentialFor(authenticationString: string | undefined): TokenCredential | undefined {
  if (!authenticationString) return undefined;
  const parts = new Map(
    authenticationString
      .split(";")
      .map((part) => part.split("=").map((text) => text.trim()))
      .filter((pair): pair is [string, string] => pair.length === 2 && pair[0] !== "")
      .map(([key, value]) => [key.toLowerCase(), value]),
  );
  if ((parts.get("authorization") ?? "").toLowerCase() !== "aad") {
    throw new InputError("app setting APPLICATIONINSIGHTS_AUTHENTICATION_STRING: must be Authorization=AAD (with ClientId=<guid> for a user-assigned identity)");
  }
  const clientId = parts.get("clientid");
  return clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
}

/** The instrumentation key of a connection string, so a run against the emulator keeps the one it was given. */
export function instrumentationKeyOf(connectionString: string): string | undefined {
  const match = /(?:^|;)\s*InstrumentationKey\s*=\s*([0-9a-fA-F-]{36})\s*(?:;|$)/.exec(connectionString);
  return match?.[1];
}

let started: Telemetry | undefined;

/** Starts the SDK once per process and returns the adapter for the telemetry port. */
export function startTelemetry(target: TelemetryTarget): Telemetry {
  if (started) return started;
  if (!instrumentationKeyOf(target.connectionString)) {
    throw new InputError("app setting APPLICATIONINSIGHTS_CONNECTION_STRING: must be an Application Insights connection string (InstrumentationKey=<guid>;IngestionEndpoint=https://…)");
  }
  for (const [name, value] of Object.entries(QUIET_ENVIRONMENT)) process.env[name] ??= value;
  useAzureMonitor({
    azureMonitorExporterOptions: {
      connectionString: target.connectionString,
      ...(target.credential ? { credential: target.credential } : {}),
      // Nothing is written to the temp directory for a later retry: a lost batch is lost.
      disableOfflineStorage: true,
      ...(target.ca ? { tlsOptions: { ca: target.ca } } : {}),
    },
    enableLiveMetrics: false,
    enableAutoCollectPerformance: false,
    enableStandardMetrics: false,
    // Every trigger's span is kept: a guard runs few of them (the rate-limited default drops bursts).
    samplingRatio: 1,
    tracesPerSecond: 0,
  });
  stopDynamicConfiguration();
  const meter = metrics.getMeter("uami-guard");
  const events = meter.createCounter("uamiguard.events", { description: "Events handled, by status" });
  const findings = meter.createCounter("uamiguard.findings", { description: "Findings reported, by rule, severity and mode" });
  const sweepDuration = meter.createHistogram("uamiguard.sweep.duration", { description: "Sweep duration", unit: "ms" });
  const incomplete = meter.createCounter("uamiguard.incomplete", { description: "Checks left incomplete, by check" });
  const actions = meter.createCounter("uamiguard.actions", { description: "Cleanup actions, by action and status" });
  const outbox = meter.createGauge("uamiguard.outbox.pending", { description: "Notifications waiting in the outbox, by sink" });
  const breakerTrips = meter.createCounter("uamiguard.breaker.trips", { description: "Cleanup circuit breaker trips" });
  const guardMetrics: GuardMetrics = {
    event: (status) => events.add(1, { status }),
    finding: (ruleId, severity, mode) => findings.add(1, { ruleId, severity, mode }),
    sweepDuration: (milliseconds) => sweepDuration.record(milliseconds),
    incomplete: (check) => incomplete.add(1, { check }),
    action: (action, status) => actions.add(1, { action, status }),
    outboxPending: (sink, entries) => outbox.record(entries, { sink }),
    breakerTrip: () => breakerTrips.add(1),
  };
  const tracer = trace.getTracer("uami-guard");
  started = {
    metrics: guardMetrics,
    span: (name, attributes, work) =>
      tracer.startActiveSpan(name, { kind: SpanKind.INTERNAL, attributes }, async (span) => {
        try {
          return await work();
        } catch (error) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
          throw error;
        } finally {
          span.end();
        }
      }),
    flush: () => flushAzureMonitor(),
  };
  return started;
}

/**
 * The exporter starts a OneSettings poller (5–15 s after start, then hourly) with no setting to turn
 * it off; its process-wide manager is stopped here. The manager is internal to the exporter's
 * CommonJS build (the one `applicationinsights` loads), so it is required by path.
 */
function stopDynamicConfiguration(): void {
  const require = createRequire(import.meta.url);
  const exporterEntry = require.resolve("@azure/monitor-opentelemetry-exporter", { paths: [dirname(require.resolve("applicationinsights"))] });
  const manager = require(join(dirname(exporterEntry), "_configuration", "configurationManager.js")) as { ConfigurationManager?: { getInstance(): { shutdown(): void } } };
  manager.ConfigurationManager?.getInstance().shutdown();
}
