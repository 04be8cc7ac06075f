import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ACTION_FOR_RULE, CHECK_AFFECTS, allRules, eventRules, noticeRules, ruleIds, ruleOptionSchemas, sweepRules } from "../../shared/rules/index.js";
import { corePolicyShape } from "../../shared/config/policyCore.js";
import { policySchema } from "../../shared/config/policy.js";

const RULES_DIR = fileURLToPath(new URL("../../shared/rules/", import.meta.url));
const TESTS_DIR = fileURLToPath(new URL("./rules/", import.meta.url));
const RULES_INDEX = fileURLToPath(new URL("../../docs/rules/README.md", import.meta.url));

const ruleFiles = readdirSync(RULES_DIR)
  .filter((file) => file.endsWith(".ts") && !["index.ts", "types.ts"].includes(file))
  .map((file) => file.replace(/\.ts$/, ""));

describe("rule registry", () => {
  it("registers every rule file, sorted, with file name = rule id", () => {
    for (const registry of [sweepRules, eventRules, noticeRules]) {
      const ids = registry.map((rule) => rule.meta.id);
      expect(ids).toEqual([...ids].sort());
    }
    expect(allRules.map((rule) => rule.meta.id).sort()).toEqual([...ruleFiles].sort());
    // A policy names sweep and event rules only: a notice cannot be switched off or suppressed.
    expect(ruleIds).not.toContain("cleanup-circuit-breaker");
  });

  it.each(allRules.map((rule) => [rule.meta.id, rule] as const))("%s: its manifest names its page and what it needs", (id, rule) => {
    expect(rule.meta.docs.url).toBe(`docs/rules/${id}.md`);
    expect(existsSync(fileURLToPath(new URL(`../../${rule.meta.docs.url}`, import.meta.url)))).toBe(true);
    expect(new Set(rule.meta.needs).size).toBe(rule.meta.needs.length);
  });

  it("derives CHECK_AFFECTS and ACTION_FOR_RULE from the manifests", () => {
    // A failed federated-credential listing must not resolve any finding that depends on the credentials.
    expect([...CHECK_AFFECTS["federated-credentials"]].sort()).toEqual(["drift-changed", "drift-missing-in-azure", "drift-not-in-code", "federated-credential-risky-subject", "federated-credential-untrusted-issuer", "unattached-identity"]);
    // An unreadable desired-state source leaves every drift finding open and unconfirmed.
    expect([...CHECK_AFFECTS["desired-state"]].sort()).toEqual(["drift-changed", "drift-missing-in-azure", "drift-not-in-code"]);
    expect(CHECK_AFFECTS["directory-lookup"]).toContain("orphaned-role-assignment");
    expect(CHECK_AFFECTS["directory-lookup"]).toContain("role-assignment-outside-pipeline");
    expect(ACTION_FOR_RULE).toEqual({
      "attachment-outside-pipeline": "detach-identity",
      "orphaned-role-assignment": "delete-role-assignment",
      "role-assignment-outside-pipeline": "delete-role-assignment",
      "untagged-identity": "tag-identity",
    });
  });

  it("the policy schema is the core keys and each rule's options, no key declared twice differently", () => {
    const ruleKeys = Object.keys(ruleOptionSchemas);
    expect(ruleKeys.filter((key) => Object.hasOwn(corePolicyShape, key))).toEqual([]);
    expect(Object.keys(policySchema.shape).sort()).toEqual([...Object.keys(corePolicyShape), ...ruleKeys].sort());
    for (const rule of allRules) {
      for (const [key, schema] of Object.entries(rule.meta.options ?? {})) expect(ruleOptionSchemas[key as keyof typeof ruleOptionSchemas], `${rule.meta.id} ${key}`).toBe(schema);
    }
    // Every rule option has a default: an empty policy is valid.
    for (const schema of Object.values(ruleOptionSchemas) as z.ZodType[]) expect(schema.safeParse(undefined).success).toBe(true);
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
    expect(eventRules.map((rule) => rule.meta.id).sort()).toEqual(ids(section("## Event rules", "## Notices")));
    expect(noticeRules.map((rule) => rule.meta.id).sort()).toEqual(ids(section("## Notices", "## Writing a rule")));
  });
});
