import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/dangling-identity-reference.js";
import { identity, index, keys, policy, resource, runRule, S } from "../../helpers/sweep.js";

const present = identity("id-present");
const gone = `${S}/resourceGroups/rg-app/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-gone`;
const elsewhere = "/subscriptions/99999999-9999-9999-9999-999999999999/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-x";

describe("dangling-identity-reference", () => {
  it("reports one finding per (resource, missing identity), matching ids case-insensitively", () => {
    const vm = resource("vm1", [present.id.toUpperCase(), gone]);
    const app = resource("app1", [gone]);
    const drafts = runRule(rule, index({ identities: [present], attachments: [vm, app] }), policy());
    expect(keys(drafts)).toEqual([
      ["dangling-identity-reference", vm.id, gone, "medium"],
      ["dangling-identity-reference", app.id, gone, "medium"],
    ]);
  });

  it("does not call an identity missing in a subscription the sweep did not read", () => {
    const drafts = runRule(rule, index({ attachments: [resource("vm1", [elsewhere])] }), policy());
    expect(drafts).toEqual([]);
  });
});
