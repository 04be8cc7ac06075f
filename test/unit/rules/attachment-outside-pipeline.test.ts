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

  // The user's write is at 09:00:00; the approved write's eventTime and when its read-back happened vary.
  it.each([
    ["absorbed by a later approved write: reported, with absorbedBy", "2026-11-20T10:00:00Z", "2026-11-20T10:00:05Z", [B]],
    ["an earlier approved write read back before this write: known", "2026-11-20T08:00:00Z", "2026-11-20T08:00:05Z", []],
    ["an earlier approved write (5 s before) read back after this write: reported", "2026-11-20T08:59:55Z", "2026-11-20T09:00:10Z", [B]],
    ["read back at the same second as this write: reported", "2026-11-20T08:59:00Z", "2026-11-20T09:00:00Z", [B]],
    ["a row without readBackAt, absorbed at the same time: reported (equal is not after)", "2026-11-20T09:00:00Z", undefined, [B]],
    ["absorbed at a time that cannot be compared: reported", "not a time", undefined, [B]],
  ])("docs/guarantees.md \"Order does not matter\": %s", (_name, absorbedAt, readBackAt, expected) => {
    const event = { ...resourceEvent("Microsoft.Compute/virtualMachines/write", VM), eventTime: "2026-11-20T09:00:00Z" };
    const absorbedBy = { eventId: "e2", eventTime: absorbedAt, ...(readBackAt ? { readBackAt } : {}), approvedAs: "approved pipeline deploy" };
    const drafts = rule.evaluate(facts("attachment-write", event, NOT_APPROVED, { resource: state([A, B]), baseline: [A, B], absorbed: { [B.toLowerCase()]: absorbedBy } }), policy());
    expect(keys(drafts)).toEqual(expected.map((id) => ["attachment-outside-pipeline", VM, id, "high"]));
    for (const draft of drafts) expect(draft.evidence["absorbedBy"]).toEqual({ ...absorbedBy, readBackAt: readBackAt ?? absorbedAt });
  });

  it("reports nothing when the resource is gone", () => {
    expect(rule.evaluate(facts("attachment-write", resourceEvent("Microsoft.Compute/virtualMachines/write", VM), NOT_APPROVED), policy())).toEqual([]);
  });
});
