import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { eventRules, ruleIds, sweepRules } from "../../shared/rules/index.js";

const RULES_DIR = fileURLToPath(new URL("../../shared/rules/", import.meta.url));
const TESTS_DIR = fileURLToPath(new URL("./rules/", import.meta.url));
const RULES_INDEX = fileURLToPath(new URL("../../docs/rules/README.md", import.meta.url));

const ruleFiles = readdirSync(RULES_DIR)
  .filter((file) => file.endsWith(".ts") && !["index.ts", "types.ts"].includes(file))
  .map((file) => file.replace(/\.ts$/, ""));

describe("rule registry", () => {
  it("registers every rule file, sorted, with file name = rule id", () => {
    for (const registry of [sweepRules, eventRules]) {
      const ids = registry.map((rule) => rule.meta.id);
      expect(ids).toEqual([...ids].sort());
    }
    expect([...ruleIds]).toEqual([...ruleFiles].sort());
  });

  it.each([...sweepRules, ...eventRules].map((rule) => [rule.meta.id, rule] as const))("%s has metadata, remediation commands and a table-driven test", (id, rule) => {
    expect(rule.meta.title.length).toBeGreaterThan(5);
    expect(rule.meta.description.length).toBeGreaterThan(20);
    expect(rule.meta.risk.length).toBeGreaterThan(20);
    const remediation = rule.meta.remediation({ ruleId: id, severity: rule.meta.severity, subjectId: "/subscriptions/s/x", title: "", message: "", evidence: {} });
    expect(remediation.cli.length).toBeGreaterThan(0);
    for (const command of remediation.cli) expect(command).toMatch(/^az /);
    expect(existsSync(`${TESTS_DIR}${id}.test.ts`)).toBe(true);
  });

  it("covers every sweep and event rule of the rule index (docs/rules/README.md)", () => {
    const text = readFileSync(RULES_INDEX, "utf8");
    const section = (from: string, to: string) => text.slice(text.indexOf(from), to ? text.indexOf(to) : undefined);
    const ids = (part: string) => [...part.matchAll(/^\| \[`([a-z-]+)`\]/gm)].map((match) => match[1]).sort();
    expect(sweepRules.map((rule) => rule.meta.id).sort()).toEqual(ids(section("## Sweep rules", "## Event rules")));
    expect(eventRules.map((rule) => rule.meta.id).sort()).toEqual(ids(section("## Event rules", "## Writing a rule page")));
  });
});
