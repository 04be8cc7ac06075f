import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/untagged-identity.js";
import { identity, index, keys, policy, runRule } from "../../helpers/sweep.js";

describe("untagged-identity", () => {
  it.each([
    ["both tags", { owner: "a", environment: "prod" }, undefined, null],
    ["keys in another case", { Owner: "a", ENVIRONMENT: "prod" }, undefined, null],
    ["no tags", {}, undefined, ["owner", "environment"]],
    ["blank owner", { owner: "  ", environment: "prod" }, undefined, ["owner"]],
    ["empty environment", { owner: "a", environment: "" }, undefined, ["environment"]],
    ["custom requiredTags", { owner: "a", environment: "prod" }, ["owner", "costCenter"], ["costCenter"]],
  ])("%s", (_name, tags, requiredTags, missing) => {
    const subject = identity("id-a", { tags: tags as Record<string, string> });
    const drafts = runRule(rule, index({ identities: [subject] }), policy(requiredTags ? { requiredTags } : {}));
    expect(keys(drafts)).toEqual(missing ? [["untagged-identity", subject.id, undefined, "medium"]] : []);
    if (missing) expect(drafts[0]?.evidence["missingTags"]).toEqual(missing);
  });
});
