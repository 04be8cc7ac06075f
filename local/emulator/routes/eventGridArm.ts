import type { EstateStore } from "../store.js";
import type { EstateResource } from "../estate.js";
import { armError, json, type EmulatorRequest, type EmulatorResponse } from "../http.js";

/**
 * Event Grid's ARM surface over the estate's resources: system topics listed per subscription and
 * event subscriptions listed per system topic, with destinations as ARM answers a GET
 * (azure-rest-api-specs specification/eventgrid/resource-manager/Microsoft.EventGrid/stable/2022-06-15/examples/
 * SystemTopics_ListBySubscription.json, SystemTopicEventSubscriptions_Get.json @fe5111a3,
 * EventSubscriptions_GetForCustomTopic_WebhookDestination.json @3873f33d): a WebHook destination's
 * `endpointUrl` (it may hold a key) is never returned, only `endpointBaseUrl`.
 */
const SYSTEM_TOPIC = "microsoft.eventgrid/systemtopics";
const EVENT_SUBSCRIPTION = "microsoft.eventgrid/systemtopics/eventsubscriptions";
const LIST_TOPICS = /^\/subscriptions\/[^/]+\/providers\/microsoft\.eventgrid\/systemtopics$/;
const LIST_EVENT_SUBSCRIPTIONS = /^(\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.eventgrid\/systemtopics\/[^/]+)\/eventsubscriptions$/;
const ONE_EVENT_SUBSCRIPTION = /^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.eventgrid\/systemtopics\/[^/]+\/eventsubscriptions\/[^/]+$/;
const FULL_URL = /^(\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.eventgrid\/systemtopics\/[^/]+\/eventsubscriptions\/[^/]+)\/getfullurl$/;
/**
 * What ARM answers for an event subscription created without `includedEventTypes`: every event type of the topic
 * (azure-cli eventgrid/tests/latest/recordings/test_create_event_subscriptions_to_arm_resource_group.yaml @2e497659,
 * a Resources source: Write, Delete and Action, each Success, Failure and Cancel).
 */
const RESOURCE_EVENT_TYPES = ["Write", "Delete", "Action"].flatMap((verb) => ["Success", "Failure", "Cancel"].map((outcome) => `Microsoft.Resources.Resource${verb}${outcome}`));

/** An answer for the Event Grid paths this route owns; undefined for any other path. */
export function handleEventGridArm(store: EstateStore, request: EmulatorRequest): EmulatorResponse | undefined {
  const { path } = request;
  if (LIST_TOPICS.test(path)) {
    if (request.method !== "GET") return undefined;
    const prefix = path.slice(0, path.indexOf("/providers/"));
    const topics = [...store.resources.values()].filter((resource) => resource.type.toLowerCase() === SYSTEM_TOPIC && resource.id.toLowerCase().startsWith(`${prefix}/`));
    return json(200, { value: topics.map(shapeTopic) });
  }
  const list = LIST_EVENT_SUBSCRIPTIONS.exec(path);
  if (list) {
    if (request.method !== "GET") return undefined;
    const topicKey = list[1] ?? "";
    if (store.resources.get(topicKey)?.type.toLowerCase() !== SYSTEM_TOPIC) {
      return armError(404, "ResourceNotFound", `The Resource 'Microsoft.EventGrid/systemTopics/${topicKey.split("/").pop() ?? ""}' under resource group was not found.`);
    }
    const subscriptions = [...store.resources.values()].filter((resource) => resource.type.toLowerCase() === EVENT_SUBSCRIPTION && resource.id.toLowerCase().startsWith(`${topicKey}/eventsubscriptions/`));
    return json(200, { value: subscriptions.map((resource) => shapeEventSubscription(resource, topicKey)) });
  }
  const fullUrl = FULL_URL.exec(path);
  if (fullUrl) {
    if (request.method !== "POST") return undefined;
    const found = store.resources.get(fullUrl[1] ?? "");
    if (!found || found.type.toLowerCase() !== EVENT_SUBSCRIPTION) return armError(404, "ResourceNotFound", `The Resource '${request.url.pathname}' was not found.`);
    return fullUrlOf(found);
  }
  if (ONE_EVENT_SUBSCRIPTION.test(path) && request.method === "GET") {
    const found = store.resources.get(path);
    if (!found) return armError(404, "ResourceNotFound", `The Resource '${request.url.pathname}' was not found.`);
    return json(200, shapeEventSubscription(found, path.slice(0, path.lastIndexOf("/eventsubscriptions/"))));
  }
  return undefined;
}

function shapeTopic(resource: EstateResource): Record<string, unknown> {
  return { ...resource, properties: { provisioningState: "Succeeded", ...(resource.properties ?? {}) }, location: resource.location ?? "global", tags: resource.tags ?? null };
}

type Destination = { endpointType?: unknown; properties?: Record<string, unknown> };

function shapeEventSubscription(resource: EstateResource, topicKey: string): Record<string, unknown> {
  const properties = { ...(resource.properties ?? {}) } as Record<string, unknown>;
  const destination = properties["destination"] as Destination | undefined;
  if (destination && String(destination.endpointType ?? "").toLowerCase() === "webhook") {
    const { endpointUrl, ...rest } = destination.properties ?? {};
    const base = typeof rest["endpointBaseUrl"] === "string" ? rest["endpointBaseUrl"] : typeof endpointUrl === "string" ? baseUrlOf(endpointUrl) : undefined;
    // The recording above: `"endpointUrl": null`, the base URL beside it.
    properties["destination"] = { ...destination, properties: { ...rest, endpointUrl: null, ...(base ? { endpointBaseUrl: base } : {}) } };
  }
  const filter = (properties["filter"] ?? {}) as Record<string, unknown>;
  properties["filter"] = { ...filter, includedEventTypes: Array.isArray(filter["includedEventTypes"]) ? filter["includedEventTypes"] : RESOURCE_EVENT_TYPES };
  const topic = topicIdOf(resource, topicKey);
  return { ...resource, properties: { topic, provisioningState: "Succeeded", ...properties } };
}

/**
 * `POST …/getFullUrl` (EventSubscriptions_GetFullUrlForSubscription.json @d293271e: `{"endpointUrl": …}`): the
 * WebHook's URL with its query, as created. Other destinations have no URL to give.
 */
function fullUrlOf(resource: EstateResource): EmulatorResponse {
  const destination = (resource.properties ?? {})["destination"] as Destination | undefined;
  const url = destination?.properties?.["endpointUrl"] ?? destination?.properties?.["endpointBaseUrl"];
  if (String(destination?.endpointType ?? "").toLowerCase() !== "webhook" || typeof url !== "string") {
    return armError(400, "InvalidRequest", "The full URL is available for WebHook destinations only.");
  }
  return json(200, { endpointUrl: url });
}

/** The topic's id in the event subscription's own spelling. */
function topicIdOf(resource: EstateResource, topicKey: string): string {
  return resource.id.slice(0, topicKey.length);
}

/** ARM's endpointBaseUrl: the URL without its query (which is where a key would be). */
function baseUrlOf(endpointUrl: string): string | undefined {
  try {
    const url = new URL(endpointUrl);
    return `${url.origin}${url.pathname}`;
  } catch {
    return undefined;
  }
}
