import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/shared-identity-sprawl.js";
import { identity, index, keys, policy, resource, runRule } from "../../helpers/sweep.js";

describe("shared-identity-sprawl", () => {
  const subject = identity("id-shared");
  const spread = (groups: number) =>
    Array.from({ length: groups }, (_, n) => resource(`vm${n}`, [subject.id], { resourceGroup: `rg-${n}` }));

  it.each([
    [3, undefined, false],
    [4, undefined, true],
    [4, 4, false],
    [2, 1, true],
  ])("%i resource groups, limit %s", (groups, limit, expected) => {
    const drafts = runRule(rule, index({ identities: [subject], attachments: spread(groups) }), policy(limit ? { sprawl: { maxResourceGroups: limit } } : {}));
    expect(keys(drafts)).toEqual(expected ? [["shared-identity-sprawl", subject.id, undefined, "medium"]] : []);
  });

  it("counts a resource group once however many resources it has, case-insensitively", () => {
    const attachments = [resource("a", [subject.id], { resourceGroup: "rg-x" }), resource("b", [subject.id], { resourceGroup: "RG-X" }), ...spread(3)];
    expect(runRule(rule, index({ identities: [subject], attachments }), policy())).toHaveLength(1);
    expect(runRule(rule, index({ identities: [subject], attachments: attachments.slice(0, 4) }), policy())).toEqual([]);
  });
});
