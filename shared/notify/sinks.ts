import { AzureKeyCredential } from "@azure/core-auth";
import { createDefaultHttpClient, createHttpHeaders, createPipelineFromOptions, createPipelineRequest } from "@azure/core-rest-pipeline";
import type { EventGridPublisherClient } from "@azure/eventgrid";
import type { LogsIngestionClient } from "@azure/monitor-ingestion";
import { setTimeout as sleep } from "node:timers/promises";
import type { AzureClients } from "../azure/clients.js";
import { deadlinePolicy } from "../azure/deadline.js";
import { errorMessage, statusCodeOf } from "../errors.js";

export type SinkName = "teams" | "sentinel" | "eventgrid";

/**
 * What became of one payload: delivered; deferred (the sink's pace, not a failure: it waits in the outbox
 * with no attempt counted); or failed, `permanent` when a resend cannot help (a 4xx other than 408/429).
 */
export type Delivery = { status: "delivered" } | { status: "deferred" } | { status: "failed"; error: string; permanent: boolean };

/** A sink takes payloads (in order) and says what became of each; it never throws. */
export interface Sink {
  name: SinkName;
  /** How many outbox entries one dispatch hands it (Teams: what its pace allows in a second). */
  batchLimit: number;
  deliver(payloads: unknown[]): Promise<Delivery[]>;
}

/**
 * docs/guarantees.md "Nothing twice, nothing starved": a 4xx other than 408 (timeout) and 429 (throttled) answers the
 * same on every resend (Teams 400 to a card it cannot render, Logs Ingestion 403/404 for a stream it does not
 * know); a timeout, 408, 429 and 5xx may pass later.
 */
export function permanentStatus(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

function failed(error: string, status: number | undefined): Delivery {
  return { status: "failed", error, permanent: permanentStatus(status) };
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
  // createPipelineFromOptions does not take additionalPolicies: the deadline is added here.
  pipeline.addPolicy(deadlinePolicy(clients.deadlines.callMs));
  const http = createDefaultHttpClient();
  let last = 0;
  return {
    name: "teams",
    batchLimit: Math.floor(TEAMS_MAX_WAIT_MS / TEAMS_INTERVAL_MS) + 1,
    async deliver(payloads) {
      const results: Delivery[] = [];
      const started = Date.now();
      for (const payload of payloads) {
        const wait = last + TEAMS_INTERVAL_MS - Date.now();
        if (Date.now() + Math.max(0, wait) - started > TEAMS_MAX_WAIT_MS) {
          results.push({ status: "deferred" });
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
          });
          const response = await pipeline.sendRequest(http, request);
          const ok = response.status >= 200 && response.status < 300;
          results.push(ok ? { status: "delivered" } : failed(`Teams webhook answered ${response.status}`, response.status));
        } catch (cause) {
          results.push(failed(`Teams webhook: ${redactUrl(errorMessage(cause))}`, statusCodeOf(cause)));
        }
      }
      return results;
    },
  };
}

/** Logs Ingestion API (Sentinel): rows in ≤1 MB gzip'd chunks by the SDK; failed chunks are reported per row. */
export function sentinelSink(clients: AzureClients, target: NonNullable<SinkEndpoints["logsIngestion"]>): Sink {
  // The SDK loads with the first delivery: a run that has nothing to send never pays for it.
  let client: Promise<LogsIngestionClient> | undefined;
  const connect = (): Promise<LogsIngestionClient> =>
    (client ??= import("@azure/monitor-ingestion").then(
      ({ LogsIngestionClient }) =>
        new LogsIngestionClient(target.endpoint, clients.credential, {
          ...clients.restOptions,
          ...(clients.target === "emulator" ? { credentials: { scopes: [`${target.endpoint}/.default`] } } : {}),
        }),
    ));
  return {
    name: "sentinel",
    batchLimit: 500,
    async deliver(payloads) {
      const failures = new Map<unknown, Delivery>();
      let whole: Delivery | undefined;
      try {
        await (await connect()).upload(target.dcrImmutableId, target.stream, payloads as Record<string, unknown>[], {
          maxConcurrency: 1,
          onError: (upload) => {
            const result = failed(`Logs Ingestion: ${redactUrl(errorMessage(upload.cause))}`, statusCodeOf(upload.cause));
            for (const row of upload.failedLogs) failures.set(row, result);
          },
        });
      } catch (cause) {
        whole = failed(`Logs Ingestion: ${redactUrl(errorMessage(cause))}`, statusCodeOf(cause));
      }
      return payloads.map((payload) => failures.get(payload) ?? whole ?? { status: "delivered" });
    },
  };
}

const EVENT_GRID_BATCH = 100;

/** Event Grid custom topic, CloudEvents schema; Entra auth by default, the topic key when configured. */
export function eventGridSink(clients: AzureClients, target: NonNullable<SinkEndpoints["eventGrid"]>): Sink {
  const credential = target.key ? new AzureKeyCredential(target.key) : clients.credential;
  let client: Promise<EventGridPublisherClient<"CloudEvent">> | undefined;
  const connect = (): Promise<EventGridPublisherClient<"CloudEvent">> =>
    (client ??= import("@azure/eventgrid").then(({ EventGridPublisherClient }) => new EventGridPublisherClient(target.endpoint, "CloudEvent", credential, clients.restOptions)));
  return {
    name: "eventgrid",
    batchLimit: 500,
    async deliver(payloads) {
      const results: Delivery[] = [];
      for (let start = 0; start < payloads.length; start += EVENT_GRID_BATCH) {
        const batch = payloads.slice(start, start + EVENT_GRID_BATCH) as Array<Parameters<EventGridPublisherClient<"CloudEvent">["send"]>[0][number]>;
        try {
          await (await connect()).send(batch.map((event) => ({ ...event, time: new Date(String((event as { time?: unknown }).time)) })));
          results.push(...batch.map((): Delivery => ({ status: "delivered" })));
        } catch (cause) {
          const result = failed(`Event Grid: ${redactUrl(errorMessage(cause))}`, statusCodeOf(cause));
          results.push(...batch.map(() => result));
        }
      }
      return results;
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
