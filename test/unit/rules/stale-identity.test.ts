import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/stale-identity.js";
import { identity, index, keys, policy, runRule } from "../../helpers/sweep.js";

const subject = identity("id-a");
const configured = { signInLogs: { workspaceId: "ws" } };

describe("stale-identity", () => {
  it.each([
    ["no sign-in ever, holds roles", { }, 1, configured, true],
    ["signed in 100 days ago", { [subject.principalId]: "2026-08-12T00:00:00Z" }, 1, configured, true],
    ["signed in 30 days ago", { [subject.principalId]: "2026-10-21T00:00:00Z" }, 1, configured, false],
    ["holds no role assignment", {}, 0, configured, false],
    ["off without a workspace", {}, 1, {}, false],
    ["longer lookback", { [subject.principalId]: "2026-08-12T00:00:00Z" }, 1, { signInLogs: { workspaceId: "ws", lookbackDays: 120 } }, false],
  ])("%s", (_name, signIns, roles, settings, expected) => {
    const sweepIndex = index({ identities: [subject], lastSignIns: signIns as Record<string, string>, assignmentsByPrincipal: { [subject.principalId]: roles } });
    const drafts = runRule(rule, sweepIndex, policy(settings));
    expect(keys(drafts)).toEqual(expected ? [["stale-identity", subject.id, undefined, "low"]] : []);
  });

  it("reports nothing when the sign-in logs could not be read", () => {
    const sweepIndex = index({ identities: [subject], assignmentsByPrincipal: { [subject.principalId]: 3 } });
    expect(runRule(rule, sweepIndex, policy(configured))).toEqual([]);
  });
});
