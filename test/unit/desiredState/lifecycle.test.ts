import { describe, expect, it } from "vitest";
import { applyRun, rulesWithUnknowns } from "../../../shared/engine/findingLifecycle.js";
import { CHECK_AFFECTS } from "../../../shared/rules/index.js";
import { findingOf as finding } from "../../helpers/drift.js";

describe("drift findings when a desired-state source cannot be read", () => {
  it("stay open and unconfirmed, never resolved", () => {
    const now = new Date("2026-12-07T12:00:00Z");
    const first = applyRun(new Map(), [finding("drift-not-in-code", "/subscriptions/s/x"), finding("drift-changed", "/subscriptions/s/y")], { now, unknownRules: new Set() });
    const unknownRules = rulesWithUnknowns([{ check: "desired-state", reason: "prod.json: not valid JSON", affected: 1 }], CHECK_AFFECTS);
    const second = applyRun(first.open, [], { now, unknownRules });
    expect(second.resolved).toEqual([]);
    expect([...second.open.values()].map((record) => [record.ruleId, record.status, record.consecutive])).toEqual([
      ["drift-not-in-code", "open", 0],
      ["drift-changed", "open", 0],
    ]);
  });
});
