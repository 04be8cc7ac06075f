import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/orphaned-role-assignment.js";
import { assignment, FOUND_USER, index, keys, MISSING, policy, runRule, UNKNOWN } from "../../helpers/sweep.js";
import type { PrincipalStatus } from "../../../shared/rules/types.js";

const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

describe("orphaned-role-assignment", () => {
  const cases: Array<{ name: string; principal: PrincipalStatus; overrides?: Record<string, string>; minAge?: number; expected: boolean }> = [
    { name: "missing principal, old assignment", principal: MISSING, expected: true },
    { name: "principal found", principal: FOUND_USER, expected: false },
    { name: "lookup failed: unknown is never orphaned", principal: UNKNOWN, expected: false },
    { name: "ForeignGroup is skipped", principal: MISSING, overrides: { principalType: "ForeignGroup" }, expected: false },
    { name: "Device is looked up, so a missing device is an orphan", principal: MISSING, overrides: { principalType: "Device" }, expected: true },
    { name: "a principal type the lookup cannot ask for is never an orphan", principal: MISSING, overrides: { principalType: "DirectoryRoleTemplate" }, expected: false },
    { name: "younger than minAgeMinutes (replication lag)", principal: MISSING, overrides: { createdOn: "2026-11-20T11:30:00Z" }, expected: false },
    { name: "just older than minAgeMinutes", principal: MISSING, overrides: { createdOn: "2026-11-20T10:59:00Z" }, expected: true },
    { name: "minAgeMinutes 0 reports young ones", principal: MISSING, overrides: { createdOn: "2026-11-20T11:59:00Z" }, minAge: 0, expected: true },
  ];
  it.each(cases)("$name", ({ principal, overrides, minAge, expected }) => {
    const item = assignment("a1", READER, "p-gone", undefined, overrides);
    const drafts = runRule(rule, index(), policy(minAge === undefined ? {} : { orphans: { minAgeMinutes: minAge } }), [[item, principal]]);
    expect(keys(drafts)).toEqual(expected ? [["orphaned-role-assignment", item.id, undefined, "high"]] : []);
  });
});
