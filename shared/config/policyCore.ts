import { z } from "zod";
import { SEVERITIES } from "./severities.js";

export { SEVERITIES, severityRank, type Severity } from "./severities.js";

/**
 * The part of the policy that belongs to no one rule: approvals, the app itself, per-rule settings,
 * suppressions, protection, cleanup and notification. Each rule declares its own options in its `meta`
 * (shared/rules/<id>.ts); shared/config/policy.ts joins both into the one schema. Rules import this
 * module, never policy.ts, so the schema can be derived from the rules without an import cycle.
 */

export const severitySchema = z.enum(SEVERITIES);

export const guid = z.string().regex(/^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/, "must be a GUID");

export const regexString = z.string().refine((pattern) => {
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

/**
 * Who may change the guard itself (docs/rules/governance-tampering.md): matched like an approved pipeline, by
 * `appId` (app-only tokens) or `objectId`, but without scopes — a deployer may change every guard resource.
 */
const deployerSchema = z
  .strictObject({
    name: z.string().min(1),
    appId: guid.optional(),
    objectId: guid.optional(),
  })
  .refine((deployer) => deployer.appId !== undefined || deployer.objectId !== undefined, {
    message: "needs an appId or an objectId",
  });

const ruleSettingsSchema = z.strictObject({
  enabled: z.boolean().optional(),
  severity: severitySchema.optional(),
  mode: z.enum(["audit", "enforce"]).optional(),
});

const armResourceId = z.string().regex(/^\/subscriptions\/[^/]+(\/[^/]+)*$/i, "must be an ARM id starting with /subscriptions/");

const isoDate = z.string().refine((text) => !Number.isNaN(Date.parse(text)), "must be an ISO date such as 2027-01-01");

/** The keys of docs/policy.md that no rule owns; a rule's options (its `meta.options`) join these. */
export const corePolicyShape = {
  approvedPipelines: z.array(approvedPipelineSchema).default([]),
  self: z
    .strictObject({
      objectId: guid.optional(),
      appId: guid.optional(),
      /** The Function App that receives the Event Grid deliveries (event-coverage-missing is off without it). */
      functionAppId: armResourceId.optional(),
      /** Ids or id prefixes of the app's own resources (governance-tampering). */
      resources: z.array(armResourceId).default([]),
      /** The only callers besides the app itself that may change the guard (approved pipelines may not). */
      deployers: z.array(deployerSchema).default([]),
    })
    .default({ resources: [], deployers: [] }),
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
      /** Sends of one outbox entry before it is dead-lettered (a 4xx other than 408/429 dead-letters at once). */
      maxAttempts: z.number().int().min(1).max(100).default(10),
    })
    .default({ minSeverity: "medium", renotifyAfterHours: 168, maxAttempts: 10 }),
};

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- it exists for its type: CorePolicy is what it parses.
const corePolicySchema = z.strictObject(corePolicyShape);

/** What every rule may read of the policy, besides its own options. */
export type CorePolicy = z.output<typeof corePolicySchema>;
export type ApprovedPipeline = CorePolicy["approvedPipelines"][number];
export type GuardDeployer = CorePolicy["self"]["deployers"][number];

export function isRuleEnabled(policy: Pick<CorePolicy, "rules">, ruleId: string): boolean {
  return policy.rules[ruleId]?.enabled ?? true;
}
