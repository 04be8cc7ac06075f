import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/naming-convention.js";
import { identity, index, keys, policy, runRule } from "../../helpers/sweep.js";

const PATTERN = "^id-[a-z0-9]+-(dev|test|stage|prod)-[a-z0-9]+-\\d{2}$";

describe("naming-convention", () => {
  it.each([
    ["id-app-prod-uks-01", PATTERN, false],
    ["id-app-live-uks-01", PATTERN, true],
    ["uami-legacy", PATTERN, true],
    ["id-app-prod-uks-1", PATTERN, true],
    ["anything", null, false],
  ])("%s with %s", (name, pattern, expected) => {
    const subject = identity(name);
    const drafts = runRule(rule, index({ identities: [subject] }), policy(pattern ? { naming: { pattern } } : {}));
    expect(keys(drafts)).toEqual(expected ? [["naming-convention", subject.id, undefined, "low"]] : []);
  });
});
