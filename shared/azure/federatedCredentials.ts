import type { AzureClients } from "./clients.js";
import type { ArmGet } from "./armGet.js";
import { listInWorker, type ListedIdentity, type ListedResult } from "./federatedCredentialsThread.js";
import type { FederatedCredential } from "../model.js";
import { errorMessage, statusCodeOf } from "../errors.js";

/**
 * Federated identity credentials are not in Resource Graph (no table lists
 * `…/userAssignedIdentities/federatedIdentityCredentials`): they are listed through ARM, one call per
 * identity (the REST call of `@azure/arm-msi` federatedIdentityCredentials.list, at most 20 per identity, so
 * one page, through the lean pipeline of `armGet.ts`), paced by the subscription's read bucket.
 */

/** Requests in flight per subscription: enough to keep up with 25 reads/s at real ARM latencies. */
export const FIC_CONCURRENCY_PER_SUBSCRIPTION = 8;
/**
 * Requests in flight over all subscriptions: a tenant of a million role assignments spans hundreds of
 * subscriptions (at most 4,000 assignments each), and 8 sockets for each would be thousands at once.
 */
export const FIC_CONCURRENCY_TOTAL = 64;

export interface FederatedCredentialListing {
  credentials: FederatedCredential[];
  /** Identities whose credentials could not be listed (ARM failed): unknown, never "none". */
  failed: Array<{ identityId: string; reason: string }>;
}

export interface ListFederatedCredentialsOptions {
  concurrencyPerSubscription?: number;
  concurrencyTotal?: number;
  signal?: AbortSignal;
  /** Called after each identity's listing (progress). */
  onIdentity?: () => void;
  /**
   * List on this thread through `clients.armGet` instead of a worker thread: for clients that are test doubles
   * past the pipeline (a worker builds its own pipeline from `clients.armGetSettings`).
   */
  inThread?: boolean;
}

/**
 * Lists every identity's federated credentials. The HTTP, TLS and JSON work of 100,000 calls is most of a
 * sweep's CPU beside the Resource Graph stream, so it runs in a worker thread (`federatedCredentialsThread.ts`),
 * on the other core; the credential, its token cache and the run's deadline stay on this thread.
 */
export async function listFederatedCredentials(
  clients: AzureClients,
  identities: readonly ListedIdentity[],
  options: ListFederatedCredentialsOptions = {},
): Promise<FederatedCredentialListing> {
  if (options.inThread) return listWith((subscriptionId) => clients.armGet(subscriptionId), clients.endpoints.arm, identities, options);
  return listInWorker(clients, identities, options);
}

/**
 * The listing through one `ArmGet` per subscription (this thread's, or the worker thread's own). `onResult`
 * takes each identity's result as it comes, by its index in `identities`.
 */
export async function listEach(
  armGetOf: (subscriptionId: string) => ArmGet,
  arm: string,
  identities: readonly ListedIdentity[],
  options: Pick<ListFederatedCredentialsOptions, "concurrencyPerSubscription" | "concurrencyTotal" | "signal">,
  onResult: (index: number, result: ListedResult) => void,
): Promise<void> {
  const bySubscription = new Map<string, number[]>();
  identities.forEach((identity, index) => {
    const key = identity.subscriptionId.toLowerCase();
    const list = bySubscription.get(key);
    if (list) list.push(index);
    else bySubscription.set(key, [index]);
  });
  // Each subscription has its own bucket: subscriptions are listed side by side, each at its own pace,
  // within one limit for the whole listing. A fixed set of workers takes the next identity of the next
  // subscription with room, so only the calls in flight are held (not a promise per identity of the tenant).
  const perSubscription = options.concurrencyPerSubscription ?? FIC_CONCURRENCY_PER_SUBSCRIPTION;
  const queues = [...bySubscription.values()].map((members) => ({ members, next: 0, open: 0 }));
  let cursor = 0;
  const take = (): { queue: (typeof queues)[number]; index: number } | undefined => {
    for (let tried = 0; tried < queues.length; tried += 1) {
      const queue = queues[cursor] as (typeof queues)[number];
      cursor = (cursor + 1) % queues.length;
      const index = queue.members[queue.next];
      if (index !== undefined && queue.open < perSubscription) {
        queue.next += 1;
        queue.open += 1;
        return { queue, index };
      }
    }
    // Every subscription left is at its limit: the workers on them take what remains.
    return undefined;
  };
  const worker = async (): Promise<void> => {
    for (let job = take(); job; job = take()) {
      const identity = identities[job.index] as ListedIdentity;
      let result: ListedResult;
      try {
        result = await listFor(armGetOf(identity.subscriptionId), arm, identity, options.signal);
      } catch (error) {
        result = { failed: errorMessage(error) };
      }
      job.queue.open -= 1;
      onResult(job.index, result);
    }
  };
  const workers = Math.min(options.concurrencyTotal ?? FIC_CONCURRENCY_TOTAL, identities.length);
  await Promise.all(Array.from({ length: workers }, worker));
}

async function listWith(
  armGetOf: (subscriptionId: string) => ArmGet,
  arm: string,
  identities: readonly ListedIdentity[],
  options: ListFederatedCredentialsOptions,
): Promise<FederatedCredentialListing> {
  const credentials: FederatedCredential[][] = [];
  const failed: FederatedCredentialListing["failed"] = [];
  await listEach(armGetOf, arm, identities, options, (index, result) => {
    if (Array.isArray(result)) credentials.push(result);
    else failed.push({ identityId: (identities[index] as ListedIdentity).id, reason: result.failed });
    options.onIdentity?.();
  });
  return { credentials: credentials.flat(), failed };
}

/** The api-version `@azure/arm-msi` 2.2.0 lists with (its default). */
const FIC_API_VERSION = "2024-11-30";
/** ARM lists at most 20 credentials per identity, one page; a nextLink chain longer than this is not an answer. */
const MAX_PAGES = 50;

async function listFor(get: ArmGet, armEndpoint: string, identity: ListedIdentity, signal: AbortSignal | undefined): Promise<FederatedCredential[]> {
  const found: FederatedCredential[] = [];
  const arm = armEndpoint.replace(/\/$/, "");
  const segments = ["subscriptions", identity.subscriptionId, "resourceGroups", identity.resourceGroup, "providers", "Microsoft.ManagedIdentity", "userAssignedIdentities", identity.name, "federatedIdentityCredentials"];
  let url: string | undefined = `${arm}/${segments.map(encodeURIComponent).join("/")}?api-version=${FIC_API_VERSION}`;
  // The lean pipeline paces every GET by the subscription's read bucket and returns the raw answer: the body
  // is parsed once, nested `properties` as ARM sends them, claimsMatchingExpression included.
  try {
    for (let page = 0; url !== undefined; page += 1) {
      if (page === MAX_PAGES) throw new Error(`more than ${MAX_PAGES} pages of federated credentials`);
      const { body } = await get(url, signal);
      const { value, nextLink } = (body ?? {}) as { value?: unknown; nextLink?: unknown };
      if (!Array.isArray(value)) throw new Error("the answer has no value array");
      for (const raw of value) {
        const mapped = toFederatedCredential(raw, identity.id);
        if (mapped) found.push(mapped);
      }
      url = typeof nextLink === "string" && nextLink !== "" ? nextLink : undefined;
      // A token goes to ARM only: a next page elsewhere is not followed.
      if (url !== undefined && new URL(url).origin !== new URL(arm).origin) throw new Error(`nextLink outside ARM: ${new URL(url).origin}`);
    }
  } catch (error) {
    // Deleted since Resource Graph listed it: it has no credentials any more.
    if (statusCodeOf(error) === 404) return [];
    throw error;
  }
  return found;
}

/** An ARM federated credential (ARM casing: `properties.issuer`, `subject`, `audiences`, optional `claimsMatchingExpression`). */
export function toFederatedCredential(value: unknown, identityId: string): FederatedCredential | undefined {
  if (!value || typeof value !== "object") return undefined;
  const raw = value as { id?: unknown; name?: unknown; properties?: unknown } & Record<string, unknown>;
  // The SDK flattens `properties`; a raw ARM body keeps them nested.
  const properties = (raw.properties && typeof raw.properties === "object" ? raw.properties : raw) as Record<string, unknown>;
  const armId = typeof raw.id === "string" ? raw.id : undefined;
  if (!armId) return undefined;
  const name = typeof raw.name === "string" ? raw.name : armId.slice(armId.lastIndexOf("/") + 1);
  // The Managed Identity provider spells `resourcegroups` whatever the identity's id says: the credential
  // keeps its identity's spelling, so one identity's ids read alike in every output.
  const composed = `${identityId}/federatedIdentityCredentials/${name}`;
  const id = composed.toLowerCase() === armId.toLowerCase() ? composed : armId;
  const credential: FederatedCredential = {
    id,
    name,
    identityId,
    issuer: typeof properties["issuer"] === "string" ? properties["issuer"] : "",
    subject: typeof properties["subject"] === "string" ? properties["subject"] : "",
    audiences: Array.isArray(properties["audiences"]) ? (properties["audiences"] as unknown[]).filter((a): a is string => typeof a === "string") : [],
  };
  const expression = properties["claimsMatchingExpression"] as { value?: unknown; languageVersion?: unknown } | undefined;
  if (expression && typeof expression.value === "string") {
    credential.claimsMatchingExpression = { value: expression.value, languageVersion: Number(expression.languageVersion ?? 1) };
  }
  return credential;
}
