import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/identity-change-outside-pipeline.js";
import { APPROVED, facts, NOT_APPROVED, resourceEvent } from "../../helpers/events.js";
import { keys, policy, RG } from "../../helpers/sweep.js";

const IDENTITY = `${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-a`;

describe("identity-change-outside-pipeline", () => {
  it.each([
    ["create/update by a user", "identity-write", false, true],
    ["delete by a user", "identity-delete", false, true],
    ["by an approved pipeline", "identity-write", true, false],
  ] as const)("%s", (_name, change, approved, expected) => {
    const event = resourceEvent(`Microsoft.ManagedIdentity/userAssignedIdentities/${change === "identity-delete" ? "delete" : "write"}`, IDENTITY);
    const drafts = rule.evaluate(facts(change, event, approved ? APPROVED : NOT_APPROVED), policy());
    expect(keys(drafts)).toEqual(expected ? [["identity-change-outside-pipeline", IDENTITY, undefined, "medium"]] : []);
  });
});
