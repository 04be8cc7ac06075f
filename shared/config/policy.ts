import { existsSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { z } from "zod";
import { InputError } from "../errors.js";
import { parseJsonText, parseOrThrow, readJsonFile } from "./validation.js";

export const SEVERITIES = ["critical", "high", "medium", "low"] as const;
export type Severity = (typeof SEVERITIES)[number];
export const severitySchema = z.enum(SEVERITIES);

export function severityRank(severity: Severity): number {
  return SEVERITIES.length - SEVERITIES.indexOf(severity);
}

const guid = z.string().regex(/^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/, "must be a GUID");
const regexString = z.string().refine((pattern) => {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}, "must be a valid regular expression");

const approvedPipelineSchema = z
  .strictObject({
    name: z.string().min(1),
    appId: guid.optional(),
    objectId: guid.optional(),
    scopes: z.array(z.string().startsWith("/", "must be an ARM scope starting with /")).optional(),
  })
  .refine((pipeline) => pipeline.appId !== undefined || pipeline.objectId !== undefined, {
    message: "needs an appId or an objectId",
  });

const ruleSettingsSchema = z.strictObject({
  enabled: z.boolean().optional(),
  severity: severitySchema.optional(),
  mode: z.enum(["audit", "enforce"]).optional(),
});

const armResourceId = z.string().regex(/^\/subscriptions\/[^/]+(\/[^/]+)*$/i, "must be an ARM id starting with /subscriptions/");

const isoDate = z.string().refine((text) => !Number.isNaN(Date.parse(text)), "must be an ISO date such as 2027-01-01");

/** RULES.md "Policy": the issuers of GitHub Actions, AKS, Azure DevOps, Entra ID, GitLab and HCP Terraform. */
export const DEFAULT_TRUSTED_ISSUERS: readonly string[] = [
  "https://token.actions.githubusercontent.com",
  "https://*.oic.prod-aks.azure.com/",
  "https://vstoken.dev.azure.com/",
  "https://login.microsoftonline.com/",
  "https://gitlab.com",
  "https://app.terraform.io",
];

const trustedIssuerSchema = z
  .string()
  .regex(/^https:\/\/[^\s]+$/i, "must be an https:// issuer URL (a * stands for one host label part; a trailing / matches every issuer that begins with it)");

/**
 * A desired-state source: a local file or directory, or an https blob (or container) URL the app reads with
 * its identity; http only to a loopback storage emulator (Azurite).
 */
const desiredStatePath = z
  .string()
  .min(1)
  .refine((path) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(path) || /^https:\/\//i.test(path) || /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\//i.test(path), "must be a file or directory path, or an https:// blob URL");

const desiredStateSourceSchema = z.strictObject({
  path: desiredStatePath,
  /** Detected from the document when absent (`format_version`: terraform; `changes`: what-if). */
  format: z.enum(["terraform", "what-if"]).optional(),
  /** What the source governs; default everything the sweep reads. */
  scopes: z.array(z.string().startsWith("/", "must be an ARM scope starting with /")).min(1).default(["/"]),
});

export const policySchema = z.strictObject({
  requiredTags: z.array(z.string().trim().min(1)).default(["owner", "environment"]),
  approvedPipelines: z.array(approvedPipelineSchema).default([]),
  self: z
    .strictObject({
      objectId: guid.optional(),
      appId: guid.optional(),
      /** The Function App that receives the Event Grid deliveries (event-coverage-missing is off without it). */
      functionAppId: armResourceId.optional(),
      /** Ids or id prefixes of the app's own resources (governance-tampering). */
      resources: z.array(armResourceId).default([]),
    })
    .default({ resources: [] }),
  watchAllPrincipals: z.boolean().default(false),
  orphans: z
    .strictObject({
      minAgeMinutes: z.number().int().min(0).default(60),
      confirmations: z.number().int().min(1).max(100).default(2),
    })
    .default({ minAgeMinutes: 60, confirmations: 2 }),
  sprawl: z.strictObject({ maxResourceGroups: z.number().int().min(1).default(3) }).default({ maxResourceGroups: 3 }),
  naming: z.strictObject({ pattern: regexString.nullable().default(null) }).default({ pattern: null }),
  signInLogs: z
    .strictObject({
      workspaceId: z.string().min(1).nullable().default(null),
      lookbackDays: z.number().int().min(1).max(730).default(90),
    })
    .default({ workspaceId: null, lookbackDays: 90 }),
  rules: z.record(z.string(), ruleSettingsSchema).default({}),
  suppressions: z
    .array(
      z.strictObject({
        ruleId: z.string().min(1),
        subjectId: z.string().min(1),
        reason: z.string().min(1),
        expires: isoDate.optional(),
      }),
    )
    .default([]),
  protected: z
    .strictObject({
      scopes: z.array(z.string().startsWith("/")).default([]),
      principals: z.array(z.string().min(1)).default([]),
    })
    .default({ scopes: [], principals: [] }),
  cleanup: z
    .strictObject({
      dryRun: z.boolean().default(true),
      maxActionsPerRun: z.number().int().min(0).default(50),
      maxDeletePercent: z.number().min(0).max(100).default(5),
      /** All runs together (sweeps, events, work items, CLI runs sharing --state), counted from the journal over a rolling hour. */
      maxActionsPerHour: z.number().int().min(0).default(100),
    })
    .default({ dryRun: true, maxActionsPerRun: 50, maxDeletePercent: 5, maxActionsPerHour: 100 }),
  notify: z
    .strictObject({
      minSeverity: severitySchema.default("medium"),
      renotifyAfterHours: z.number().min(0).default(168),
    })
    .default({ minSeverity: "medium", renotifyAfterHours: 168 }),
  desiredState: z
    .strictObject({
      sources: z.array(desiredStateSourceSchema).default([]),
      approves: z.boolean().default(false),
    })
    .default({ sources: [], approves: false }),
  federation: z
    .strictObject({ trustedIssuers: z.array(trustedIssuerSchema).default([...DEFAULT_TRUSTED_ISSUERS]) })
    .default({ trustedIssuers: [...DEFAULT_TRUSTED_ISSUERS] }),
});

export type Policy = z.output<typeof policySchema>;
export type ApprovedPipeline = Policy["approvedPipelines"][number];
export type DesiredStateSource = Policy["desiredState"]["sources"][number];

/** Every key optional: the defaults of RULES.md "Policy". */
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
