import type { AzureClients } from "./clients.js";
import type { EventDestination, SubscriptionEventDelivery } from "../model.js";
import { toServiceCallFailed } from "../errors.js";

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

export function toEventDestination(eventSubscription: Record<string, unknown>): EventDestination | undefined {
  const id = text(eventSubscription["id"]);
  const destination = ((eventSubscription["properties"] ?? {}) as { destination?: { endpointType?: unknown; properties?: Record<string, unknown> } }).destination;
  if (!id || !destination) return undefined;
  const resourceId = text(destination.properties?.["resourceId"]);
  const endpointBaseUrl = text(destination.properties?.["endpointBaseUrl"]);
  return { eventSubscriptionId: id, endpointType: text(destination.endpointType) ?? "", ...(resourceId ? { resourceId } : {}), ...(endpointBaseUrl ? { endpointBaseUrl } : {}) };
}

/** The subscription's own system topics (topicType Microsoft.Resources.Subscriptions) and where their event subscriptions deliver. */
export async function readEventDelivery(clients: AzureClients, subscriptionId: string): Promise<SubscriptionEventDelivery> {
  const topics = await listAll(clients, `/subscriptions/${subscriptionId}/providers/Microsoft.EventGrid/systemTopics`);
  const systemTopicIds = topics
    .filter((topic) => String(((topic["properties"] ?? {}) as { topicType?: unknown }).topicType ?? "").toLowerCase() === SUBSCRIPTION_TOPIC_TYPE)
    .map((topic) => text(topic["id"]))
    .filter((id): id is string => id !== undefined);
  const destinations: EventDestination[] = [];
  for (const topicId of systemTopicIds) {
    for (const eventSubscription of await listAll(clients, `${topicId}/eventSubscriptions`)) {
      const destination = toEventDestination(eventSubscription);
      if (destination) destinations.push(destination);
    }
  }
  return { subscriptionId, systemTopicIds, destinations };
}

/** ARM's subscription list (Subscriptions - List, api-version 2022-12-01): every subscription the identity can see, enabled or not. */
export async function listSubscriptionIds(clients: AzureClients): Promise<string[]> {
  const subscriptions = await listAll(clients, "/subscriptions", "2022-12-01");
  return subscriptions
    .filter((subscription) => String(subscription["state"] ?? "Enabled").toLowerCase() !== "disabled")
    .map((subscription) => text(subscription["subscriptionId"]))
    .filter((id): id is string => id !== undefined);
}
