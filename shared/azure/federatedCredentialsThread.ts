import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import type { AccessToken } from "@azure/core-auth";
import type { FederatedCredential, Identity } from "../model.js";
import { errorMessage } from "../errors.js";
import type { ArmGetSettings } from "./armGet.js";
import type { AzureClients } from "./clients.js";
import { currentRunDeadline } from "./deadline.js";

/**
 * The federated credential listing in a worker thread (`federatedCredentialsWorker.ts`): its 100,000 calls'
 * HTTP, TLS and JSON work runs on another core than the Resource Graph stream and the rules. A worker has its own
 * event loop and V8 isolate and talks to this thread by messages (Node "Worker threads": `Worker`,
 * `MessageChannel`, `workerData`), so the worker builds its own lean pipeline from `clients.armGetSettings` — the
 * SDK's retry policy with Retry-After, the bearer token policy, the call deadline, TLS and CA as the clients have
 * them, a read pacer per subscription over the main thread's estimate of that subscription's bucket (shared memory,
 * `armPacer.ts`) — while the credential and its token cache stay here: the worker asks this thread for a token
 * over a port, and only for ARM's scope. The run's deadline and the caller's signal are
 * relayed to it as messages. A worker that cannot start or stops before it has listed everyone leaves every
 * identity it did not list `failed` (unknown), never "no credentials".
 */

/** What the listing reads of an identity (all the worker is sent of it). */
export type ListedIdentity = Pick<Identity, "id" | "subscriptionId" | "resourceGroup" | "name">;
/** One identity's result: its credentials, or why they could not be listed. */
export type ListedResult = FederatedCredential[] | { failed: string };

/** The worker's `workerData`. */
export interface WorkerStart {
  settings: ArmGetSettings;
  identities: ListedIdentity[];
  /**
   * Each subscription's read-bucket estimate (`ArmBucketPacer.shared`, by lower-case subscription id): the
   * worker's pacers spend from the main thread's, which its other reads of those subscriptions spend from too.
   */
  pacers: Record<string, SharedArrayBuffer>;
  concurrencyPerSubscription?: number;
  concurrencyTotal?: number;
  /** The run's deadline, when the listing runs under one: its abort is relayed as `{ type: "abort", what: "run" }`. */
  run?: { ms: number; aborted: boolean };
  /** The caller's signal, when it gave one: relayed as `{ type: "abort", what: "signal" }`. */
  signal?: { aborted: boolean };
  /** A token for ARM, got before the start so the first calls wait for no message. */
  token?: AccessToken;
  /** Where the worker asks for tokens (`TokenRequest` → `TokenReply`). */
  tokens: MessagePort;
}
export interface AbortMessage {
  type: "abort";
  what: "run" | "signal";
}
export type FromWorker = { type: "listed"; results: Array<[number, ListedResult]> } | { type: "done" };
export interface TokenRequest {
  id: number;
  scopes: string[];
  claims?: string;
  tenantId?: string;
  enableCae?: boolean;
}
export type TokenReply = { id: number; token: AccessToken } | { id: number; error: string };

/**
 * The worker's entry: beside this module once compiled (the Function App's package finds it by this `new URL`,
 * tools/packageApp.ts); the build's copy when this module runs as TypeScript (vitest), as a worker runs JavaScript.
 */
export function workerEntry(): URL {
  const built = "shared/azure/federatedCredentialsWorker.js";
  if (import.meta.url.endsWith(".ts")) return new URL(`../../dist/${built}`, import.meta.url);
  return new URL("./federatedCredentialsWorker.js", import.meta.url);
}

export async function listInWorker(
  clients: AzureClients,
  identities: readonly ListedIdentity[],
  options: { concurrencyPerSubscription?: number; concurrencyTotal?: number; signal?: AbortSignal; onIdentity?: () => void },
  entry: URL = workerEntry(),
): Promise<{ credentials: FederatedCredential[]; failed: Array<{ identityId: string; reason: string }> }> {
  if (identities.length === 0) return { credentials: [], failed: [] };
  const settings = clients.armGetSettings;
  const run = currentRunDeadline();
  const results = new Array<ListedResult | undefined>(identities.length);
  const token = await armToken(clients, settings, {}).catch(() => undefined);
  const stopped = await new Promise<string | undefined>((resolve) => {
    const { port1: tokens, port2 } = new MessageChannel();
    const start: WorkerStart = {
      settings,
      identities: identities.map(({ id, subscriptionId, resourceGroup, name }) => ({ id, subscriptionId, resourceGroup, name })),
      pacers: Object.fromEntries([...new Set(identities.map((identity) => identity.subscriptionId.toLowerCase()))].map((key) => [key, clients.armReadPacer(key).shared])),
      ...(options.concurrencyPerSubscription !== undefined ? { concurrencyPerSubscription: options.concurrencyPerSubscription } : {}),
      ...(options.concurrencyTotal !== undefined ? { concurrencyTotal: options.concurrencyTotal } : {}),
      ...(run ? { run: { ms: run.ms, aborted: run.signal.aborted } } : {}),
      ...(options.signal ? { signal: { aborted: options.signal.aborted } } : {}),
      ...(token ? { token } : {}),
      tokens: port2,
    };
    let worker: Worker;
    try {
      worker = new Worker(entry, { workerData: start, transferList: [port2] });
    } catch (error) {
      tokens.close();
      resolve(`did not start: ${errorMessage(error)}`);
      return;
    }
    let done = false;
    let failure: string | undefined;
    const relay = (what: AbortMessage["what"]) => (): void => worker.postMessage({ type: "abort", what } satisfies AbortMessage);
    const onRunAbort = relay("run");
    const onSignalAbort = relay("signal");
    run?.signal.addEventListener("abort", onRunAbort, { once: true });
    options.signal?.addEventListener("abort", onSignalAbort, { once: true });
    tokens.on("message", (request: TokenRequest) => {
      void answer(clients, settings, request).then((reply) => {
        if (!done) tokens.postMessage(reply);
      });
    });
    worker.on("message", (message: FromWorker) => {
      if (message.type === "done") {
        done = true;
        void worker.terminate();
        return;
      }
      for (const [index, result] of message.results) {
        if (!Number.isInteger(index) || index < 0 || index >= results.length || results[index] !== undefined) continue;
        results[index] = result;
        options.onIdentity?.();
      }
    });
    worker.on("error", (error) => {
      failure ??= errorMessage(error);
    });
    worker.on("exit", (code) => {
      run?.signal.removeEventListener("abort", onRunAbort);
      options.signal?.removeEventListener("abort", onSignalAbort);
      tokens.close();
      resolve(done ? undefined : `stopped (${failure ?? `exit code ${code}`})`);
    });
  });
  const credentials: FederatedCredential[] = [];
  const failed: Array<{ identityId: string; reason: string }> = [];
  for (let index = 0; index < results.length; index += 1) {
    const result = results[index];
    const identityId = (identities[index] as ListedIdentity).id;
    if (result === undefined) {
      failed.push({ identityId, reason: `not listed: the listing's worker thread ${stopped ?? "ended without its answer"}` });
      options.onIdentity?.();
    } else if (Array.isArray(result)) {
      for (const credential of result) credentials.push(credential);
    } else {
      failed.push({ identityId, reason: result.failed });
    }
  }
  return { credentials, failed };
}

/** A token of the clients' credential for ARM's scope, as plain data (the worker gets a copy). */
async function armToken(clients: AzureClients, settings: ArmGetSettings, request: Omit<TokenRequest, "id" | "scopes">): Promise<AccessToken> {
  const token = await clients.credential.getToken(settings.scopes, {
    ...(request.claims !== undefined ? { claims: request.claims } : {}),
    ...(request.tenantId !== undefined ? { tenantId: request.tenantId } : {}),
    ...(request.enableCae !== undefined ? { enableCae: request.enableCae } : {}),
  });
  if (!token) throw new Error("the credential gave no token");
  return {
    token: token.token,
    expiresOnTimestamp: token.expiresOnTimestamp,
    ...(token.refreshAfterTimestamp !== undefined ? { refreshAfterTimestamp: token.refreshAfterTimestamp } : {}),
    ...(token.tokenType !== undefined ? { tokenType: token.tokenType } : {}),
  };
}

/** A worker's token request: only ever for ARM's scope, the one place its pipeline sends a token. */
async function answer(clients: AzureClients, settings: ArmGetSettings, request: TokenRequest): Promise<TokenReply> {
  const scopes = Array.isArray(request.scopes) ? request.scopes : [];
  if (scopes.length !== settings.scopes.length || scopes.some((scope, at) => scope !== settings.scopes[at])) {
    return { id: request.id, error: `a token for ${scopes.join(" ")} refused: the listing's worker gets ARM's only` };
  }
  try {
    return { id: request.id, token: await armToken(clients, settings, request) };
  } catch (error) {
    return { id: request.id, error: errorMessage(error) };
  }
}
