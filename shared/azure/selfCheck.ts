import { createDefaultHttpClient, createPipelineFromOptions, createPipelineRequest } from "@azure/core-rest-pipeline";
import pLimit from "p-limit";
import type { AzureClients } from "./clients.js";
import type { SinkEndpoints } from "../notify/sinks.js";
import { countRoleAssignments } from "./armActions.js";
import { getDirectoryObjectsByIds } from "./directory.js";
import { GRAPH_APP_ID, graphPages } from "./entra.js";
import { listRoleEligibilities } from "./eligibility.js";
import { ServiceCallFailed } from "../errors.js";
import { errorMessage, statusCodeOf } from "../errors.js";

/**
 * `GET /api/health?deep=1`: can the app's identity do what the guard needs? Each check answers `ok`
 * or `failed: <reason>`; a reason never carries a secret (URLs lose their query, keys and signatures
 * are blanked). Every call has a deadline.
 */
export interface SelfCheckTargets {
  /** Governed subscriptions; empty: one Resource Graph read over every subscription the identity sees. */
  subscriptions: string[];
  tables: string[];
  queue: string;
  /** The app's own object id (Graph getByIds of it); absent: a well-formed id that resolves to nothing. */
  selfObjectId?: string;
  /** The sinks notifications go to. */
  sinks: SinkEndpoints;
}

export interface SelfCheckReport {
  status: "ok" | "failed";
  checks: Record<string, string>;
}

const DEADLINE_MS = 10_000;
const NO_OBJECT = "00000000-0000-0000-0000-000000000000";
const PROBE_ROW = { partitionKey: "uamiguard-health", rowKey: "probe" };

export async function runSelfCheck(clients: AzureClients, targets: SelfCheckTargets): Promise<SelfCheckReport> {
  const checks: Array<[string, () => Promise<void>]> = [];
  const subscriptions = targets.subscriptions.length > 0 ? targets.subscriptions : [undefined];
  for (const subscription of subscriptions) {
    checks.push([subscription ? `resourceGraph /subscriptions/${subscription}` : "resourceGraph", () => withDeadline(countRoleAssignments(clients, subscription ? [subscription] : [])).then(() => undefined)]);
  }
  const self = targets.selfObjectId ?? NO_OBJECT;
  checks.push(["graph getByIds", () => withDeadline(getDirectoryObjectsByIds(clients.graph, [self])).then(() => undefined)]);
  // The privilege reads of a sweep, each narrowed to one page or one principal (docs/rules/privileged-identity-exposed.md).
  const firstPage = (path: string, query: Record<string, string>, what: string) => async (): Promise<void> => {
    try {
      await withDeadline(graphPages(clients, path, query, what).next());
    } catch (error) {
      // Graph's own service principal missing from a tenant (only ever in a stand-in) means no permission is granted on it.
      if (!(error instanceof ServiceCallFailed && error.statusCode === 404 && what === "appRoleAssignedTo")) throw error;
    }
  };
  checks.push(["graph appRoleAssignedTo", firstPage(`/v1.0/servicePrincipals(appId='${GRAPH_APP_ID}')/appRoleAssignedTo`, { $top: "1" }, "appRoleAssignedTo")]);
  checks.push(["graph directory role assignments", firstPage("/v1.0/roleManagement/directory/roleAssignments", { $filter: `principalId eq '${self}'` }, "directory role assignments")]);
  checks.push(["graph directory role eligibilities", firstPage("/v1.0/roleManagement/directory/roleEligibilityScheduleInstances", { $filter: `principalId eq '${self}'` }, "directory role eligibilities")]);
  checks.push(["graph $batch group reads", () => withDeadline(batchProbe(clients, self))]);
  for (const subscription of targets.subscriptions) {
    checks.push([`arm roleEligibilityScheduleInstances /subscriptions/${subscription}`, () => withDeadline(listRoleEligibilities(clients, `/subscriptions/${subscription}`, new Date())).then(() => undefined)]);
  }
  for (const table of targets.tables) checks.push([`table ${table}`, () => withDeadline(writeTable(clients, table))]);
  checks.push([`queue ${targets.queue}`, () => withDeadline(writeQueue(clients, targets.queue))]);
  for (const [sink, url] of sinkUrls(targets.sinks)) checks.push([`sink ${sink}`, () => reachable(clients, url)]);
  const limit = pLimit(4);
  const results = await Promise.all(
    checks.map(([name, check]) =>
      limit(async (): Promise<[string, string]> => {
        try {
          await check();
          return [name, "ok"];
        } catch (error) {
          return [name, `failed: ${redact(errorMessage(error))}`];
        }
      }),
    ),
  );
  return { status: results.every(([, result]) => result === "ok") ? "ok" : "failed", checks: Object.fromEntries(results) };
}

async function withDeadline<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${DEADLINE_MS / 1000} s`)), DEADLINE_MS);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One `$batch` holding one group read (the app's own group memberships): the call and its item must be allowed. An
 * item answering 404 (no such principal) is allowed; 401/403 is not.
 */
async function batchProbe(clients: AzureClients, objectId: string): Promise<void> {
  const response = await clients.graph.path("/v1.0/$batch").post({
    body: { requests: [{ id: "1", method: "GET", url: `/servicePrincipals/${objectId}/transitiveMemberOf?$top=1` }] },
    contentType: "application/json",
  });
  const status = Number(response.status);
  const item = (response.body as { responses?: Array<{ status?: number }> } | undefined)?.responses?.[0];
  if (status !== 200 || !item) throw new ServiceCallFailed("graph", status, `graph: $batch answered ${status}`);
  if (item.status === 401 || item.status === 403) throw new ServiceCallFailed("graph", item.status, `graph: a group read in $batch answered ${item.status}`);
}

/** Creates the table if needed, then writes and removes a probe row. */
async function writeTable(clients: AzureClients, name: string): Promise<void> {
  const table = clients.table(name);
  await table.createTable({ abortSignal: AbortSignal.timeout(DEADLINE_MS) });
  await table.upsertEntity({ ...PROBE_ROW, checkedAt: new Date().toISOString() }, "Replace", { abortSignal: AbortSignal.timeout(DEADLINE_MS) });
  await table.deleteEntity(PROBE_ROW.partitionKey, PROBE_ROW.rowKey, { abortSignal: AbortSignal.timeout(DEADLINE_MS) });
}

/** Sends a message invisible for a minute and deletes it at once: the cleanup trigger never sees it. */
async function writeQueue(clients: AzureClients, name: string): Promise<void> {
  const queue = clients.queue(name);
  await queue.createIfNotExists({ abortSignal: AbortSignal.timeout(DEADLINE_MS) });
  const sent = await queue.sendMessage(Buffer.from(JSON.stringify({ healthProbe: true })).toString("base64"), { visibilityTimeout: 60, abortSignal: AbortSignal.timeout(DEADLINE_MS) });
  await queue.deleteMessage(sent.messageId, sent.popReceipt, { abortSignal: AbortSignal.timeout(DEADLINE_MS) });
}

function sinkUrls(sinks: SinkEndpoints): Array<[string, string]> {
  const urls: Array<[string, string]> = [];
  if (sinks.teamsWebhookUrl) urls.push(["teams", sinks.teamsWebhookUrl]);
  if (sinks.logsIngestion) urls.push(["sentinel", sinks.logsIngestion.endpoint]);
  if (sinks.eventGrid) urls.push(["eventgrid", sinks.eventGrid.endpoint]);
  return urls;
}

/**
 * Reachable: a GET of the endpoint's origin gets any HTTP answer (a 401 or 404 is an answer). Nothing
 * is posted, and the path and query — where a webhook keeps its signature — are never sent.
 */
async function reachable(clients: AzureClients, url: string): Promise<void> {
  const origin = new URL(url).origin;
  const pipeline = createPipelineFromOptions({ ...(clients.restOptions.tlsOptions ? { tlsOptions: clients.restOptions.tlsOptions } : {}), retryOptions: { maxRetries: 0 } });
  const request = createPipelineRequest({ url: `${origin}/`, method: "GET", timeout: DEADLINE_MS });
  try {
    await pipeline.sendRequest(createDefaultHttpClient(), request);
  } catch (error) {
    if (statusCodeOf(error) !== undefined) return;
    throw error;
  }
}

/** Blanks what could be a secret in an error text: URL queries and key/signature/code/token values. */
export function redact(reason: string): string {
  return reason
    .replace(/(https?:\/\/[^\s?'"]+)\?[^\s'"]*/gi, "$1?…")
    .replace(/\b(sig|code|key|token|password|secret|sharedaccesssignature|accountkey)=([^\s&;'"]+)/gi, "$1=…")
    .slice(0, 300);
}
