import type { AzureClients } from "./clients.js";
import type { EventDestination, EventSubscriptionState, SubscriptionEventDelivery, SystemTopicState } from "../model.js";
import { onAppHost } from "../model.js";
import { errorMessage, toServiceCallFailed } from "../errors.js";

/**
 * Event Grid through ARM (api-version 2022-06-15, the version infra/ deploys):
 * `GET /subscriptions/{s}/providers/Microsoft.EventGrid/systemTopics` and `GET {systemTopicId}/eventSubscriptions`.
 * Shapes as in azure-rest-api-specs specification/eventgrid/resource-manager/Microsoft.EventGrid/stable/2022-06-15/examples/
 * SystemTopics_ListBySubscription.json (commit fe5111a3; `topicType` may come lower-case) and
 * SystemTopicEventSubscriptions_Get.json (fe5111a3), EventSubscriptions_GetForCustomTopic_AzureFunctionDestination.json
 * and …_WebhookDestination.json (3873f33d): a WebHook destination carries only `endpointBaseUrl`.
 */
export const EVENT_GRID_API_VERSION = "2022-06-15";
const SUBSCRIPTION_TOPIC_TYPE = "microsoft.resources.subscriptions";
/** Each call's deadline: a call that does not answer is an unknown, never a hang. */
const CALL_TIMEOUT_MS = 30_000;
const MAX_PAGES = 100;

interface ArmPage {
  value?: Array<Record<string, unknown>>;
  nextLink?: string;
}

async function listAll(clients: AzureClients, path: string, apiVersion = EVENT_GRID_API_VERSION): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  let next: string | undefined = path;
  for (let page = 0; next && page < MAX_PAGES; page++) {
    let response;
    try {
      // A nextLink is absolute; the REST client takes a path (and keeps its query).
      const url: URL | undefined = next.startsWith("http") ? new URL(next) : undefined;
      const request = url ? clients.arm.pathUnchecked(url.pathname + url.search) : clients.arm.pathUnchecked(next);
      response = await request.get({
        ...(url ? {} : { queryParameters: { "api-version": apiVersion } }),
        abortSignal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
    } catch (error) {
      throw toServiceCallFailed("arm", error);
    }
    const status = Number(response.status);
    if (status !== 200) {
      const code = (response.body as { error?: { code?: string } } | undefined)?.error?.code;
      throw toServiceCallFailed("arm", { statusCode: status, message: `GET ${path} answered ${status}${code ? ` ${code}` : ""}` });
    }
    const body = (response.body ?? {}) as ArmPage;
    if (!Array.isArray(body.value)) throw toServiceCallFailed("arm", { statusCode: status, message: `GET ${path}: no value array in the answer` });
    items.push(...body.value);
    next = typeof body.nextLink === "string" && body.nextLink !== "" ? body.nextLink : undefined;
  }
  return items;
}

const text = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);
const record = (value: unknown): Record<string, unknown> => (value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {});

export function toEventDestination(eventSubscription: Record<string, unknown>): EventDestination | undefined {
  const id = text(eventSubscription["id"]);
  const destination = record(record(eventSubscription["properties"])["destination"]);
  if (!id || Object.keys(destination).length === 0) return undefined;
  const properties = record(destination["properties"]);
  const resourceId = text(properties["resourceId"]);
  const endpointBaseUrl = text(properties["endpointBaseUrl"]);
  return { eventSubscriptionId: id, endpointType: text(destination["endpointType"]) ?? "", ...(resourceId ? { resourceId } : {}), ...(endpointBaseUrl ? { endpointBaseUrl } : {}) };
}

/**
 * What decides whether an event subscription delivers, as ARM's GET spells it (SystemTopicEventSubscriptions_Get.json:
 * `properties.provisioningState`, `expirationTimeUtc`, `filter.includedEventTypes`, `subjectBeginsWith`,
 * `subjectEndsWith`, `advancedFilters[]` of `{operatorType, key, values | value}`). An empty subject filter is none.
 */
export function toEventSubscriptionState(eventSubscription: Record<string, unknown>): EventSubscriptionState | undefined {
  const destination = toEventDestination(eventSubscription);
  if (!destination) return undefined;
  const properties = record(eventSubscription["properties"]);
  const filter = record(properties["filter"]);
  const types = filter["includedEventTypes"];
  const expiration = text(properties["expirationTimeUtc"]);
  const beginsWith = text(filter["subjectBeginsWith"]);
  const endsWith = text(filter["subjectEndsWith"]);
  const advanced = Array.isArray(filter["advancedFilters"]) ? filter["advancedFilters"].map(record) : [];
  return {
    id: destination.eventSubscriptionId,
    provisioningState: text(properties["provisioningState"]) ?? "",
    ...(expiration ? { expirationTimeUtc: expiration } : {}),
    ...(Array.isArray(types) ? { includedEventTypes: types.filter((type): type is string => typeof type === "string") } : {}),
    ...(beginsWith ? { subjectBeginsWith: beginsWith } : {}),
    ...(endsWith ? { subjectEndsWith: endsWith } : {}),
    advancedFilters: advanced.map((entry) => ({
      operatorType: text(entry["operatorType"]) ?? "",
      key: text(entry["key"]) ?? "",
      ...(Array.isArray(entry["values"]) ? { values: entry["values"] as unknown[] } : {}),
      ...("value" in entry ? { value: entry["value"] } : {}),
    })),
    destination,
  };
}

/**
 * The function a WebHook on the app's host names. ARM never returns a WebHook's full URL on GET (it may hold a key);
 * `POST {eventSubscriptionId}/getFullUrl` does (EventSubscriptions_GetFullUrlForSubscription.json @d293271e:
 * `{"endpointUrl": …}`), for a caller allowed `…/eventSubscriptions/getFullUrl/action`. Only the function name is
 * kept; a caller without that right learns why not, and the WebHook is not taken to deliver.
 */
async function webhookFunction(clients: AzureClients, destination: EventDestination): Promise<Pick<EventDestination, "functionName" | "fullUrlProblem">> {
  let response;
  try {
    response = await clients.arm.pathUnchecked(`${destination.eventSubscriptionId}/getFullUrl`).post({
      queryParameters: { "api-version": EVENT_GRID_API_VERSION },
      abortSignal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
  } catch (error) {
    return { fullUrlProblem: `getFullUrl failed: ${errorMessage(error)}` };
  }
  const status = Number(response.status);
  const url = text(record(response.body)["endpointUrl"]);
  if (status !== 200 || !url) return { fullUrlProblem: `getFullUrl answered ${status}` };
  try {
    return { functionName: new URL(url).searchParams.get("functionName") ?? "" };
  } catch {
    return { fullUrlProblem: "getFullUrl answered a URL that does not parse" };
  }
}

export interface EventDeliveryOptions {
  /** The app's Function App: a WebHook on its host has its full URL read, for the function it names. */
  functionAppId?: string;
}

/** The subscription's own system topics (topicType Microsoft.Resources.Subscriptions) and their event subscriptions. */
export async function readEventDelivery(clients: AzureClients, subscriptionId: string, options: EventDeliveryOptions = {}): Promise<SubscriptionEventDelivery> {
  const topics = await listAll(clients, `/subscriptions/${subscriptionId}/providers/Microsoft.EventGrid/systemTopics`);
  const systemTopics: SystemTopicState[] = [];
  for (const topic of topics) {
    const properties = record(topic["properties"]);
    const id = text(topic["id"]);
    const topicType = text(properties["topicType"]) ?? "";
    if (!id || topicType.toLowerCase() !== SUBSCRIPTION_TOPIC_TYPE) continue;
    const eventSubscriptions: EventSubscriptionState[] = [];
    for (const raw of await listAll(clients, `${id}/eventSubscriptions`)) {
      const state = toEventSubscriptionState(raw);
      if (!state) continue;
      const { destination } = state;
      if (options.functionAppId && destination.endpointType.toLowerCase() === "webhook" && destination.endpointBaseUrl && onAppHost(destination.endpointBaseUrl, options.functionAppId)) {
        Object.assign(destination, await webhookFunction(clients, destination));
      }
      eventSubscriptions.push(state);
    }
    systemTopics.push({ id, topicType, provisioningState: text(properties["provisioningState"]) ?? "", eventSubscriptions });
  }
  return { subscriptionId, systemTopics };
}

/** ARM's subscription list (Subscriptions - List, api-version 2022-12-01): every subscription the identity can see, enabled or not. */
export async function listSubscriptionIds(clients: AzureClients): Promise<string[]> {
  const subscriptions = await listAll(clients, "/subscriptions", "2022-12-01");
  return subscriptions
    .filter((subscription) => String(subscription["state"] ?? "Enabled").toLowerCase() !== "disabled")
    .map((subscription) => text(subscription["subscriptionId"]))
    .filter((id): id is string => id !== undefined);
}
