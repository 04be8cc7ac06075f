import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/cross-environment-attachment.js";
import { identity, index, keys, policy, resource, runRule } from "../../helpers/sweep.js";

describe("cross-environment-attachment", () => {
  it.each([
    ["prod identity on dev resource", { environment: "prod" }, { environment: "dev" }, true],
    ["same environment in another case", { environment: "prod" }, { Environment: "PROD" }, false],
    ["resource untagged", { environment: "prod" }, {}, false],
    ["identity untagged", {}, { environment: "dev" }, false],
    ["blank resource tag counts as untagged", { environment: "prod" }, { environment: " " }, false],
  ])("%s", (_name, identityTags, resourceTags, expected) => {
    const subject = identity("id-a", { tags: identityTags as Record<string, string> });
    const vm = resource("vm1", [subject.id], { tags: resourceTags as Record<string, string> });
    const drafts = runRule(rule, index({ identities: [subject], attachments: [vm] }), policy());
    expect(keys(drafts)).toEqual(expected ? [["cross-environment-attachment", subject.id, vm.id, "high"]] : []);
  });
});
