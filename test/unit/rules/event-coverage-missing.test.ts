import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/event-coverage-missing.js";
import { judgeDelivery } from "../../../shared/rules/lib/eventDelivery.js";
import { OPERATIONS } from "../../../shared/events/operations.js";
import type { EventDestination, EventSubscriptionState, SubscriptionEventDelivery } from "../../../shared/model.js";
import { index, keys, NOW, policy, runRule } from "../../helpers/sweep.js";

const SUB = "11111111-1111-1111-1111-111111111111";
const OTHER = "22222222-2222-2222-2222-222222222222";
const APP = `/subscriptions/${OTHER}/resourceGroups/rg-guard/providers/Microsoft.Web/sites/func-uamiguard`;
const TOPIC = `/subscriptions/${SUB}/resourceGroups/rg-events/providers/Microsoft.EventGrid/systemTopics/evgt-guard`;
const SELF = { self: { functionAppId: APP } };
const WATCHED = Object.keys(OPERATIONS);
const TYPES = ["Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Resources.ResourceDeleteSuccess", "Microsoft.Resources.ResourceActionSuccess"];

const fn = (resourceId: string): EventDestination => ({ eventSubscriptionId: "", endpointType: "AzureFunction", resourceId });
const hook = (endpointBaseUrl: string, functionName?: string, fullUrlProblem?: string): EventDestination => ({
  eventSubscriptionId: "",
  endpointType: "WebHook",
  endpointBaseUrl,
  ...(functionName !== undefined ? { functionName } : {}),
  ...(fullUrlProblem ? { fullUrlProblem } : {}),
});
const TO_APP = fn(`${APP}/functions/onResourceEvent`);

/** An event subscription as infra deploys it, with what a case changes. */
function eventSubscription(name: string, overrides: Partial<EventSubscriptionState> = {}): EventSubscriptionState {
  const id = `${TOPIC}/eventSubscriptions/${name}`;
  const destination = { ...(overrides.destination ?? TO_APP), eventSubscriptionId: id };
  return { id, provisioningState: "Succeeded", includedEventTypes: TYPES, advancedFilters: [], ...overrides, destination };
}

const operationFilter = (values: string[], operatorType = "StringIn") => ({ operatorType, key: "data.operationName", values });

function delivery(subscriptions: EventSubscriptionState[], topic: Partial<{ provisioningState: string; topicType: string }> = {}, subscriptionId = SUB): SubscriptionEventDelivery {
  return { subscriptionId, systemTopics: [{ id: TOPIC, topicType: "Microsoft.Resources.Subscriptions", provisioningState: "Succeeded", ...topic, eventSubscriptions: subscriptions }] };
}

function run(deliveries: Record<string, SubscriptionEventDelivery> | undefined, rulePolicy = policy(SELF), subscriptions = [SUB]) {
  const sweepIndex = index({ subscriptionsInScope: subscriptions });
  if (deliveries) sweepIndex.inventory.eventDelivery = new Map(Object.entries(deliveries));
  return runRule(rule, sweepIndex, rulePolicy);
}

const FINDING = [["event-coverage-missing", `/subscriptions/${SUB}`, undefined, "high"]];

describe("event-coverage-missing", () => {
  it.each([
    ["the app's onResourceEvent function, no filters", [eventSubscription("uami-guard")], undefined],
    ["no includedEventTypes at all", [eventSubscription("uami-guard", { includedEventTypes: undefined })], undefined],
    ["every event type of the topic, as ARM answers when none were asked for", [eventSubscription("uami-guard", { includedEventTypes: [...TYPES, "Microsoft.Resources.ResourceWriteFailure"] })], undefined],
    ["the app's function, spelled in another case", [eventSubscription("uami-guard", { destination: fn(`${APP.toUpperCase()}/FUNCTIONS/onresourceevent`) })], undefined],
    ["a WebHook to the app's Event Grid endpoint for onResourceEvent", [eventSubscription("hook", { destination: hook("https://func-uamiguard.azurewebsites.net/runtime/webhooks/EventGrid", "onResourceEvent") })], undefined],
    ["a WebHook to the app's unique default hostname", [eventSubscription("hook", { destination: hook("https://func-uamiguard-ds27dh7271aah175.westus-01.azurewebsites.net/runtime/webhooks/eventgrid", "onResourceEvent") })], undefined],
    [
      "the operations split over two event subscriptions (25 filter values each), as infra deploys them",
      [eventSubscription("uami-guard", { advancedFilters: [operationFilter(WATCHED.slice(0, 25))] }), eventSubscription("uami-guard-2", { advancedFilters: [operationFilter(WATCHED.slice(25))] })],
      undefined,
    ],
    ["a StringIn filter in another case", [eventSubscription("uami-guard", { advancedFilters: [operationFilter(WATCHED.map((operation) => operation.toUpperCase()))] })], undefined],
    ["a filter that keeps every operation by prefix", [eventSubscription("uami-guard", { advancedFilters: [operationFilter(["Microsoft."], "StringBeginsWith")] })], undefined],
    ["a subject-filtered subscription beside an unfiltered one", [eventSubscription("uami-guard"), eventSubscription("uami-guard-self", { subjectBeginsWith: "/subscriptions/x/resourceGroups/rg-guard" })], undefined],
    ["no event subscription at all", [], /has a system topic but no event subscription/],
    ["expired", [eventSubscription("uami-guard", { expirationTimeUtc: "2026-11-01T00:00:00Z" })], /expired at 2026-11-01T00:00:00Z/],
    ["failed", [eventSubscription("uami-guard", { provisioningState: "Failed" })], /provisioningState is Failed/],
    ["awaiting manual action", [eventSubscription("uami-guard", { provisioningState: "AwaitingManualAction" })], /provisioningState is AwaitingManualAction/],
    ["filtered to ResourceActionSuccess only", [eventSubscription("uami-guard", { includedEventTypes: ["Microsoft.Resources.ResourceActionSuccess"] })], /includedEventTypes lacks Microsoft\.Resources\.ResourceWriteSuccess, Microsoft\.Resources\.ResourceDeleteSuccess/],
    ["a subject prefix that never occurs", [eventSubscription("uami-guard", { subjectBeginsWith: "/nowhere" })], /subjectBeginsWith "\/nowhere" keeps only part/],
    ["a subject suffix", [eventSubscription("uami-guard", { subjectEndsWith: ".txt" })], /subjectEndsWith "\.txt"/],
    ["an advanced filter that matches no operation", [eventSubscription("uami-guard", { advancedFilters: [operationFilter(["Microsoft.Foo/bar/write"])] })], new RegExp(`filter drops ${WATCHED.length} of ${WATCHED.length} watched operations`)],
    ["a StringIn filter missing one watched operation", [eventSubscription("uami-guard", { advancedFilters: [operationFilter(WATCHED.slice(1))] })], new RegExp(`drops 1 of ${WATCHED.length} watched operations \\(${WATCHED[0]!.replace(/[/.]/g, "\\$&")}\\)`)],
    ["a StringNotIn filter excluding a watched operation", [eventSubscription("uami-guard", { advancedFilters: [operationFilter(["Microsoft.Authorization/roleAssignments/write"], "StringNotIn")] })], /drops 1 of/],
    ["a filter on another key", [eventSubscription("uami-guard", { advancedFilters: [{ operatorType: "StringIn", key: "data.status", values: ["Succeeded"] }] })], /advanced filter on data\.status \(StringIn\) is not one uami-guard's infra deploys/],
    ["a function that does not exist", [eventSubscription("uami-guard", { destination: fn(`${APP}/functions/doesNotExist`) })], /delivers to the function .*doesNotExist, not .*onResourceEvent/],
    ["another app", [eventSubscription("uami-guard", { destination: fn(`/subscriptions/${OTHER}/resourceGroups/rg/providers/Microsoft.Web/sites/other-app/functions/onResourceEvent`) })], /not .*func-uamiguard\/functions\/onResourceEvent/],
    ["an app whose name only starts like ours", [eventSubscription("uami-guard", { destination: fn(`${APP}-old/functions/onResourceEvent`) })], /delivers to the function/],
    ["a …/api/blackhole WebHook on the app's host", [eventSubscription("hook", { destination: hook("https://func-uamiguard.azurewebsites.net/api/blackhole") })], /not the app's Event Grid endpoint/],
    ["a WebHook for another function of the app", [eventSubscription("hook", { destination: hook("https://func-uamiguard.azurewebsites.net/runtime/webhooks/eventgrid", "blackhole") })], /for the function "blackhole", not onResourceEvent/],
    ["a WebHook whose full URL cannot be read", [eventSubscription("hook", { destination: hook("https://func-uamiguard.azurewebsites.net/runtime/webhooks/eventgrid", undefined, "getFullUrl answered 403") })], /cannot be checked \(getFullUrl answered 403\)/],
    ["a WebHook to another app's host", [eventSubscription("hook", { destination: hook("https://func-uamiguard2.azurewebsites.net/runtime/webhooks/eventgrid", "onResourceEvent") })], /not the app's host/],
    ["a StorageQueue destination", [eventSubscription("queue", { destination: { eventSubscriptionId: "", endpointType: "StorageQueue", resourceId: APP } })], /delivers to a StorageQueue, not the app/],
    ["one half of the split deleted", [eventSubscription("uami-guard", { advancedFilters: [operationFilter(WATCHED.slice(0, 25))] })], new RegExp(`drops ${WATCHED.length - 25} of`)],
  ] as const)("%s", (_name, subscriptions, expected) => {
    const drafts = run({ [SUB]: delivery([...subscriptions]) });
    if (expected === undefined) {
      expect(drafts).toEqual([]);
      return;
    }
    expect(keys(drafts)).toEqual(FINDING);
    expect(drafts[0]?.message).toMatch(expected);
    if (subscriptions.length > 0) expect(drafts[0]?.message).toContain(`${subscriptions[0]!.id.split("/").pop()}: `);
    const listed = drafts[0]?.evidence["eventSubscriptions"] as Array<{ id: string; delivers: boolean; reasons: string[] }>;
    expect(listed.map((entry) => entry.id)).toEqual(subscriptions.map((subscription) => subscription.id));
    for (const entry of listed) expect(entry.reasons.join("; ")).toMatch(expected);
  });

  it("names what the topic lacks: a failed system topic", () => {
    const drafts = run({ [SUB]: delivery([eventSubscription("uami-guard")], { provisioningState: "Failed" }) });
    expect(keys(drafts)).toEqual(FINDING);
    expect(drafts[0]?.message).toMatch(/system topic's provisioningState is Failed/);
    expect(drafts[0]?.evidence["systemTopics"]).toEqual([{ id: TOPIC, provisioningState: "Failed" }]);
  });

  it("lists the operations no event subscription delivers", () => {
    const drafts = run({ [SUB]: delivery([eventSubscription("uami-guard", { advancedFilters: [operationFilter(WATCHED.slice(2))] })]) });
    expect(drafts[0]?.evidence).toMatchObject({ missingOperations: WATCHED.slice(0, 2), missingOperationCount: 2, watchedOperationCount: WATCHED.length, expectedDestination: `${APP}/functions/onResourceEvent` });
  });

  it("reports a subscription without any subscription system topic, one finding per subscription", () => {
    const none: SubscriptionEventDelivery = { subscriptionId: SUB, systemTopics: [] };
    const drafts = run({ [SUB]: none, [OTHER]: delivery([eventSubscription("uami-guard")], {}, OTHER) }, policy(SELF), [SUB, OTHER]);
    expect(keys(drafts)).toEqual(FINDING);
    expect(drafts[0]?.message).toMatch(/has no Microsoft\.Resources\.Subscriptions system topic/);
    expect(drafts[0]?.evidence["systemTopics"]).toEqual([]);
  });

  it("is off without self.functionAppId", () => {
    expect(run({ [SUB]: delivery([]) }, policy())).toEqual([]);
  });

  it("reports nothing for a subscription whose event subscriptions could not be read", () => {
    expect(run({})).toEqual([]);
    expect(run(undefined)).toEqual([]);
  });

  it("a subscription expiring later still delivers", () => {
    expect(judgeDelivery(delivery([eventSubscription("uami-guard", { expirationTimeUtc: "2027-01-01T00:00:00Z" })]), { functionAppId: APP, now: NOW, operations: WATCHED }).delivers).toBe(true);
  });

  it("names the provisioned topics with a subscription to the app (whose delivery metrics matter)", () => {
    const verdict = judgeDelivery(delivery([eventSubscription("uami-guard", { includedEventTypes: ["Microsoft.Resources.ResourceActionSuccess"] })]), { functionAppId: APP, now: NOW, operations: WATCHED });
    expect(verdict.delivers).toBe(false);
    expect(verdict.topicsToApp).toEqual([TOPIC]);
    expect(judgeDelivery(delivery([eventSubscription("q", { destination: fn("/elsewhere") })]), { functionAppId: APP, now: NOW, operations: WATCHED }).topicsToApp).toEqual([]);
  });
});
