import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/identity-name-invalid.js";
import { identity, index, keys, policy, runRule } from "../../helpers/sweep.js";

describe("identity-name-invalid", () => {
  it.each([
    ["id-app-prod-uks-01", false],
    ["a".repeat(24), false],
    ["a".repeat(25), true],
    ["_leading-underscore", true],
    ["-leading-dash", true],
    ["has.dot", true],
    ["has space", true],
    ["Upper_and-lower9", false],
  ])("%s → %s", (name, invalid) => {
    const subject = identity(name);
    const drafts = runRule(rule, index({ identities: [subject] }), policy());
    expect(keys(drafts)).toEqual(invalid ? [["identity-name-invalid", subject.id, undefined, "medium"]] : []);
  });

  it("says what is wrong in a sentence", () => {
    const subject = identity(`${"a".repeat(25)}.x`);
    const [draft] = runRule(rule, index({ identities: [subject] }), policy());
    expect(draft?.message).toBe(`The name of identity ${subject.name} is longer than 24 characters (27) and has characters other than letters, digits, '-' and '_', or does not start with a letter or digit.`);
  });
});
