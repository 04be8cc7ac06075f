import type { AdvancedFilter, EventDestination, EventSubscriptionState, SubscriptionEventDelivery, SystemTopicState } from "../../model.js";
import { onAppHost } from "../../model.js";

/**
 * Whether Event Grid delivers a subscription's changes to the app (docs/rules/event-coverage-missing.md), judged
 * from what ARM says of its system topics and their event subscriptions. Pure, so the rule, the metrics reader
 * and the infra test share one judgement.
 */

/** The event types of a subscription system topic the app handles (Learn "Azure Resource Manager as an Event Grid source"). */
export const REQUIRED_EVENT_TYPES = ["Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Resources.ResourceDeleteSuccess", "Microsoft.Resources.ResourceActionSuccess"] as const;
/** The Event Grid trigger of the app (functions/onResourceEvent.ts). */
export const EVENT_FUNCTION = "onResourceEvent";
/** The only advanced-filter key the app's own infra deploys (infra/app/eventgrid.bicep). */
export const OPERATION_KEY = "data.operationName";
const WEBHOOK_PATH = "/runtime/webhooks/eventgrid";
const SUBSCRIPTION_TOPIC_TYPE = "microsoft.resources.subscriptions";
const MAX_LISTED = 10;

export interface EventSubscriptionVerdict {
  id: string;
  /** Its destination is the app's onResourceEvent function. */
  toApp: boolean;
  /** Nothing but its operation filter stands between the subscription's changes and the app. */
  eligible: boolean;
  /** Why it does not deliver every watched operation (empty when it does). */
  reasons: string[];
  /** The watched operations its filters keep, lower-case. */
  keeps: Set<string>;
}

export interface DeliveryVerdict {
  /** Every watched operation reaches the app through some eligible event subscription. */
  delivers: boolean;
  /** Watched operations no eligible event subscription keeps (as the table spells them). */
  missing: string[];
  eventSubscriptions: EventSubscriptionVerdict[];
  /** Provisioned system topics with an event subscription whose destination is the app (their delivery metrics matter). */
  topicsToApp: string[];
}

export interface DeliveryContext {
  functionAppId: string;
  now: Date;
  /** The app's operation table (shared/events/operations.ts). */
  operations: readonly string[];
}

/** Learn "Understand event filtering for Event Grid subscriptions": string operators compare case-insensitively; each value of a multi-value operator is an OR, the Not operators an AND. */
function filterKeeps(filter: AdvancedFilter, operation: string): boolean {
  const op = operation.toLowerCase();
  const values = (filter.values ?? []).filter((value): value is string => typeof value === "string").map((value) => value.toLowerCase());
  switch (filter.operatorType.toLowerCase()) {
    case "stringin":
      return values.includes(op);
    case "stringnotin":
      return !values.includes(op);
    case "stringbeginswith":
      return values.some((value) => op.startsWith(value));
    case "stringnotbeginswith":
      return !values.some((value) => op.startsWith(value));
    case "stringendswith":
      return values.some((value) => op.endsWith(value));
    case "stringnotendswith":
      return !values.some((value) => op.endsWith(value));
    case "stringcontains":
      return values.some((value) => op.includes(value));
    case "stringnotcontains":
      return !values.some((value) => op.includes(value));
    case "isnotnull":
      return true;
    default:
      // IsNullOrUndefined, and Number*/Bool* operators, never match a string that is there.
      return false;
  }
}

function destinationReason(destination: EventDestination, functionAppId: string): string | undefined {
  const type = destination.endpointType.toLowerCase();
  const expected = `${functionAppId.replace(/\/+$/, "")}/functions/${EVENT_FUNCTION}`;
  if (type === "azurefunction") {
    if ((destination.resourceId ?? "").toLowerCase() === expected.toLowerCase()) return undefined;
    return `delivers to the function ${destination.resourceId ?? "(none)"}, not ${expected}`;
  }
  if (type === "webhook") {
    const base = destination.endpointBaseUrl ?? "";
    if (!onAppHost(base, functionAppId)) return `delivers to the WebHook ${base || "(no URL)"}, not the app's host`;
    let path = "";
    try {
      path = new URL(base).pathname.replace(/\/+$/, "").toLowerCase();
    } catch {
      return `delivers to a WebHook whose URL does not parse`;
    }
    if (path !== WEBHOOK_PATH) return `delivers to ${base}, not the app's Event Grid endpoint ${WEBHOOK_PATH}`;
    if (destination.functionName === undefined) return `delivers to the app's Event Grid endpoint, but the function it names cannot be checked (${destination.fullUrlProblem ?? "full URL not read"}): use an AzureFunction destination`;
    if (destination.functionName.toLowerCase() !== EVENT_FUNCTION.toLowerCase()) return `delivers to the app's Event Grid endpoint for the function "${destination.functionName}", not ${EVENT_FUNCTION}`;
    return undefined;
  }
  return `delivers to a ${destination.endpointType || "destination of no type"}, not the app`;
}

function judgeEventSubscription(topic: SystemTopicState, subscription: EventSubscriptionState, context: DeliveryContext): EventSubscriptionVerdict {
  const reasons: string[] = [];
  const destinationProblem = destinationReason(subscription.destination, context.functionAppId);
  if (destinationProblem) reasons.push(destinationProblem);
  if (topic.provisioningState.toLowerCase() !== "succeeded") reasons.push(`its system topic's provisioningState is ${topic.provisioningState || "unknown"}`);
  if (subscription.provisioningState.toLowerCase() !== "succeeded") reasons.push(`provisioningState is ${subscription.provisioningState || "unknown"}`);
  if (subscription.expirationTimeUtc !== undefined) {
    const expires = Date.parse(subscription.expirationTimeUtc);
    if (Number.isNaN(expires) || expires <= context.now.getTime()) reasons.push(`expired at ${subscription.expirationTimeUtc}`);
  }
  if (subscription.includedEventTypes !== undefined) {
    const included = new Set(subscription.includedEventTypes.map((type) => type.toLowerCase()));
    // Learn (event filtering): "Provide an array with the event types, or specify All".
    const lacking = included.has("all") ? [] : REQUIRED_EVENT_TYPES.filter((type) => !included.has(type.toLowerCase()));
    if (lacking.length > 0) reasons.push(`includedEventTypes lacks ${lacking.join(", ")}`);
  }
  if (subscription.subjectBeginsWith) reasons.push(`subjectBeginsWith "${subscription.subjectBeginsWith}" keeps only part of the subscription's changes`);
  if (subscription.subjectEndsWith) reasons.push(`subjectEndsWith "${subscription.subjectEndsWith}" keeps only part of the subscription's changes`);
  let keeps = context.operations.map((operation) => operation.toLowerCase());
  for (const filter of subscription.advancedFilters) {
    if (filter.key.toLowerCase() !== OPERATION_KEY.toLowerCase()) {
      reasons.push(`an advanced filter on ${filter.key || "(no key)"} (${filter.operatorType}) is not one uami-guard's infra deploys`);
      continue;
    }
    keeps = keeps.filter((operation) => filterKeeps(filter, operation));
  }
  const eligible = reasons.length === 0;
  const dropped = context.operations.length - keeps.length;
  if (dropped > 0) {
    const kept = new Set(keeps);
    const example = context.operations.filter((operation) => !kept.has(operation.toLowerCase())).slice(0, 3);
    reasons.push(`its ${OPERATION_KEY} filter drops ${dropped} of ${context.operations.length} watched operations (${example.join(", ")}${dropped > example.length ? ", …" : ""})`);
  }
  return { id: subscription.id, toApp: destinationProblem === undefined, eligible, reasons, keeps: new Set(keeps) };
}

/**
 * A subscription's changes reach the app when the event subscriptions that are otherwise sound (provisioned,
 * unexpired, the three event types, no subject filter, no filter key of their own, the app's onResourceEvent) keep
 * every watched operation between them: infra splits the operations over several event subscriptions, as Event Grid
 * takes at most 25 filter values in one.
 */
export function judgeDelivery(delivery: SubscriptionEventDelivery, context: DeliveryContext): DeliveryVerdict {
  const eventSubscriptions: EventSubscriptionVerdict[] = [];
  const topicsToApp: string[] = [];
  for (const topic of delivery.systemTopics) {
    if (topic.topicType.toLowerCase() !== SUBSCRIPTION_TOPIC_TYPE) continue;
    const verdicts = topic.eventSubscriptions.map((subscription) => judgeEventSubscription(topic, subscription, context));
    eventSubscriptions.push(...verdicts);
    if (topic.provisioningState.toLowerCase() === "succeeded" && verdicts.some((verdict) => verdict.toApp)) topicsToApp.push(topic.id);
  }
  const kept = new Set(eventSubscriptions.filter((verdict) => verdict.eligible).flatMap((verdict) => [...verdict.keeps]));
  const missing = context.operations.filter((operation) => !kept.has(operation.toLowerCase()));
  return { delivers: missing.length === 0, missing, eventSubscriptions, topicsToApp };
}

/** A short why for a message: the first reasons, each with its event subscription's name. */
export function summarizeReasons(verdict: DeliveryVerdict): string {
  const parts = verdict.eventSubscriptions.filter((entry) => entry.reasons.length > 0).map((entry) => `${entry.id.split("/").pop() ?? entry.id}: ${entry.reasons.join("; ")}`);
  if (parts.length === 0) return "";
  return parts.slice(0, MAX_LISTED).join(" | ") + (parts.length > MAX_LISTED ? ` | and ${parts.length - MAX_LISTED} more` : "");
}
