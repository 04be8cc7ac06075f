import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/role-assignment-outside-pipeline.js";
import { APPROVED, facts, NOT_APPROVED, resourceEvent } from "../../helpers/events.js";
import { assignment, FOUND_MI, FOUND_USER, keys, policy, RG, S, UNKNOWN } from "../../helpers/sweep.js";
import type { PrincipalStatus } from "../../../shared/rules/types.js";

const OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

describe("role-assignment-outside-pipeline", () => {
  const cases: Array<[string, string, string, PrincipalStatus, boolean, boolean, string | undefined]> = [
    ["Reader to a managed identity by a user", READER, RG, FOUND_MI, false, false, "high"],
    ["Owner at subscription to a managed identity: critical", OWNER, S, FOUND_MI, false, false, "critical"],
    ["Owner at resource group: high (medium would not be critical)", OWNER, RG, FOUND_MI, false, false, "high"],
    ["approved pipeline", OWNER, S, FOUND_MI, true, false, undefined],
    ["grant to a user is not watched", READER, RG, FOUND_USER, false, false, undefined],
    ["grant to a user with watchAllPrincipals", READER, RG, FOUND_USER, false, true, "high"],
    ["principal unknown (Graph failed): no finding", READER, RG, UNKNOWN, false, false, undefined],
  ];
  it.each(cases)("%s", (_name, role, scope, principal, approved, watchAll, severity) => {
    const item = assignment("ra1", role, "p-1", scope);
    const event = resourceEvent("Microsoft.Authorization/roleAssignments/write", item.id);
    const drafts = rule.evaluate(facts("role-assignment-write", event, approved ? APPROVED : NOT_APPROVED, { roleAssignment: item, principal }), policy(watchAll ? { watchAllPrincipals: true } : {}));
    expect(keys(drafts)).toEqual(severity ? [["role-assignment-outside-pipeline", item.id, "p-1", severity]] : []);
  });

  it("reports nothing when the assignment is gone by the time it is read back", () => {
    const event = resourceEvent("Microsoft.Authorization/roleAssignments/write", `${S}/providers/Microsoft.Authorization/roleAssignments/x`);
    expect(rule.evaluate(facts("role-assignment-write", event, NOT_APPROVED, { principal: FOUND_MI }), policy())).toEqual([]);
  });
});
