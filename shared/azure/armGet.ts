import type { TokenCredential } from "@azure/core-auth";
import {
  bearerTokenAuthenticationPolicy,
  createEmptyPipeline,
  createPipelineRequest,
  defaultRetryPolicy,
  proxyPolicy,
  RestError,
  setClientRequestIdPolicy,
  tlsPolicy,
  userAgentPolicy,
  type HttpClient,
  type PipelinePolicy,
  type PipelineRetryOptions,
  type TlsSettings,
} from "@azure/core-rest-pipeline";
import { armReadPacingPolicy, type ArmBucketPacer } from "./armPacer.js";
import { deadlinePolicy } from "./deadline.js";

/**
 * A GET of one ARM resource collection, for the sweep's one-call-per-identity listings (100,000 calls in a
 * tenant of a million role assignments). A generated client's pipeline spends about a millisecond of CPU on
 * each call beyond the HTTP exchange — a tracing span, the log policy's header sanitising, its operation
 * spec's URL templating and model (de)serialization — so this is a pipeline of the SDK's own policies
 * without those: retries (429/503 with Retry-After, transient errors), the bearer token, user agent, client
 * request id, proxy and TLS settings, and the policies the caller adds (deadline, read pacing). No redirect
 * is followed (ARM answers a listing without one, and a token is never sent on to another host).
 */
export interface ArmGetOptions {
  credential: TokenCredential;
  scopes: string[];
  userAgentPrefix: string;
  retryOptions: PipelineRetryOptions;
  tlsOptions?: TlsSettings;
  /** Per call, before the retries (the deadline). */
  perCall: PipelinePolicy[];
  /** Per attempt, after the retry policy (the read pacing). */
  perRetry: PipelinePolicy[];
  httpClient: HttpClient;
}

/**
 * What the listing's pipeline is made of besides the credential, the pacer and the HTTP client: plain data, so
 * the worker thread of the federated credential listing (`federatedCredentialsWorker.ts`) builds the same
 * pipeline as `clients.ts` does.
 */
export interface ArmGetSettings {
  /** ARM's origin (the emulator's in tests): the only place a token is sent. */
  arm: string;
  scopes: string[];
  userAgentPrefix: string;
  retryOptions: PipelineRetryOptions;
  tlsOptions?: TlsSettings;
  /** The call deadline (`deadline.ts`); the run's comes from the caller's run scope. */
  callMs: number;
}

/** The lean GET of one subscription: the call deadline per call, that subscription's read pacing per attempt. */
export function armGetOf(settings: ArmGetSettings, credential: TokenCredential, pacer: ArmBucketPacer, httpClient: HttpClient): ArmGet {
  return armGetPipeline({
    credential,
    scopes: settings.scopes,
    userAgentPrefix: settings.userAgentPrefix,
    retryOptions: settings.retryOptions,
    ...(settings.tlsOptions ? { tlsOptions: settings.tlsOptions } : {}),
    perCall: [deadlinePolicy(settings.callMs)],
    perRetry: [armReadPacingPolicy(pacer)],
    httpClient,
  });
}

export type ArmGet = (url: string, signal?: AbortSignal) => Promise<{ status: number; body: unknown }>;

export function armGetPipeline(options: ArmGetOptions): ArmGet {
  const pipeline = createEmptyPipeline();
  if (options.tlsOptions) pipeline.addPolicy(tlsPolicy(options.tlsOptions));
  pipeline.addPolicy(proxyPolicy());
  pipeline.addPolicy(userAgentPolicy({ userAgentPrefix: options.userAgentPrefix }));
  pipeline.addPolicy(setClientRequestIdPolicy());
  for (const policy of options.perCall) pipeline.addPolicy(policy);
  pipeline.addPolicy(defaultRetryPolicy(options.retryOptions), { phase: "Retry" });
  for (const policy of options.perRetry) pipeline.addPolicy(policy, { afterPhase: "Retry" });
  pipeline.addPolicy(bearerTokenAuthenticationPolicy({ credential: options.credential, scopes: options.scopes }), { phase: "Sign" });
  return async (url, signal) => {
    const request = createPipelineRequest({ url, method: "GET", ...(signal ? { abortSignal: signal } : {}) });
    request.headers.set("accept", "application/json");
    const response = await pipeline.sendRequest(options.httpClient, request);
    let body: unknown;
    try {
      body = response.bodyAsText ? JSON.parse(response.bodyAsText) : undefined;
    } catch {
      throw new RestError(`GET ${new URL(url).pathname}: the answer (${response.status}) is not JSON`, { statusCode: response.status, request, response });
    }
    if (response.status >= 200 && response.status < 300) return { status: response.status, body };
    // As a generated client throws it: ARM's error envelope's code and message, the status beside them.
    const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    const code = typeof error?.code === "string" ? error.code : undefined;
    const message = typeof error?.message === "string" ? error.message : `GET ${new URL(url).pathname} answered ${response.status}`;
    throw new RestError(message, { statusCode: response.status, ...(code ? { code } : {}), request, response });
  };
}
