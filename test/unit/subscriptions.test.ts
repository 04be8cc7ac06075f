import { describe, expect, it } from "vitest";
import { chooseSubscriptions, resolveSubscriptions } from "../../cli/subscriptions.js";
import { InputError } from "../../shared/errors.js";

const READABLE = [
  { subscriptionId: "11111111-1111-4111-8111-111111111111", displayName: "Payments Prod" },
  { subscriptionId: "22222222-2222-4222-8222-222222222222", displayName: "Payments Dev" },
  { subscriptionId: "33333333-3333-4333-8333-333333333333", displayName: "Platform" },
];

describe("subscriptions", () => {
  it("resolves ids (any case) and display names (case-insensitive) to ids", () => {
    expect(resolveSubscriptions(["payments prod", "33333333-3333-4333-8333-333333333333".toUpperCase()], READABLE, "--subscription")).toEqual([
      "11111111-1111-4111-8111-111111111111",
      "33333333-3333-4333-8333-333333333333",
    ]);
  });

  it.each([
    ["Payments Prd", /--subscription Payments Prd: not a subscription this credential can read; did you mean Payments Prod \(11111111/],
    ["zzzz", /readable: Payments Prod .*Platform/],
  ])("refuses %s, listing close matches or what is readable", (wanted, message) => {
    expect(() => resolveSubscriptions([wanted], READABLE, "--subscription")).toThrow(InputError);
    expect(() => resolveSubscriptions([wanted], READABLE, "--subscription")).toThrow(message);
  });

  it("refuses a display name two subscriptions share", () => {
    const twins = [...READABLE, { subscriptionId: "44444444-4444-4444-8444-444444444444", displayName: "Platform" }];
    expect(() => resolveSubscriptions(["platform"], twins, "--subscription")).toThrow(/2 subscriptions have this name; give the id/);
  });

  it("the flag wins over the setting, and the setting is checked too", () => {
    expect(chooseSubscriptions(["Platform"], ["22222222-2222-4222-8222-222222222222"], READABLE, "azure").subscriptions).toEqual(["33333333-3333-4333-8333-333333333333"]);
    expect(() => chooseSubscriptions(undefined, ["55555555-5555-4555-8555-555555555555"], READABLE, "azure")).toThrow(/app setting UAMI_GUARD_SUBSCRIPTIONS 55555555/);
  });

  it("with neither, real Azure uses every readable subscription and says so", () => {
    const choice = chooseSubscriptions(undefined, [], READABLE, "azure");
    expect(choice.subscriptions).toEqual([]);
    expect(choice.note).toMatch(/using every subscription this credential can read \(3: Payments Prod, Payments Dev, Platform\)/);
    expect(chooseSubscriptions(undefined, [], READABLE, "emulator").note).toBeUndefined();
  });
});
