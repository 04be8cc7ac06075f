import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/attachment-outside-pipeline.js";
import { APPROVED, facts, NOT_APPROVED, resourceEvent } from "../../helpers/events.js";
import { keys, policy, RG } from "../../helpers/sweep.js";

const VM = `${RG}/providers/Microsoft.Compute/virtualMachines/vm1`;
const A = `${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-a`;
const B = `${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-b`;
const state = (ids: string[]) => ({ id: VM, type: "Microsoft.Compute/virtualMachines", identityType: "UserAssigned", userAssignedIdentityIds: ids });

describe("attachment-outside-pipeline", () => {
  it.each([
    ["new identity not in the baseline", [A, B], [A], false, [B]],
    ["baseline spelled in another case", [A], [A.toLowerCase()], false, []],
    ["no baseline: every attached identity", [A, B], undefined, false, [A, B]],
    ["approved pipeline", [A, B], [A], true, []],
    ["identity removed, none added", [A], [A, B], false, []],
  ])("%s", (_name, current, baseline, approved, expected) => {
    const event = resourceEvent("Microsoft.Compute/virtualMachines/write", VM);
    const drafts = rule.evaluate(facts("attachment-write", event, approved ? APPROVED : NOT_APPROVED, { resource: state(current), ...(baseline ? { baseline } : {}) }), policy());
    expect(keys(drafts)).toEqual(expected.map((id) => ["attachment-outside-pipeline", VM, id, "high"]));
  });

  it("reports nothing when the resource is gone", () => {
    expect(rule.evaluate(facts("attachment-write", resourceEvent("Microsoft.Compute/virtualMachines/write", VM), NOT_APPROVED), policy())).toEqual([]);
  });
});
