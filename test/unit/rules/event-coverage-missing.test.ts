import { describe, expect, it } from "vitest";
import { deliversTo, rule } from "../../../shared/rules/event-coverage-missing.js";
import type { EventDestination, SubscriptionEventDelivery } from "../../../shared/model.js";
import { index, keys, policy, runRule } from "../../helpers/sweep.js";

const SUB = "11111111-1111-1111-1111-111111111111";
const OTHER = "22222222-2222-2222-2222-222222222222";
const APP = `/subscriptions/${OTHER}/resourceGroups/rg-guard/providers/Microsoft.Web/sites/func-uamiguard`;
const TOPIC = `/subscriptions/${SUB}/resourceGroups/rg-events/providers/Microsoft.EventGrid/systemTopics/evgt-guard`;
const SELF = { self: { functionAppId: APP } };

const fn = (resourceId: string): EventDestination => ({ eventSubscriptionId: `${TOPIC}/eventSubscriptions/x`, endpointType: "AzureFunction", resourceId });
const hook = (endpointBaseUrl: string): EventDestination => ({ eventSubscriptionId: `${TOPIC}/eventSubscriptions/x`, endpointType: "WebHook", endpointBaseUrl });

function run(delivery: Record<string, SubscriptionEventDelivery> | undefined, rulePolicy = policy(SELF), subscriptions = [SUB]) {
  const sweepIndex = index({ subscriptionsInScope: subscriptions });
  if (delivery) sweepIndex.inventory.eventDelivery = new Map(Object.entries(delivery));
  return runRule(rule, sweepIndex, rulePolicy);
}

const delivering = (destinations: EventDestination[], subscriptionId = SUB, systemTopicIds = [TOPIC]): SubscriptionEventDelivery => ({ subscriptionId, systemTopicIds, destinations });

describe("event-coverage-missing", () => {
  it.each([
    ["an AzureFunction destination on the app", [fn(`${APP}/functions/onResourceEvent`)], false],
    ["the app's function, spelled in another case", [fn(`${APP.toUpperCase()}/FUNCTIONS/onResourceEvent`)], false],
    ["a WebHook to the app's host", [hook("https://func-uamiguard.azurewebsites.net/runtime/webhooks/eventgrid")], false],
    ["a WebHook to the app's unique default hostname", [hook("https://func-uamiguard-ds27dh7271aah175.westus-01.azurewebsites.net/runtime/webhooks/eventgrid")], false],
    ["no event subscription at all", [], true],
    ["an event subscription delivering elsewhere", [fn(`/subscriptions/${OTHER}/resourceGroups/rg/providers/Microsoft.Web/sites/other-app/functions/f`)], true],
    ["a function of an app whose name only starts like ours", [fn(`${APP}-old/functions/onResourceEvent`)], true],
    ["a WebHook to another app's host", [hook("https://func-uamiguard2.azurewebsites.net/runtime/webhooks/eventgrid")], true],
    ["a StorageQueue destination", [{ eventSubscriptionId: "x", endpointType: "StorageQueue", resourceId: APP }], true],
  ] as const)("%s", (_name, destinations, expected) => {
    const drafts = run({ [SUB]: delivering([...destinations]) });
    expect(keys(drafts)).toEqual(expected ? [["event-coverage-missing", `/subscriptions/${SUB}`, undefined, "high"]] : []);
  });

  it("reports a subscription without any subscription system topic, one finding per subscription", () => {
    const drafts = run({ [SUB]: delivering([], SUB, []), [OTHER]: delivering([fn(`${APP}/functions/onResourceEvent`)], OTHER) }, policy(SELF), [SUB, OTHER]);
    expect(keys(drafts)).toEqual([["event-coverage-missing", `/subscriptions/${SUB}`, undefined, "high"]]);
    expect(drafts[0]?.evidence["systemTopics"]).toEqual([]);
  });

  it("is off without self.functionAppId", () => {
    expect(run({ [SUB]: delivering([]) }, policy())).toEqual([]);
  });

  it("reports nothing for a subscription whose event subscriptions could not be read", () => {
    expect(run({})).toEqual([]);
    expect(run(undefined)).toEqual([]);
  });

  it("never matches a WebHook whose URL does not parse", () => {
    expect(deliversTo(hook("not a url"), APP)).toBe(false);
  });
});
