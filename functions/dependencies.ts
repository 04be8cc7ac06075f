import { createAzureClients, type AzureClients } from "../shared/azure/clients.js";
import { loadPolicy, type Policy } from "../shared/config/policy.js";
import { readAppSettings, type AppSettings } from "../shared/config/settings.js";
import { ruleIds } from "../shared/rules/index.js";

/** What every trigger needs. Built once per worker from app settings; tests and `serve` pass their own. */
export interface AppDependencies {
  settings: AppSettings;
  policy: Policy;
  clients: AzureClients;
}

export type DependencyProvider = () => Promise<AppDependencies>;

let cached: Promise<AppDependencies> | undefined;

/** Reads settings and policy once (failing fast, naming the key) and builds the Azure clients. */
export const appDependencies: DependencyProvider = () => {
  cached ??= Promise.resolve().then(() => {
    const settings = readAppSettings();
    const policy = loadPolicy(settings.UAMI_GUARD_POLICY, ruleIds);
    return { settings, policy, clients: createAzureClients({ kind: "azure", settings }) };
  });
  return cached;
};
