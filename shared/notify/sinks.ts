import { AzureKeyCredential } from "@azure/core-auth";
import { createDefaultHttpClient, createHttpHeaders, createPipelineFromOptions, createPipelineRequest } from "@azure/core-rest-pipeline";
import { EventGridPublisherClient } from "@azure/eventgrid";
import { LogsIngestionClient } from "@azure/monitor-ingestion";
import { setTimeout as sleep } from "node:timers/promises";
import type { AzureClients } from "../azure/clients.js";
import { errorMessage } from "../errors.js";

export type SinkName = "teams" | "sentinel" | "eventgrid";

/**
 * A sink takes payloads (in order) and says which were delivered; it never throws. An undelivered
 * payload with no error was deferred (rate limit), not failed: it waits in the outbox.
 */
export interface Sink {
  name: SinkName;
  deliver(payloads: unknown[]): Promise<{ delivered: boolean[]; error?: string }>;
}

/** Webhook URLs carry their signature in the query: never log one whole. */
export function redactUrl(text: string): string {
  return text.replace(/https?:\/\/[^\s"')]+/g, (url) => {
    try {
      const parsed = new URL(url);
      return `${parsed.protocol}//${parsed.host}/…`;
    } catch {
      return "<url>";
    }
  });
}

const TEAMS_INTERVAL_MS = 250;
/** Longer than this and the rest wait in the outbox: an event's handling is never held up by Teams' pace. */
const TEAMS_MAX_WAIT_MS = 1000;

/** Teams Workflows webhook: one POST per card, at most 4 a second; the pipeline retries 429/5xx with Retry-After. */
export function teamsSink(clients: AzureClients, url: string): Sink {
  const pipeline = createPipelineFromOptions({ ...clients.restOptions, retryOptions: { ...clients.restOptions.retryOptions, maxRetries: 3 } });
  const http = createDefaultHttpClient();
  let last = 0;
  return {
    name: "teams",
    async deliver(payloads) {
      const delivered: boolean[] = [];
      let error: string | undefined;
      const started = Date.now();
      for (const payload of payloads) {
        const wait = last + TEAMS_INTERVAL_MS - Date.now();
        if (Date.now() + Math.max(0, wait) - started > TEAMS_MAX_WAIT_MS) {
          delivered.push(false);
          continue;
        }
        if (wait > 0) await sleep(wait);
        last = Date.now();
        try {
          const request = createPipelineRequest({
            url,
            method: "POST",
            body: JSON.stringify(payload),
            headers: createHttpHeaders({ "content-type": "application/json" }),
            timeout: 30_000,
          });
          const response = await pipeline.sendRequest(http, request);
          const ok = response.status >= 200 && response.status < 300;
          if (!ok) error = `Teams webhook answered ${response.status}`;
          delivered.push(ok);
        } catch (cause) {
          error = `Teams webhook: ${redactUrl(errorMessage(cause))}`;
          delivered.push(false);
        }
      }
      return error ? { delivered, error } : { delivered };
    },
  };
}

/** Logs Ingestion API (Sentinel): rows in ≤1 MB gzip'd chunks by the SDK; failed chunks are reported per row. */
export function sentinelSink(clients: AzureClients, target: NonNullable<SinkEndpoints["logsIngestion"]>): Sink {
  const client = new LogsIngestionClient(target.endpoint, clients.credential, {
    ...clients.restOptions,
    ...(clients.target === "emulator" ? { credentials: { scopes: [`${target.endpoint}/.default`] } } : {}),
  });
  return {
    name: "sentinel",
    async deliver(payloads) {
      const failed = new Set<unknown>();
      let error: string | undefined;
      try {
        await client.upload(target.dcrImmutableId, target.stream, payloads as Record<string, unknown>[], {
          maxConcurrency: 1,
          onError: (upload) => {
            for (const row of upload.failedLogs) failed.add(row);
            error = `Logs Ingestion: ${redactUrl(errorMessage(upload.cause))}`;
          },
        });
      } catch (cause) {
        error ??= `Logs Ingestion: ${redactUrl(errorMessage(cause))}`;
      }
      return { delivered: payloads.map((payload) => !failed.has(payload)), ...(error ? { error } : {}) };
    },
  };
}

const EVENT_GRID_BATCH = 100;

/** Event Grid custom topic, CloudEvents schema; Entra auth by default, the topic key when configured. */
export function eventGridSink(clients: AzureClients, target: NonNullable<SinkEndpoints["eventGrid"]>): Sink {
  const credential = target.key ? new AzureKeyCredential(target.key) : clients.credential;
  const client = new EventGridPublisherClient(target.endpoint, "CloudEvent", credential, clients.restOptions);
  return {
    name: "eventgrid",
    async deliver(payloads) {
      const delivered: boolean[] = [];
      let error: string | undefined;
      for (let start = 0; start < payloads.length; start += EVENT_GRID_BATCH) {
        const batch = payloads.slice(start, start + EVENT_GRID_BATCH) as Array<Parameters<typeof client.send>[0][number]>;
        try {
          await client.send(batch.map((event) => ({ ...event, time: new Date(String((event as { time?: unknown }).time)) })));
          delivered.push(...batch.map(() => true));
        } catch (cause) {
          error = `Event Grid: ${redactUrl(errorMessage(cause))}`;
          delivered.push(...batch.map(() => false));
        }
      }
      return error ? { delivered, error } : { delivered };
    },
  };
}

/** Where notifications go; a sink that is not configured is skipped. */
export interface SinkEndpoints {
  teamsWebhookUrl?: string;
  logsIngestion?: { endpoint: string; dcrImmutableId: string; stream: string };
  eventGrid?: { endpoint: string; key?: string };
}

export function configuredSinks(clients: AzureClients, endpoints: SinkEndpoints): Sink[] {
  const sinks: Sink[] = [];
  if (endpoints.teamsWebhookUrl) sinks.push(teamsSink(clients, endpoints.teamsWebhookUrl));
  if (endpoints.logsIngestion) sinks.push(sentinelSink(clients, endpoints.logsIngestion));
  if (endpoints.eventGrid) sinks.push(eventGridSink(clients, endpoints.eventGrid));
  return sinks;
}
