import { existsSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { z } from "zod";
import { InputError } from "../errors.js";
import { ruleOptionSchemas } from "../rules/index.js";
import { corePolicyShape } from "./policyCore.js";
import { parseJsonText, parseOrThrow, readJsonFile } from "./validation.js";

export { SEVERITIES, severityRank, severitySchema, type ApprovedPipeline, type CorePolicy, type Severity } from "./policyCore.js";
export { DEFAULT_TRUSTED_ISSUERS } from "../rules/lib/federation.js";

/**
 * The policy schema of docs/policy.md: the core keys (policyCore.ts) and every rule's own options, as
 * each rule's `meta.options` declares them. Nothing here names a rule: a new rule's options appear here by
 * being registered.
 */
export const policySchema = z.strictObject({ ...corePolicyShape, ...ruleOptionSchemas });

export type Policy = z.output<typeof policySchema>;
export type DesiredStateSource = Policy["desiredState"]["sources"][number];

/** Every key optional: the defaults of docs/policy.md. */
export function defaultPolicy(): Policy {
  return policySchema.parse({});
}

/**
 * Reads the policy from a path or inline JSON (the `UAMI_GUARD_POLICY` convention) and validates it.
 * `knownRuleIds` makes a typo in `rules.<id>` or a suppression's ruleId a startup error.
 */
export function loadPolicy(source: string | undefined, knownRuleIds: readonly string[]): Policy {
  if (source === undefined || source.trim() === "") return defaultPolicy();
  const trimmed = source.trim();
  const inline = trimmed.startsWith("{");
  const where = inline ? "policy (inline JSON)" : `policy ${source}`;
  const raw = inline ? parseJsonText(trimmed, where) : readJsonFile(source, where);
  const policy = parseOrThrow(policySchema, raw, where);
  checkRuleIds(policy, knownRuleIds, where);
  return inline ? policy : withSourcesBesidePolicy(policy, dirname(resolve(source)));
}

/**
 * A relative desired-state path is read beside the policy file when it is there (a policy and its state
 * files travel together), else from the working directory.
 */
function withSourcesBesidePolicy(policy: Policy, directory: string): Policy {
  const sources = policy.desiredState.sources.map((source) => {
    if (isAbsolute(source.path) || /^https?:\/\//i.test(source.path)) return source;
    const beside = join(directory, source.path);
    return existsSync(beside) ? { ...source, path: beside } : source;
  });
  return { ...policy, desiredState: { ...policy.desiredState, sources } };
}

function checkRuleIds(policy: Policy, knownRuleIds: readonly string[], where: string): void {
  const known = new Set(knownRuleIds);
  const allowed = `allowed: ${[...knownRuleIds].join(", ")}`;
  for (const ruleId of Object.keys(policy.rules)) {
    if (!known.has(ruleId)) throw new InputError(`${where}: rules.${ruleId}: unknown rule id (${allowed})`);
  }
  policy.suppressions.forEach((suppression, index) => {
    if (!known.has(suppression.ruleId)) {
      throw new InputError(`${where}: suppressions[${index}].ruleId = "${suppression.ruleId}": unknown rule id (${allowed})`);
    }
  });
}
