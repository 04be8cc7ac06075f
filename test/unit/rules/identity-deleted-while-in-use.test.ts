import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/identity-deleted-while-in-use.js";
import { APPROVED, facts, resourceEvent } from "../../helpers/events.js";
import { keys, policy, RG } from "../../helpers/sweep.js";

const IDENTITY = `${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-a`;

describe("identity-deleted-while-in-use", () => {
  it.each([
    ["still attached", ["/vm1"], [], true],
    ["still holds role assignments", [], ["/ra1"], true],
    ["both", ["/vm1"], ["/ra1"], true],
    ["not in use", [], [], false],
  ])("%s (any caller, even approved)", (_name, resources, roleAssignments, expected) => {
    const event = resourceEvent("Microsoft.ManagedIdentity/userAssignedIdentities/delete", IDENTITY);
    const drafts = rule.evaluate(facts("identity-delete", event, APPROVED, { usage: { resources, roleAssignments } }), policy());
    expect(keys(drafts)).toEqual(expected ? [["identity-deleted-while-in-use", IDENTITY, undefined, "high"]] : []);
    if (expected) expect(drafts[0]?.evidence).toMatchObject({ resources, roleAssignments });
  });
});
