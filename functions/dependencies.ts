import { randomBytes } from "node:crypto";
import { createAzureClients, type AzureClients } from "../shared/azure/clients.js";
import { loadPolicy, type Policy } from "../shared/config/policy.js";
import { readAppSettings, workItemKeyOf, type AppSettings } from "../shared/config/settings.js";
import { cleanupMode } from "../shared/cleanup/plan.js";
import { InputError } from "../shared/errors.js";
import { ruleIds } from "../shared/rules/index.js";

/** What every trigger needs. Built once per worker from app settings; tests and `serve` pass their own. */
export interface AppDependencies {
  settings: AppSettings;
  policy: Policy;
  clients: AzureClients;
  /** The key that seals cleanup work items (UAMI_GUARD_WORK_ITEM_KEY); absent: one for this process. */
  workItemKey?: Buffer;
}

export type DependencyProvider = () => Promise<AppDependencies>;

let cached: Promise<AppDependencies> | undefined;

/**
 * Reads settings and policy once (failing fast, naming the key) and builds the Azure clients. A policy that
 * enforces a rule needs the work-item key: every instance must seal and check work items with the same one.
 */
export const appDependencies: DependencyProvider = () => {
  cached ??= Promise.resolve().then(() => {
    const settings = readAppSettings();
    const policy = loadPolicy(settings.UAMI_GUARD_POLICY, ruleIds);
    const workItemKey = workItemKeyOf(settings, { ephemeral: false });
    if (!workItemKey && cleanupMode(policy, false) !== "off") throw new InputError("app setting UAMI_GUARD_WORK_ITEM_KEY is missing: a policy that enforces a rule needs it to seal cleanup work items");
    return { settings, policy, clients: createAzureClients({ kind: "azure", settings }), ...(workItemKey ? { workItemKey } : {}) };
  });
  return cached;
};

/** A key for the life of this process: enough for one process that both queues and carries out (serve, tests). */
const processKey = randomBytes(32);

export function workItemKeyFor(dependencies: AppDependencies): Buffer {
  return dependencies.workItemKey ?? processKey;
}
