import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/event-delivery-failing.js";
import type { DeliveryMetrics } from "../../../shared/model.js";
import { index, keys, policy, runRule } from "../../helpers/sweep.js";

const APP = "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-guard/providers/Microsoft.Web/sites/func-uamiguard";
const TOPIC = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-guard/providers/Microsoft.EventGrid/systemTopics/evgst-uamiguard";
const OTHER_TOPIC = "/subscriptions/33333333-3333-3333-3333-333333333333/resourceGroups/rg-guard/providers/Microsoft.EventGrid/systemTopics/evgst-uamiguard";
const SELF = { self: { functionAppId: APP } };

const read = (counts: Partial<Omit<DeliveryMetrics, "systemTopicId">>, systemTopicId = TOPIC): DeliveryMetrics => ({ systemTopicId, DroppedEventCount: 0, DeadLetteredCount: 0, DeliveryAttemptFailCount: 0, ...counts });

function run(metrics: DeliveryMetrics[] | undefined, rulePolicy = policy(SELF)) {
  const sweepIndex = index({});
  if (metrics) sweepIndex.inventory.deliveryMetrics = new Map(metrics.map((entry) => [entry.systemTopicId.toLowerCase(), entry]));
  return runRule(rule, sweepIndex, rulePolicy);
}

describe("event-delivery-failing", () => {
  it.each([
    ["no dropped, dead-lettered or failed deliveries", {}, undefined],
    ["dropped events", { DroppedEventCount: 3 }, /3 dropped/],
    ["dead-lettered events", { DeadLetteredCount: 1 }, /1 dead-lettered/],
    ["failed delivery attempts", { DeliveryAttemptFailCount: 12 }, /12 failed delivery attempts/],
    ["all three", { DroppedEventCount: 2, DeadLetteredCount: 4, DeliveryAttemptFailCount: 9 }, /2 dropped, 4 dead-lettered, 9 failed delivery attempts in the last 24 h/],
  ] as const)("%s", (_name, counts, expected) => {
    const drafts = run([read(counts)]);
    if (!expected) {
      expect(drafts).toEqual([]);
      return;
    }
    expect(keys(drafts)).toEqual([["event-delivery-failing", TOPIC, undefined, "high"]]);
    expect(drafts[0]?.message).toMatch(expected);
    expect(drafts[0]?.evidence).toEqual({ DroppedEventCount: 0, DeadLetteredCount: 0, DeliveryAttemptFailCount: 0, ...counts, lookbackHours: 24 });
  });

  it("one finding per failing topic, the healthy ones left out", () => {
    expect(keys(run([read({ DroppedEventCount: 1 }, OTHER_TOPIC), read({}), read({ DeadLetteredCount: 1 }, TOPIC.replace("11111111", "44444444"))])).map((key) => key[1])).toEqual([
      TOPIC.replace("11111111", "44444444"),
      OTHER_TOPIC,
    ].sort());
  });

  it("says the lookback of the policy", () => {
    expect(run([read({ DroppedEventCount: 1 })], policy({ ...SELF, coverage: { metricsLookbackHours: 6 } }))[0]?.evidence["lookbackHours"]).toBe(6);
  });

  it("is off without self.functionAppId, and silent when no metrics were read (an incomplete check)", () => {
    expect(run([read({ DroppedEventCount: 1 })], policy())).toEqual([]);
    expect(run(undefined)).toEqual([]);
  });
});
