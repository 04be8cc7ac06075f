import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { setMaxListeners } from "node:events";
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth";
import { createDefaultHttpClient } from "@azure/core-rest-pipeline";
import { armGetOf, type ArmGet } from "./armGet.js";
import { ArmBucketPacer } from "./armPacer.js";
import { underRunDeadline } from "./deadline.js";
import { listEach } from "./federatedCredentials.js";
import type { AbortMessage, FromWorker, ListedResult, TokenReply, TokenRequest, WorkerStart } from "./federatedCredentialsThread.js";

/**
 * The worker thread of the federated credential listing (started by `federatedCredentialsThread.ts`). It lists
 * through the lean pipeline of `armGet.ts`, built here from the clients' settings, and sends results back in
 * batches: a message per identity would cost the main thread a good part of what the worker saves it.
 */
const BATCH = 250;
const BATCH_MS = 50;

/** The main thread's credential, asked over a port; its first token comes with the start. */
class ThreadCredential implements TokenCredential {
  private asked = 0;
  private readonly waiting = new Map<number, { resolve: (token: AccessToken) => void; reject: (error: Error) => void }>();

  constructor(
    private readonly port: MessagePort,
    private first: AccessToken | undefined,
  ) {
    port.on("message", (reply: TokenReply) => {
      const waiter = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if ("token" in reply) waiter?.resolve(reply.token);
      else waiter?.reject(new Error(reply.error));
    });
    port.unref();
  }

  getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    const first = this.first;
    this.first = undefined;
    // The bearer policy asks again only when its token is about to expire (its token cycler starts 2 minutes before:
    // core-rest-pipeline src/util/tokenCycler.ts, refreshWindowInMs), or with a claims challenge.
    if (first && options?.claims === undefined && first.expiresOnTimestamp > Date.now() + 5 * 60_000) return Promise.resolve(first);
    const request: TokenRequest = {
      id: (this.asked += 1),
      scopes: typeof scopes === "string" ? [scopes] : [...scopes],
      ...(options?.claims !== undefined ? { claims: options.claims } : {}),
      ...(options?.tenantId !== undefined ? { tenantId: options.tenantId } : {}),
      ...(options?.enableCae !== undefined ? { enableCae: options.enableCae } : {}),
    };
    return new Promise((resolve, reject) => {
      this.waiting.set(request.id, { resolve, reject });
      this.port.ref();
      this.port.postMessage(request);
    }).finally(() => {
      if (this.waiting.size === 0) this.port.unref();
    }) as Promise<AccessToken>;
  }
}

async function main(port: NonNullable<typeof parentPort>, start: WorkerStart): Promise<void> {
  const runController = new AbortController();
  const signalController = new AbortController();
  setMaxListeners(0, runController.signal, signalController.signal);
  if (start.run?.aborted) runController.abort();
  if (start.signal?.aborted) signalController.abort();
  port.on("message", (message: AbortMessage) => (message.what === "run" ? runController : signalController).abort());

  const credential = new ThreadCredential(start.tokens, start.token);
  const httpClient = createDefaultHttpClient();
  const gets = new Map<string, ArmGet>();
  // ARM's read bucket is per subscription: each pacer here spends from the main thread's estimate of it, so the
  // main thread's reads of the same subscription meanwhile and this thread's never count one refill twice.
  const armGetFor = (subscriptionId: string): ArmGet => {
    const key = subscriptionId.toLowerCase();
    let get = gets.get(key);
    if (!get) {
      get = armGetOf(start.settings, credential, new ArmBucketPacer(undefined, undefined, undefined, start.pacers[key]), httpClient);
      gets.set(key, get);
    }
    return get;
  };

  let batch: Array<[number, ListedResult]> = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (batch.length === 0) return;
    port.postMessage({ type: "listed", results: batch } satisfies FromWorker);
    batch = [];
  };
  const list = (): Promise<void> =>
    listEach(
      armGetFor,
      start.settings.arm,
      start.identities,
      {
        ...(start.concurrencyPerSubscription !== undefined ? { concurrencyPerSubscription: start.concurrencyPerSubscription } : {}),
        ...(start.concurrencyTotal !== undefined ? { concurrencyTotal: start.concurrencyTotal } : {}),
        ...(start.signal ? { signal: signalController.signal } : {}),
      },
      (index, result) => {
        batch.push([index, result]);
        if (batch.length >= BATCH) flush();
        else timer ??= setTimeout(flush, BATCH_MS);
      },
    );
  await (start.run ? underRunDeadline({ signal: runController.signal, ms: start.run.ms }, list) : list());
  flush();
  port.postMessage({ type: "done" } satisfies FromWorker);
}

// Imported outside a worker (the package's load check) it does nothing.
if (parentPort) await main(parentPort, workerData as WorkerStart);
