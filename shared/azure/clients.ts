import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { ResourceGraphClient } from "@azure/arm-resourcegraph";
import { AuthorizationManagementClient } from "@azure/arm-authorization";
import { getClient, type Client, type ClientOptions } from "@azure-rest/core-client";
import { TableClient } from "@azure/data-tables";
import { QueueClient } from "@azure/storage-queue";
import type { LogsQueryClient } from "@azure/monitor-query-logs";
import type { MonitorClient } from "@azure/arm-monitor";
import type { AppSettings } from "../config/settings.js";
import { InputError } from "../errors.js";
import { QuotaPacer } from "./resourceGraph.js";
import { ArmBucketPacer, armReadPacingPolicy } from "./armPacer.js";
import { DEFAULT_DEADLINES, deadlinePolicy, type Deadlines } from "./deadline.js";
import { armGetOf, type ArmGet, type ArmGetSettings } from "./armGet.js";
import { createDefaultHttpClient } from "@azure/core-rest-pipeline";

/**
 * Where the clients point. `azure` is the real cloud with Entra credentials; `emulator` is local/
 * on 127.0.0.1 over TLS with a certificate we trust explicitly. This is the only place that knows.
 */
export type AzureTarget =
  | { kind: "azure"; settings: AppSettings; storageConnectionString?: string; deadlines?: Deadlines }
  | {
      kind: "emulator";
      url: string;
      ca: string;
      storageConnectionString?: string;
      deadlines?: Deadlines;
      /** The emulator's ARM read bucket when a test scales it down (the pacers assume ARM's own otherwise). */
      armReadBucket?: { capacity: number; refillPerSecond: number };
    };

/** The deadlines of the app settings (UAMI_GUARD_CALL_TIMEOUT_SECONDS, UAMI_GUARD_RUN_TIMEOUT_SECONDS). */
export function deadlinesOf(settings: AppSettings): Deadlines {
  return { callMs: settings.UAMI_GUARD_CALL_TIMEOUT_SECONDS * 1000, runMs: settings.UAMI_GUARD_RUN_TIMEOUT_SECONDS * 1000 };
}

export interface ServiceEndpoints {
  arm: string;
  graph: string;
  logAnalytics: string;
}

/** The Azure clients of one target, and nothing else (sinks and stores are built by shared/composition.ts). */
export interface AzureClients {
  readonly target: AzureTarget["kind"];
  /** Where the clients point (the composition root derives the emulator's sink endpoints from it). */
  readonly origin: AzureTarget;
  readonly credential: TokenCredential;
  readonly endpoints: ServiceEndpoints;
  readonly resourceGraph: ResourceGraphClient;
  /** Shared by every Resource Graph query of this process: the quota is per caller. */
  readonly resourceGraphPacer: QuotaPacer;
  /** Generic ARM REST client (resource GET/PATCH whose api-version depends on the resource type). */
  readonly arm: Client;
  /** Microsoft Graph REST client (directoryObjects/getByIds). */
  readonly graph: Client;
  /** Options every other SDK client of this target needs (endpoint redirection, TLS trust). */
  readonly sdkOptions: ClientOptions;
  /** The same without `endpoint`, for clients that take their endpoint as an argument. */
  readonly restOptions: ClientOptions;
  /** Per call and per run; a run wraps its work in withRunDeadline(deadlines.runMs, ...). */
  readonly deadlines: Deadlines;
  /** Its GETs are paced by the subscription's ARM read bucket (`armReadPacer`), as `armGet`'s. */
  authorization(subscriptionId: string): AuthorizationManagementClient;
  /** Log Analytics queries (managed-identity sign-in logs); loaded on first use, as `monitor`. */
  logsQuery(): Promise<LogsQueryClient>;
  /**
   * Azure Monitor's ARM API (metrics of a resource), paced like `armGet`. Loaded on first use: only sweeps read
   * metrics, and the package is large, so the event trigger's cold start does not pay for it.
   */
  monitor(subscriptionId: string): Promise<MonitorClient>;
  /**
   * GETs of ARM collections in one subscription through the lean pipeline of `armGet.ts` (retries, token,
   * deadline, paced by the subscription's ARM read bucket, `armReadPacer`): the sweep's one-call-per-identity listings.
   */
  armGet(subscriptionId: string): ArmGet;
  /** What `armGet` is built from, as plain data: the federated credential listing's worker thread builds the same. */
  readonly armGetSettings: ArmGetSettings;
  /** One per subscription and process: ARM's read bucket is per subscription and principal. */
  armReadPacer(subscriptionId: string): ArmBucketPacer;
  /** Table storage; throws InputError when no storage is configured. */
  table(name: string): TableClient;
  queue(name: string): QueueClient;
}

const AZURE_ENDPOINTS: ServiceEndpoints = {
  arm: "https://management.azure.com",
  graph: "https://graph.microsoft.com",
  logAnalytics: "https://api.loganalytics.io/v1",
};

/** A token for the emulator only: it checks that a bearer token is sent, not what it says. */
class EmulatorCredential implements TokenCredential {
  async getToken(): Promise<AccessToken> {
    return { token: "uami-guard-local-emulator", expiresOnTimestamp: Date.now() + 3_600_000 };
  }
}

function azureCredential(settings: AppSettings): TokenCredential {
  // In the Function App the identity is the app's own UAMI; elsewhere DefaultAzureCredential picks
  // up az login, workload identity, environment credentials, ... The package loads with the first token.
  let credential: Promise<TokenCredential> | undefined;
  return {
    async getToken(scopes, options) {
      credential ??= import("@azure/identity").then(({ DefaultAzureCredential, ManagedIdentityCredential }) =>
        settings.AZURE_CLIENT_ID ? new ManagedIdentityCredential({ clientId: settings.AZURE_CLIENT_ID }) : new DefaultAzureCredential(),
      );
      return (await credential).getToken(scopes, options);
    },
  };
}

/** Every client's and the lean GET pipeline's user agent starts with it. */
const USER_AGENT_PREFIX = "uami-guard";

export function createAzureClients(target: AzureTarget): AzureClients {
  const credential = target.kind === "azure" ? azureCredential(target.settings) : new EmulatorCredential();
  const endpoints: ServiceEndpoints =
    target.kind === "azure"
      ? AZURE_ENDPOINTS
      : { arm: target.url, graph: `${target.url}/graph`, logAnalytics: `${target.url}/loganalytics/v1` };
  const tlsOptions = target.kind === "emulator" ? { ca: target.ca } : undefined;
  const deadlines = target.deadlines ?? (target.kind === "azure" ? deadlinesOf(target.settings) : DEFAULT_DEADLINES);
  const sdkOptions: ClientOptions = {
    ...(target.kind === "emulator" ? { endpoint: target.url, tlsOptions } : {}),
    userAgentOptions: { userAgentPrefix: USER_AGENT_PREFIX },
    // Same retry count everywhere; the emulator needs no real back-off between attempts (a
    // Retry-After header is honoured either way).
    retryOptions:
      target.kind === "azure"
        ? { maxRetries: 4, retryDelayInMs: 800, maxRetryDelayInMs: 30_000 }
        : { maxRetries: 4, retryDelayInMs: 20, maxRetryDelayInMs: 200 },
    additionalPolicies: [{ policy: deadlinePolicy(deadlines.callMs), position: "perCall" }],
  };
  // Storage holds the journal: a call to it has its own deadline but not the run's, so an entry can
  // still be finished (or left pending for reconciliation) when the run's time is up.
  const storagePolicies = [{ policy: deadlinePolicy(deadlines.callMs, { withRun: false }), position: "perCall" as const }];
  // REST clients take their endpoint as an argument; an `endpoint` option would override it.
  const { endpoint: _endpoint, ...restOptions } = sdkOptions;
  const armScope = target.kind === "azure" ? "https://management.azure.com/.default" : `${target.url}/.default`;
  const authorizationClients = new Map<string, AuthorizationManagementClient>();
  const monitorClients = new Map<string, Promise<MonitorClient>>();
  const armGets = new Map<string, ArmGet>();
  const armGetHttpClient = createDefaultHttpClient();
  const armGetSettings: ArmGetSettings = {
    arm: endpoints.arm,
    scopes: [armScope],
    userAgentPrefix: USER_AGENT_PREFIX,
    retryOptions: sdkOptions.retryOptions ?? {},
    ...(tlsOptions ? { tlsOptions } : {}),
    callMs: deadlines.callMs,
  };
  const armReadPacers = new Map<string, ArmBucketPacer>();
  const armReadPacer = (subscriptionId: string): ArmBucketPacer => {
    const key = subscriptionId.toLowerCase();
    let pacer = armReadPacers.get(key);
    if (!pacer) {
      pacer = new ArmBucketPacer(target.kind === "emulator" ? target.armReadBucket : undefined);
      armReadPacers.set(key, pacer);
    }
    return pacer;
  };

  return {
    target: target.kind,
    origin: target,
    credential,
    endpoints,
    sdkOptions,
    restOptions,
    deadlines,
    resourceGraph: new ResourceGraphClient(credential, sdkOptions),
    resourceGraphPacer: new QuotaPacer(),
    arm: getClient(endpoints.arm, credential, { ...restOptions, credentials: { scopes: [armScope] } }),
    graph: getClient(endpoints.graph, credential, {
      ...restOptions,
      credentials: { scopes: [target.kind === "azure" ? "https://graph.microsoft.com/.default" : `${target.url}/.default`] },
    }),
    authorization(subscriptionId) {
      let client = authorizationClients.get(subscriptionId);
      if (!client) {
        client = new AuthorizationManagementClient(credential, subscriptionId, sdkOptions);
        // Its GETs (PIM eligibility lists, role assignment reads) drain the same read bucket as the credential listings.
        client.pipeline.addPolicy(armReadPacingPolicy(armReadPacer(subscriptionId)), { afterPhase: "Retry" });
        authorizationClients.set(subscriptionId, client);
      }
      return client;
    },
    async logsQuery() {
      const { LogsQueryClient } = await import("@azure/monitor-query-logs");
      return new LogsQueryClient(credential, {
        ...sdkOptions,
        endpoint: endpoints.logAnalytics,
        ...(target.kind === "emulator" ? { credentials: { scopes: [`${target.url}/.default`] } } : {}),
      });
    },
    monitor(subscriptionId) {
      const key = subscriptionId.toLowerCase();
      let client = monitorClients.get(key);
      if (!client) {
        client = import("@azure/arm-monitor").then(({ MonitorClient }) => {
          const created = new MonitorClient(credential, subscriptionId, { ...sdkOptions, credentials: { scopes: [armScope] } });
          created.pipeline.addPolicy(armReadPacingPolicy(armReadPacer(subscriptionId)), { afterPhase: "Retry" });
          return created;
        });
        monitorClients.set(key, client);
      }
      return client;
    },
    armGet(subscriptionId) {
      const key = subscriptionId.toLowerCase();
      let get = armGets.get(key);
      if (!get) {
        get = armGetOf(armGetSettings, credential, armReadPacer(subscriptionId), armGetHttpClient);
        armGets.set(key, get);
      }
      return get;
    },
    armGetSettings,
    armReadPacer,
    table(name) {
      const storage = storageFor(target);
      return storage.connectionString
        ? TableClient.fromConnectionString(storage.connectionString, name, {
            allowInsecureConnection: storage.local,
            additionalPolicies: storagePolicies,
            // Azurite on loopback needs no real back-off between attempts (as the emulator's ARM clients).
            ...(storage.local ? { retryOptions: { maxRetries: 3, retryDelayInMs: 20, maxRetryDelayInMs: 200 } } : {}),
          })
        : new TableClient(`${storage.tableServiceUri}`, name, credential, { additionalPolicies: storagePolicies });
    },
    queue(name) {
      const storage = storageFor(target);
      // The queue SDK has its own pipeline: its per-try timeout, over its four tries, is the call deadline.
      const options = {
        retryOptions: { maxTries: 4, tryTimeoutInMs: Math.max(1000, Math.floor(deadlines.callMs / 4)), ...(storage.local ? { retryDelayInMs: 20, maxRetryDelayInMs: 200 } : {}) },
      };
      return storage.connectionString
        ? new QueueClient(storage.connectionString, name, options)
        : new QueueClient(`${storage.queueServiceUri?.replace(/\/$/, "")}/${name}`, credential, options);
    },
  };
}

interface StorageTarget {
  connectionString?: string;
  tableServiceUri?: string;
  queueServiceUri?: string;
  local: boolean;
}

function storageFor(target: AzureTarget): StorageTarget {
  if (target.kind === "emulator") {
    if (!target.storageConnectionString) throw new InputError("storage: no storage configured for this run (state needs Azurite or --state)");
    return { connectionString: target.storageConnectionString, local: true };
  }
  const settings = target.settings;
  if (target.storageConnectionString) return { connectionString: target.storageConnectionString, local: /127\.0\.0\.1|localhost/.test(target.storageConnectionString) };
  if (settings.AzureWebJobsStorage__tableServiceUri) {
    return {
      tableServiceUri: settings.AzureWebJobsStorage__tableServiceUri,
      queueServiceUri: settings.AzureWebJobsStorage__queueServiceUri,
      local: false,
    };
  }
  if (settings.AzureWebJobsStorage) {
    const local = /UseDevelopmentStorage=true|127\.0\.0\.1|localhost/i.test(settings.AzureWebJobsStorage);
    return { connectionString: settings.AzureWebJobsStorage, local };
  }
  throw new InputError("app setting AzureWebJobsStorage__tableServiceUri (or AzureWebJobsStorage): missing; state storage is required");
}
