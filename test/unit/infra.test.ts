import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadPolicy } from "../../shared/config/policy.js";
import { APP_SETTING_NAMES, readAppSettings } from "../../shared/config/settings.js";
import { TABLES } from "../../shared/composition.js";
import { OPERATIONS, detachApiVersionForType, detachTargetTypes } from "../../shared/events/operations.js";
import { ruleIds } from "../../shared/rules/index.js";
import { judgeDelivery, REQUIRED_EVENT_TYPES } from "../../shared/rules/lib/eventDelivery.js";
import { DELIVERY_METRIC_NAMES } from "../../shared/azure/deliveryMetrics.js";
import type { SubscriptionEventDelivery } from "../../shared/model.js";

/*
 * The Bicep compiler cannot be installed here, so these checks read infra/ as text: the resource types
 * and API versions, least privilege, and that the templates stay in step with the code (app settings,
 * the Event Grid operation filter, tables, the Sentinel table schema).
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const INFRA = join(ROOT, "infra");

function filesUnder(directory: string): string[] {
  return readdirSync(directory).flatMap((entry) => {
    const path = join(directory, entry);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

const infraFiles = filesUnder(INFRA);
const bicepFiles = infraFiles.filter((path) => path.endsWith(".bicep"));
const read = (path: string): string => readFileSync(join(ROOT, path), "utf8");
const name = (path: string): string => relative(ROOT, path);

/**
 * The text with comments and string literals (interpolations included) blanked out, same length, so
 * brackets can be matched on it and the matching span read from the original.
 */
function maskStringsAndComments(text: string): string {
  const out = text.split("");
  const blank = (from: number, to: number): void => {
    for (let i = from; i < to; i++) if (out[i] !== "\n") out[i] = " ";
  };
  // Returns the index just past the string literal that opens at `start`.
  const skipString = (start: number): number => {
    if (text.startsWith("'''", start)) {
      const end = text.indexOf("'''", start + 3);
      return end < 0 ? text.length : end + 3;
    }
    let i = start + 1;
    while (i < text.length) {
      const char = text[i];
      if (char === "\\") i += 2;
      else if (char === "'") return i + 1;
      else if (text.startsWith("${", i)) i = skipCode(i + 2, true);
      else i++;
    }
    return i;
  };
  // Code inside an interpolation: returns the index just past its closing brace.
  const skipCode = (start: number, interpolation: boolean): number => {
    let depth = 0;
    let i = start;
    while (i < text.length) {
      const char = text[i];
      if (char === "'") i = skipString(i);
      else if (char === "{") {
        depth++;
        i++;
      }
      else if (char === "}") {
        if (interpolation && depth === 0) return i + 1;
        depth--;
        i++;
      } else i++;
    }
    return i;
  };
  let i = 0;
  while (i < text.length) {
    if (text.startsWith("//", i)) {
      const end = text.indexOf("\n", i);
      const stop = end < 0 ? text.length : end;
      blank(i, stop);
      i = stop;
    } else if (text[i] === "'") {
      const end = skipString(i);
      blank(i, end);
      i = end;
    } else i++;
  }
  return out.join("");
}

/** The bracketed value that follows `marker` (an object `{…}` or array `[…]`), brackets included. */
function valueAfter(text: string, marker: string | RegExp): string {
  const found = typeof marker === "string" ? text.indexOf(marker) : text.search(marker);
  if (found < 0) throw new Error(`marker not found: ${String(marker)}`);
  const masked = maskStringsAndComments(text);
  let open = found;
  while (open < masked.length && masked[open] !== "{" && masked[open] !== "[") open++;
  let depth = 0;
  for (let i = open; i < masked.length; i++) {
    const char = masked[i];
    if (char === "{" || char === "[") depth++;
    if (char === "}" || char === "]") depth--;
    if (depth === 0) return text.slice(open, i + 1);
  }
  throw new Error(`unbalanced value after ${String(marker)}`);
}

/** Keys of a Bicep object literal's first level, with the raw text of each value. */
function objectEntries(block: string): Map<string, string> {
  const masked = maskStringsAndComments(block);
  const entries = new Map<string, string>();
  let depth = 0;
  let lineStart = true;
  for (let i = 0; i < block.length; i++) {
    const char = masked[i];
    if (lineStart && depth === 1) {
      const match = /^\s*([A-Za-z_]\w*)\s*:\s*(.*)$/m.exec(block.slice(i, block.indexOf("\n", i) < 0 ? undefined : block.indexOf("\n", i)));
      if (match?.[1] !== undefined) entries.set(match[1], match[2] ?? "");
    }
    lineStart = char === "\n";
    if (char === "{" || char === "[") depth++;
    if (char === "}" || char === "]") depth--;
  }
  return entries;
}

/** The single-quoted items of a Bicep array literal written one per line. */
function stringItems(block: string): string[] {
  return [...block.matchAll(/^\s*'([^']*)'\s*$/gm)].map((match) => match[1] ?? "");
}

/** `type@apiVersion` of every resource declaration (child resources declared by short name excluded). */
function resourceDeclarations(text: string): { symbol: string; type: string; apiVersion: string; line: string }[] {
  return [...text.matchAll(/^\s*resource\s+(\w+)\s+'([^'@]+)@([^']+)'(.*)$/gm)].map((match) => ({
    symbol: match[1] ?? "",
    type: match[2] ?? "",
    apiVersion: match[3] ?? "",
    line: match[0],
  }));
}

/** The guard as infra deploys it: its resource group in its own subscription and in a governed one. */
const HOME_RG = "/subscriptions/00000000-0000-0000-0000-00000000000a/resourceGroups/rg-env";
const GOVERNED_RG = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-env";
const DEPLOYED_APP = `${HOME_RG}/providers/Microsoft.Web/sites/func-uamiguard-x`;

const ROLE = {
  reader: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
  storageBlobDataOwner: "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
  storageBlobDataContributor: "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
  storageQueueDataContributor: "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
  storageTableDataContributor: "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
  storageBlobDataReader: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
  eventGridDataSender: "d5a91429-5739-47e2-a06b-3470a27159e7",
  monitoringMetricsPublisher: "3913510d-42f4-4e42-8a64-420c390055eb",
  keyVaultSecretsUser: "4633458b-17de-408a-b874-0445c86b69e6",
};

const PRIVILEGED_ROLES = {
  owner: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
  contributor: "b24988ac-6180-42a0-ab88-20f7382dd24c",
  userAccessAdministrator: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
  roleBasedAccessControlAdministrator: "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
};

const ENFORCER_ACTIONS = [
  "Microsoft.Authorization/roleAssignments/read",
  "Microsoft.Authorization/roleAssignments/write",
  "Microsoft.Authorization/roleAssignments/delete",
  "Microsoft.Compute/virtualMachines/read",
  "Microsoft.Compute/virtualMachines/write",
  "Microsoft.Compute/virtualMachineScaleSets/read",
  "Microsoft.Compute/virtualMachineScaleSets/write",
  "Microsoft.Web/sites/read",
  "Microsoft.Web/sites/write",
  "Microsoft.Web/sites/slots/read",
  "Microsoft.Web/sites/slots/write",
  "Microsoft.App/containerApps/read",
  "Microsoft.App/containerApps/write",
  "Microsoft.ManagedIdentity/userAssignedIdentities/read",
  "Microsoft.ManagedIdentity/userAssignedIdentities/write",
  "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
  // The status tag: Tags - Update At Scope (shared/azure/armActions.ts updateTags).
  "Microsoft.Resources/tags/read",
  "Microsoft.Resources/tags/write",
];

/** The documented schema of UamiGuardFindings_CL (issue "Notifications", Sentinel). */
const FINDINGS_COLUMNS = {
  TimeGenerated: "dateTime",
  RuleId: "string",
  Severity: "string",
  SubjectId: "string",
  RelatedId: "string",
  Fingerprint: "string",
  Title: "string",
  Message: "string",
  Caller: "string",
  SubscriptionId: "string",
  Evidence: "dynamic",
  RunId: "string",
  Mode: "string",
  Status: "string",
  RulePage: "string",
};

describe("infra: files and parameters", () => {
  it("azure.yaml deploys this project as the api function service (TypeScript)", () => {
    const yaml = read("azure.yaml");
    expect(yaml).toMatch(/^name: uami-guard$/m);
    const api = /^services:\n {2}api:\n((?: {4}.*\n)+)/m.exec(yaml)?.[1] ?? "";
    expect(api).toMatch(/^ {4}project: \.$/m);
    expect(api).toMatch(/^ {4}host: function$/m);
    expect(api).toMatch(/^ {4}language: ts$/m);
    expect(read("infra/app/functionapp.bicep")).toContain("param serviceName string = 'api'");
  });

  it("every module and every loaded file exists", () => {
    for (const file of bicepFiles) {
      const text = readFileSync(file, "utf8");
      const targets = [...text.matchAll(/^module\s+\w+\s+'([^']+)'/gm), ...text.matchAll(/load(?:Text|Json)Content\('([^']+)'\)/g)];
      for (const match of targets) {
        const target = join(dirname(file), match[1] ?? "");
        expect(statSync(target, { throwIfNoEntry: false })?.isFile(), `${name(file)} -> ${match[1]}`).toBe(true);
      }
    }
  });

  it("every param has a @description", () => {
    for (const file of bicepFiles) {
      const lines = readFileSync(file, "utf8").split("\n");
      lines.forEach((line, index) => {
        const param = /^param\s+(\w+)/.exec(line)?.[1];
        if (param === undefined) return;
        const decorators: string[] = [];
        // Decorators sit right above the param; a multi-line @allowed([...]) spans indented lines.
        for (let j = index - 1; j >= 0; j--) {
          const above = lines[j] ?? "";
          if (above.trim() === "" || !/^(@|\s|\]|\))/.test(above)) break;
          decorators.push(above);
        }
        expect(decorators.join("\n"), `${name(file)}: param ${param}`).toMatch(/@description\('/);
      });
    }
  });

  it("main.parameters.json binds azd's environment and only declared params", () => {
    const parameters = JSON.parse(read("infra/main.parameters.json")) as { parameters: Record<string, { value: unknown }> };
    const declared = new Set([...read("infra/main.bicep").matchAll(/^param\s+(\w+)/gm)].map((match) => match[1]));
    for (const key of Object.keys(parameters.parameters)) expect(declared, key).toContain(key);
    expect(parameters.parameters["environmentName"]?.value).toBe("${AZURE_ENV_NAME}");
    expect(parameters.parameters["location"]?.value).toBe("${AZURE_LOCATION}");
  });

  it("main.bicep declares the outputs an operator needs", () => {
    const outputs = new Set([...read("infra/main.bicep").matchAll(/^output\s+(\w+)\s/gm)].map((match) => match[1]));
    for (const output of [
      "AZURE_FUNCTION_APP_NAME",
      "UAMI_GUARD_FUNCTION_APP_URL",
      "UAMI_GUARD_IDENTITY_CLIENT_ID",
      "UAMI_GUARD_IDENTITY_PRINCIPAL_ID",
      "LOGS_INGESTION_DCR_ID",
      "LOGS_INGESTION_ENDPOINT",
      "UAMI_GUARD_SYSTEM_TOPIC_NAMES",
      "UAMI_GUARD_STORAGE_ACCOUNT_NAME",
      "UAMI_GUARD_KEY_VAULT_NAME",
      "EVENTGRID_TOPIC_ENDPOINT",
    ]) {
      expect(outputs, output).toContain(output);
    }
  });

  it("the policy deployed as UAMI_GUARD_POLICY is valid (with the app's identity as self)", () => {
    const policy = JSON.parse(read("infra/policy.json")) as Record<string, unknown>;
    const rg = "/subscriptions/00000000-0000-0000-0000-00000000000a/resourceGroups/rg-env";
    const deployed = {
      ...policy,
      self: {
        objectId: "00000000-0000-0000-0000-000000000001",
        appId: "00000000-0000-0000-0000-000000000002",
        functionAppId: `${rg}/providers/Microsoft.Web/sites/func-uamiguard-x`,
        resources: [rg],
        deployers: [{ name: "deploying-principal", objectId: "00000000-0000-0000-0000-000000000003" }, { name: "guard-pipeline", appId: "00000000-0000-0000-0000-000000000004" }],
      },
    };
    expect(() => loadPolicy(JSON.stringify(deployed), ruleIds)).not.toThrow();
    // With UAMI_GUARD_DESIRED_STATE_SCOPES: the desired-state container is the one source, its documents' format told by each.
    const withDesiredState = { ...deployed, desiredState: { sources: [{ path: "https://stuamiguardx.blob.core.windows.net/desired-state", scopes: ["/subscriptions/00000000-0000-0000-0000-00000000000b"] }], approves: false } };
    expect(() => loadPolicy(JSON.stringify(withDesiredState), ruleIds)).not.toThrow();
    const main = read("infra/main.bicep");
    expect(main).toMatch(/union\(loadJsonContent\('policy\.json'\), desiredState, \{\s*self: \{/);
    expect(main).toContain("path: storage.outputs.desiredStateContainerUrl");
    // event-coverage-missing needs the Function App; governance-tampering its own resources.
    const self = valueAfter(main, "var policy =");
    expect(self).toContain("functionAppId: resourceId(subscription().subscriptionId, groupName, 'Microsoft.Web/sites', functionAppName)");
    expect(self).toContain("resources: selfResources");
    // governance-tampering: whoever deploys the guard may change it, and the deployers listed; nobody else.
    expect(self).toContain("deployers: concat([{ name: 'deploying-principal', objectId: deployer().objectId }], guardDeployers)");
    expect(main).toMatch(/^param guardDeployers array = \[\]$/m);
    expect(main).toContain("var selfResources = concat([rg.id], map(governedSubscriptions, subscriptionId => '/subscriptions/${subscriptionId}/resourceGroups/${groupName}'))");
    expect(valueAfter(main, "module functionApp ")).toContain("name: functionAppName");
  });
});

describe("infra: resource types and API versions", () => {
  const declarations = bicepFiles.flatMap((file) => resourceDeclarations(readFileSync(file, "utf8")).map((declaration) => ({ ...declaration, file })));

  it("declares each resource type with a current API version", () => {
    const declared = new Set(declarations.map(({ type, apiVersion }) => `${type.toLowerCase()}@${apiVersion}`));
    for (const expected of [
      "Microsoft.Resources/resourceGroups@2024-03-01",
      "Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31",
      "Microsoft.Storage/storageAccounts@2023-05-01",
      "Microsoft.OperationalInsights/workspaces@2023-09-01",
      "Microsoft.OperationalInsights/workspaces/tables@2022-10-01",
      "Microsoft.Insights/components@2020-02-02",
      "Microsoft.Insights/dataCollectionRules@2023-03-11",
      "Microsoft.Insights/workbooks@2023-06-01",
      "Microsoft.Insights/metricAlerts@2018-03-01",
      "Microsoft.KeyVault/vaults@2023-07-01",
      "Microsoft.KeyVault/vaults/secrets@2023-07-01",
      "Microsoft.Web/serverfarms@2024-04-01",
      "Microsoft.Web/sites@2024-04-01",
      "Microsoft.EventGrid/topics@2022-06-15",
      "Microsoft.EventGrid/systemTopics@2022-06-15",
      "Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15",
      "Microsoft.Authorization/roleAssignments@2022-04-01",
      "Microsoft.Authorization/roleDefinitions@2022-04-01",
      "Microsoft.SecurityInsights/onboardingStates@2023-02-01",
      "Microsoft.SecurityInsights/alertRules@2023-02-01",
    ]) {
      expect(declared, expected).toContain(expected.toLowerCase());
    }
  });

  it("uses one API version per resource type, and only dated versions", () => {
    const versions = new Map<string, Set<string>>();
    for (const { type, apiVersion, file } of declarations) {
      expect(apiVersion, `${name(file)}: ${type}`).toMatch(/^\d{4}-\d{2}-\d{2}(-preview)?$/);
      versions.set(type.toLowerCase(), (versions.get(type.toLowerCase()) ?? new Set()).add(apiVersion));
    }
    for (const [type, used] of versions) expect([...used], type).toHaveLength(1);
  });
});

describe("infra: least privilege for the app's identity", () => {
  it("no privileged built-in role id appears anywhere in infra/", () => {
    for (const file of infraFiles) {
      const text = readFileSync(file, "utf8").toLowerCase();
      for (const [role, id] of Object.entries(PRIVILEGED_ROLES)) expect(text.includes(id), `${name(file)} mentions ${role}`).toBe(false);
    }
  });

  it("every role id in the templates is one of the reviewed data-plane or read roles", () => {
    const allowed = new Set(Object.values(ROLE));
    for (const file of bicepFiles) {
      for (const [id] of readFileSync(file, "utf8").matchAll(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi)) {
        expect(allowed, `${name(file)}: ${id}`).toContain(id.toLowerCase());
      }
    }
  });

  it("grants each expected role where it belongs", () => {
    const grants: [string, string][] = [
      ["infra/app/rbac/governed-subscription.bicep", ROLE.reader],
      ["infra/app/storage.bicep", ROLE.storageTableDataContributor],
      ["infra/app/storage.bicep", ROLE.storageQueueDataContributor],
      ["infra/app/storage.bicep", ROLE.storageBlobDataOwner],
      ["infra/app/storage.bicep", ROLE.storageBlobDataReader],
      ["infra/app/storage.bicep", ROLE.storageBlobDataContributor],
      ["infra/app/rbac/deadletter-writer.bicep", ROLE.storageBlobDataContributor],
      ["infra/app/findings-topic.bicep", ROLE.eventGridDataSender],
      ["infra/app/dcr.bicep", ROLE.monitoringMetricsPublisher],
      ["infra/app/keyvault.bicep", ROLE.keyVaultSecretsUser],
    ];
    for (const [file, role] of grants) expect(read(file), `${file}: ${role}`).toContain(role);
    expect(read("infra/app/dcr.bicep")).toMatch(/scope: dataCollectionRule\n/);
  });

  it("every role assignment names a service principal (no replication race on a new identity)", () => {
    for (const file of bicepFiles) {
      const text = readFileSync(file, "utf8");
      for (const { symbol } of resourceDeclarations(text).filter(({ type }) => type === "Microsoft.Authorization/roleAssignments")) {
        const body = valueAfter(text, new RegExp(`resource ${symbol} `));
        expect(body, `${name(file)}: ${symbol}`).toContain("principalType: 'ServicePrincipal'");
        expect(body, `${name(file)}: ${symbol}`).toMatch(/name: guid\(/);
      }
    }
  });

  it("the enforcer custom role has exactly the enforce-mode actions and exists only when enforce is true", () => {
    const text = read("infra/app/rbac/governed-subscription.bicep");
    const actions = stringItems(valueAfter(text, "var enforcerActions ="));
    expect([...actions].sort()).toEqual([...ENFORCER_ACTIONS].sort());
    expect(valueAfter(text, "resource enforcerRole ")).toMatch(/actions: enforcerActions\n\s*notActions: \[\]/);
    expect(text).toMatch(/^resource enforcerRole 'Microsoft\.Authorization\/roleDefinitions@[^']+' = if \(enforce\) \{/m);
    expect(text).toMatch(/^resource enforcerAssignment 'Microsoft\.Authorization\/roleAssignments@[^']+' = if \(enforce\) \{/m);
    expect(valueAfter(text, "resource enforcerAssignment ")).toContain("roleDefinitionId: enforcerRole.id");
    expect(read("infra/main.bicep")).toMatch(/enforce: enforce\n/);
    const definitions = bicepFiles.filter((file) => readFileSync(file, "utf8").includes("'Microsoft.Authorization/roleDefinitions@"));
    expect(definitions.map(name)).toEqual(["infra/app/rbac/governed-subscription.bicep"]);
  });

  it("the Reader assignment is made in every governed subscription", () => {
    const main = read("infra/main.bicep");
    expect(main).toMatch(/module governedAccess 'app\/rbac\/governed-subscription\.bicep' = \[\s*for subscriptionId in governedSubscriptions:/);
    expect(valueAfter(main, "module governedAccess")).toContain("scope: subscription(subscriptionId)");
    expect(read("infra/app/rbac/governed-subscription.bicep")).toMatch(/^targetScope = 'subscription'$/m);
  });
});

describe("infra: the Function App", () => {
  const text = read("infra/app/functionapp.bicep");
  const settings = objectEntries(valueAfter(text, "var appSettings ="));

  it("sets every app setting the config schema reads, except the AzureWebJobsStorage connection string", () => {
    for (const setting of APP_SETTING_NAMES) {
      // AzureWebJobsStorage is a connection string with an account key, for Azurite only; Azure uses
      // the identity-based AzureWebJobsStorage__* settings (the storage account has keys disabled).
      if (setting === "AzureWebJobsStorage") expect(settings.has(setting), setting).toBe(false);
      else expect(settings.has(setting), setting).toBe(true);
    }
  });

  it("connects to storage with the identity, including the blob service the host needs", () => {
    expect(settings.get("AzureWebJobsStorage__credential")).toBe("'managedidentity'");
    expect(settings.get("AzureWebJobsStorage__clientId")).toBe("identityClientId");
    expect(settings.get("AzureWebJobsStorage__blobServiceUri")).toContain("primaryEndpoints.blob");
    expect(settings.get("AzureWebJobsStorage__queueServiceUri")).toContain("primaryEndpoints.queue");
    expect(settings.get("AzureWebJobsStorage__tableServiceUri")).toContain("primaryEndpoints.table");
    for (const file of infraFiles) expect(readFileSync(file, "utf8"), name(file)).not.toMatch(/listKeys\(|AccountKey=/);
  });

  it("reads secrets through Key Vault references only", () => {
    expect(text).toContain("var keyVaultReference = '@Microsoft.KeyVault(SecretUri='");
    for (const secret of ["TEAMS_WEBHOOK_URL", "EVENTGRID_TOPIC_KEY"]) expect(settings.get(secret), secret).toMatch(/'\$\{keyVaultReference\}\$\{\w+SecretUri\}\)'/);
    expect(read("infra/app/keyvault.bicep")).toContain("enableRbacAuthorization: true");
  });

  it("caps the node worker's heap at half the instance's memory, as the benchmark's sweeps run", async () => {
    expect(settings.get("languageWorkers__node__arguments")).toBe("'--max-old-space-size=${instanceMemoryMB / 2}'");
    const { shippedHeapFlags } = await import("../../bench/processes.js");
    const instanceMemoryMB = Number(/^param instanceMemoryMB int = (\d+)$/m.exec(text)?.[1]);
    expect(shippedHeapFlags()).toEqual([`--max-old-space-size=${instanceMemoryMB / 2}`]);
  });

  // Issue 15 changes this assertion: Node 20 reaches end of life, the app deploys on Node 22.
  it("runs on Flex Consumption, Node 22, as its own user-assigned identity", () => {
    expect(valueAfter(text, "resource plan ")).toMatch(/name: 'FC1'\n\s*tier: 'FlexConsumption'/);
    const site = valueAfter(text, "resource functionApp ");
    expect(site).toContain("kind: 'functionapp,linux'");
    expect(site).toMatch(/runtime: \{\n\s*name: 'node'\n\s*version: '22'/);
    expect(site).toMatch(/type: 'UserAssignedIdentity'\n\s*userAssignedIdentityResourceId: identityId/);
    expect(site).toContain("keyVaultReferenceIdentity: identityId");
    // engines admits both the deploy runtime (22) and the one the tests run on here (20), so
    // `npm ci` on Node 20 installs; README and DEPLOY.md name the same versions.
    const engines = (JSON.parse(read("package.json")) as { engines: { node: string } }).engines.node;
    expect(engines).toMatch(/\^20\.\d+\.\d+ \|\| >=22/);
    expect(read("README.md")).toMatch(/Node 22/);
    expect(read("infra/DEPLOY.md")).toMatch(/Node 22/);
    expect(read("infra/DEPLOY.md")).not.toMatch(/Node 20/);
    expect(site).toContain("'azd-service-name': serviceName");
    // The runtime comes from functionAppConfig on Flex Consumption; these settings are rejected there.
    for (const legacy of ["FUNCTIONS_EXTENSION_VERSION", "FUNCTIONS_WORKER_RUNTIME", "WEBSITE_RUN_FROM_PACKAGE"]) expect(settings.has(legacy), legacy).toBe(false);
  });

  it("pre-creates the tables and the cleanup queues, with shared-key access disabled", () => {
    const storage = read("infra/app/storage.bicep");
    expect(storage).toContain("allowSharedKeyAccess: false");
    expect(storage).toContain("allowBlobPublicAccess: false");
    const tables = stringItems(valueAfter(storage, "var tableNames ="));
    for (const table of Object.values(TABLES)) expect(tables, table).toContain(table);
    expect(stringItems(valueAfter(storage, "var queueNames ="))).toEqual(["uamiguard-cleanup", "uamiguard-cleanup-poison"]);
  });
});

describe("infra: Event Grid", () => {
  const text = read("infra/app/eventgrid.bicep");
  const main = read("infra/main.bicep");
  const operationNames = JSON.parse(read("infra/app/event-operations.json")) as string[];
  const guardScopeNames = JSON.parse(read("infra/app/guard-scope-operations.json")) as string[];
  const maxFilterValues = Number(/^var maxFilterValues = (\d+)$/m.exec(text)?.[1]);
  const batchesOf = (names: string[]) => Array.from({ length: Math.ceil(names.length / maxFilterValues) }, (_, batch) => names.slice(batch * maxFilterValues, (batch + 1) * maxFilterValues));

  it("filters on exactly the operationNames the event handlers know; outside governed subscriptions, on the guard's scope operations", () => {
    expect([...operationNames].sort()).toEqual(Object.keys(OPERATIONS).sort());
    expect([...guardScopeNames].sort()).toEqual(Object.entries(OPERATIONS).filter(([, entry]) => entry.kind === "guard-scope-write").map(([name]) => name).sort());
    expect(text).toContain("var operationNames = governed ? loadJsonContent('event-operations.json') : loadJsonContent('guard-scope-operations.json')");
    const filter = valueAfter(valueAfter(text, "resource resourceEvents "), "advancedFilters:");
    expect(filter).toMatch(/operatorType: 'StringIn'\n\s*key: 'data.operationName'\n\s*values: operations\n/);
  });

  it("keeps every event subscription within Event Grid's 25 filter values across all its advanced filters", () => {
    // https://learn.microsoft.com/azure/event-grid/event-filtering#limitations: "25 advanced filters and
    // 25 filter values across all the filters per Event Grid subscription".
    expect(maxFilterValues).toBeGreaterThan(0);
    expect(maxFilterValues).toBeLessThanOrEqual(25);
    expect(text).toContain("take(skip(operationNames, batch * maxFilterValues), maxFilterValues)");
    expect(text).toMatch(/for \(operations, batch\) in operationBatches: if \(subscribeToEvents\)/);
    expect([...valueAfter(valueAfter(text, "resource resourceEvents "), "advancedFilters:").matchAll(/operatorType:/g)]).toHaveLength(1);
    expect(valueAfter(text, "resource guardEvents ")).not.toContain("advancedFilters");
    for (const names of [operationNames, guardScopeNames]) {
      const batches = batchesOf(names);
      for (const batch of batches) expect(batch.length).toBeLessThanOrEqual(25);
      expect(batches.flat()).toEqual(names);
    }
    expect(valueAfter(text, "resource resourceEvents ")).toContain("name: batch == 0 ? 'uami-guard' : 'uami-guard-${batch + 1}'");
  });

  it("subscribes to the subscription's write, delete and action successes", () => {
    expect(stringItems(valueAfter(text, "var includedEventTypes ="))).toEqual([...REQUIRED_EVENT_TYPES]);
    expect(valueAfter(text, "resource resourceEvents ")).toContain("includedEventTypes: includedEventTypes");
    expect(valueAfter(text, "resource guardEvents ")).toContain("includedEventTypes: includedEventTypes");
    const topic = valueAfter(text, "resource systemTopic ");
    expect(topic).toContain("topicType: 'Microsoft.Resources.Subscriptions'");
    expect(topic).toContain("source: subscription().id");
    expect(topic).toContain("location: 'global'");
  });

  it("delivers every operation on the guard's own resource group, by subject, in every subscription with event plumbing", () => {
    const guard = valueAfter(text, "resource guardEvents ");
    expect(text).toMatch(/^resource guardEvents 'Microsoft\.EventGrid\/systemTopics\/eventSubscriptions@2022-06-15' = if \(subscribeToEvents\) \{/m);
    expect(guard).toContain("name: 'uami-guard-self'");
    expect(guard).toContain("subjectBeginsWith: resourceGroup().id");
    expect(guard).toContain("isSubjectCaseSensitive: false");
    expect(guard).toContain("properties: union(delivery, {");
    // The topic lives in the guard's resource group of its subscription, which self.resources names.
    expect(valueAfter(read("infra/app/governed-events.bicep"), "module subscriptionEvents ")).toContain("scope: eventsGroup");
    expect(main).toContain("var selfResources = concat([rg.id], map(governedSubscriptions, subscriptionId => '/subscriptions/${subscriptionId}/resourceGroups/${groupName}'))");
    // ... and the subscription holding the guard has its own plumbing even when it is not governed.
    expect(main).toContain("var eventSubscriptionIds = union(governedSubscriptions, [toLower(subscription().subscriptionId)])");
    expect(main).toMatch(/module governedEvents 'app\/governed-events\.bicep' = \[\s*for subscriptionId in eventSubscriptionIds:/);
    expect(valueAfter(main, "module governedEvents ")).toContain("governed: contains(governedSubscriptions, subscriptionId)");
    expect(valueAfter(main, "module governedEvents ")).toContain("resourceGroupName: groupName");
    expect(valueAfter(read("infra/app/governed-events.bicep"), "module subscriptionEvents ")).toContain("governed: governed");
  });

  it("delivers to the onResourceEvent function, retries, then dead-letters to blob", () => {
    const delivery = valueAfter(text, "var delivery =");
    expect(delivery).toMatch(/endpointType: 'AzureFunction'\n\s*properties: \{\n\s*resourceId: eventFunctionId/);
    expect(delivery).toMatch(/retryPolicy: \{\n\s*maxDeliveryAttempts: maxDeliveryAttempts\n\s*eventTimeToLiveInMinutes: eventTimeToLiveInMinutes/);
    expect(delivery).toMatch(/deadLetterWithResourceIdentity: \{[\s\S]*endpointType: 'StorageBlob'/);
    expect(valueAfter(text, "resource resourceEvents ")).toContain("properties: union(delivery, {");
    expect(read("infra/app/functionapp.bicep")).toContain("output eventFunctionId string = '${functionApp.id}/functions/onResourceEvent'");
    expect(read("functions/index.ts")).toContain('app.eventGrid("onResourceEvent"');
  });

  /** What infra/ declares for one subscription, as ARM's GET would list it once deployed. */
  function declared(governed: boolean, resourceGroupId: string): SubscriptionEventDelivery {
    const topicId = `${resourceGroupId}/providers/Microsoft.EventGrid/systemTopics/evgst-uamiguard-env`;
    const destination = (id: string) => ({ eventSubscriptionId: id, endpointType: "AzureFunction", resourceId: `${DEPLOYED_APP}/functions/onResourceEvent` });
    const types = stringItems(valueAfter(text, "var includedEventTypes ="));
    const batches = batchesOf(governed ? operationNames : guardScopeNames).map((values, batch) => {
      const id = `${topicId}/eventSubscriptions/${batch === 0 ? "uami-guard" : `uami-guard-${batch + 1}`}`;
      return { id, provisioningState: "Succeeded", includedEventTypes: types, advancedFilters: [{ operatorType: "StringIn", key: "data.operationName", values }], destination: destination(id) };
    });
    const selfId = `${topicId}/eventSubscriptions/uami-guard-self`;
    const self = { id: selfId, provisioningState: "Succeeded", includedEventTypes: types, subjectBeginsWith: resourceGroupId, advancedFilters: [], destination: destination(selfId) };
    return { subscriptionId: "s", systemTopics: [{ id: topicId, topicType: "Microsoft.Resources.Subscriptions", provisioningState: "Succeeded", eventSubscriptions: [...batches, self] }] };
  }

  it("is judged to deliver by event-coverage-missing, as deployed in a governed subscription", () => {
    // The Function App id the policy names (main.bicep: resourceId(subscription().subscriptionId, groupName, 'Microsoft.Web/sites', functionAppName)).
    expect(valueAfter(main, "var policy =")).toContain("functionAppId: resourceId(subscription().subscriptionId, groupName, 'Microsoft.Web/sites', functionAppName)");
    const verdict = judgeDelivery(declared(true, GOVERNED_RG), { functionAppId: DEPLOYED_APP, now: new Date(), operations: Object.keys(OPERATIONS) });
    expect(verdict.missing).toEqual([]);
    expect(verdict.delivers).toBe(true);
    expect(verdict.topicsToApp).toHaveLength(1);
  });

  /** Event Grid's routing (Learn "Understand event filtering"): event type, subject prefix, advanced filters, all case-insensitive. */
  function routes(delivery: SubscriptionEventDelivery, event: { eventType: string; subject: string; operationName: string }): string[] {
    return delivery.systemTopics[0]!.eventSubscriptions
      .filter((subscription) => !subscription.includedEventTypes || subscription.includedEventTypes.some((type) => type.toLowerCase() === event.eventType.toLowerCase()))
      .filter((subscription) => !subscription.subjectBeginsWith || event.subject.toLowerCase().startsWith(subscription.subjectBeginsWith.toLowerCase()))
      .filter((subscription) => subscription.advancedFilters.every((filter) => (filter.values as string[]).some((value) => value.toLowerCase() === event.operationName.toLowerCase())))
      .map((subscription) => subscription.id.split("/").pop() ?? "");
  }

  const tampering = (rg: string, subscription: string): Array<[string, string, string]> => [
    ["Microsoft.Resources.ResourceDeleteSuccess", "Microsoft.EventGrid/systemTopics/eventSubscriptions/delete", `${rg}/providers/Microsoft.EventGrid/systemTopics/evgst-uamiguard-env/eventSubscriptions/uami-guard`],
    ["Microsoft.Resources.ResourceActionSuccess", "Microsoft.Web/sites/stop/action", `${rg}/providers/Microsoft.Web/sites/func-uamiguard-x`],
    ["Microsoft.Resources.ResourceDeleteSuccess", "Microsoft.Storage/storageAccounts/tableServices/tables/delete", `${rg}/providers/Microsoft.Storage/storageAccounts/st/tableServices/default/tables/uamiguardfindings`],
    ["Microsoft.Resources.ResourceDeleteSuccess", "Microsoft.Storage/storageAccounts/queueServices/queues/delete", `${rg}/providers/Microsoft.Storage/storageAccounts/st/queueServices/default/queues/uamiguard-cleanup`],
    ["Microsoft.Resources.ResourceDeleteSuccess", "Microsoft.Storage/storageAccounts/blobServices/containers/delete", `${rg}/providers/Microsoft.Storage/storageAccounts/st/blobServices/default/containers/app-package`],
    ["Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Authorization/locks/write", `${rg}/providers/Microsoft.Authorization/locks/readonly`],
    ["Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Authorization/locks/write", `${subscription}/providers/Microsoft.Authorization/locks/readonly`],
    ["Microsoft.Resources.ResourceDeleteSuccess", "Microsoft.Web/serverfarms/delete", `${rg}/providers/Microsoft.Web/serverfarms/plan-x`],
    ["Microsoft.Resources.ResourceDeleteSuccess", "Microsoft.Web/sites/functions/delete", `${rg}/providers/Microsoft.Web/sites/func-uamiguard-x/functions/onResourceEvent`],
    ["Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Authorization/policyAssignments/write", `${subscription}/providers/Microsoft.Authorization/policyAssignments/deny`],
    ["Microsoft.Resources.ResourceDeleteSuccess", "Microsoft.Insights/components/delete", `${rg}/providers/Microsoft.Insights/components/appi-x`],
    ["Microsoft.Resources.ResourceDeleteSuccess", "Microsoft.Web/sites/config/delete", `${rg}/providers/Microsoft.Web/sites/func-uamiguard-x/config/appsettings`],
    ["Microsoft.Resources.ResourceActionSuccess", "Microsoft.Web/sites/host/listkeys/action", `${rg}/providers/Microsoft.Web/sites/func-uamiguard-x/host/default`],
    ["Microsoft.Resources.ResourceDeleteSuccess", "Microsoft.Resources/subscriptions/resourceGroups/delete", rg],
  ];

  it.each([
    ["a governed subscription", true, GOVERNED_RG, "/subscriptions/11111111-1111-1111-1111-111111111111"],
    ["the guard's own subscription when it is not governed", false, HOME_RG, "/subscriptions/00000000-0000-0000-0000-00000000000a"],
  ] as const)("routes each way to switch the guard off to the app: %s", (_name, governed, rg, subscription) => {
    const delivery = declared(governed, rg);
    for (const [eventType, operationName, subject] of tampering(rg, subscription)) {
      expect(routes(delivery, { eventType, subject, operationName }), `${operationName} on ${subject}`).not.toEqual([]);
    }
    // Elsewhere in a governed subscription the operation filter decides; outside governance, nothing else arrives.
    const vmWrite = { eventType: "Microsoft.Resources.ResourceWriteSuccess", operationName: "Microsoft.Compute/virtualMachines/write", subject: `${subscription}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm1` };
    expect(routes(delivery, vmWrite).length > 0).toBe(governed);
    expect(routes(delivery, { ...vmWrite, operationName: "Microsoft.Network/virtualNetworks/write" })).toEqual([]);
  });
});

describe("infra: operating the guard (workbook and alerts over the uamiguard.* metrics)", () => {
  const operations = read("infra/app/operations.bicep");
  const main = read("infra/main.bicep");
  const workbook = JSON.parse(read("infra/app/operations-workbook.json")) as { version: string; items: { content: { query?: string; visualization?: string; resourceType?: string } }[] };
  const queries = workbook.items.map((item) => item.content.query ?? "").filter((query) => query !== "");
  const METRICS = ["uamiguard.events", "uamiguard.findings", "uamiguard.sweep.duration", "uamiguard.incomplete", "uamiguard.actions", "uamiguard.outbox.pending", "uamiguard.breaker.trips"];

  it("is deployed on the app's Application Insights component", () => {
    expect(valueAfter(main, "module operations ")).toContain("applicationInsightsName: monitoring.outputs.applicationInsightsName");
    const resource = valueAfter(operations, "resource operationsWorkbook ");
    expect(resource).toContain("sourceId: applicationInsights.id");
    expect(resource).toContain("loadTextContent('operations-workbook.json')");
    expect(workbook.version).toBe("Notebook/1.0");
    for (const item of workbook.items.filter((entry) => entry.content.query)) expect(item.content.resourceType).toBe("microsoft.insights/components");
  });

  it.each([
    ["events by status", "uamiguard.events", "Status"],
    ["sweep duration", "uamiguard.sweep.duration", "Average"],
    ["incomplete checks", "uamiguard.incomplete", "Check"],
    ["outbox backlog", "uamiguard.outbox.pending", "Sink"],
    ["actions by status", "uamiguard.actions", "Status"],
    ["breaker trips", "uamiguard.breaker.trips", "Trips"],
  ])("charts %s", (_name, metric, column) => {
    const chart = workbook.items.find((item) => (item.content.query ?? "").includes(`name == "${metric}"`));
    expect(chart?.content.visualization, metric).toMatch(/timechart|barchart/);
    expect(chart?.content.query).toContain("bin(timestamp, {TimeRange:grain})");
    expect(chart?.content.query).toContain(column);
  });

  it("names only metrics the app sends, with the attributes it sends", () => {
    const text = [...queries, operations].join("\n");
    for (const name of text.matchAll(/name == "(uamiguard\.[a-z.]+)"/g)) expect(METRICS, name[1]).toContain(name[1]);
    for (const attribute of text.matchAll(/customDimensions\.([a-zA-Z]+)/g)) expect(["status", "ruleId", "severity", "mode", "check", "action", "sink"], attribute[1]).toContain(attribute[1]);
    const adapter = read("shared/azure/telemetry.ts");
    for (const name of METRICS) expect(adapter, name).toContain(`"${name}"`);
  });

  it("alerts on no sweep in twice the schedule, failed events, an outbox backlog older than an hour, a breaker trip, and the guard's own findings", () => {
    expect(operations).toMatch(/resource alerts 'Microsoft\.Insights\/scheduledQueryRules@2023-03-15-preview' = \[\n\s*for rule in alertRules:/);
    const rules = valueAfter(operations, "var alertRules =");
    const keys = [...rules.matchAll(/key: '([a-z-]+)'/g)].map((match) => match[1]);
    expect(keys).toEqual(["no-sweep", "failed-events", "outbox-backlog", "breaker-trip", "guard-findings"]);
    expect(rules).toContain('where RuleId in ("event-coverage-missing", "event-delivery-failing", "governance-tampering")');
    for (const ruleId of ["event-coverage-missing", "event-delivery-failing", "governance-tampering"]) expect(ruleIds).toContain(ruleId);
    expect(operations).toContain("var sweepWindowMinutes = min(2 * sweepIntervalMinutes, 2880)");
    expect(rules).toContain("windowSize: 'PT${sweepWindowMinutes}M'");
    expect(rules).toMatch(/name == "uamiguard\.sweep\.duration"[\s\S]*where Sweeps == 0 or isnull\(Sweeps\)/);
    expect(rules).toContain('tostring(customDimensions.status) == "failed"');
    expect(rules).toContain("FirstPending < ago(1h)");
    expect(rules).toContain('name == "uamiguard.breaker.trips"');
    const resource = valueAfter(operations, "resource alerts ");
    expect(resource).toContain("scopes: [applicationInsights.id]");
    expect(resource).toContain("actionGroups: empty(alertActionGroupId) ? [] : [alertActionGroupId]");
  });

  it("charts the guard's coverage, delivery and tampering findings, and Event Grid's delivery metrics of its system topics", () => {
    const findings = workbook.items.find((item) => (item.content.query ?? "").includes("event-delivery-failing"));
    expect(findings?.content.visualization).toBe("timechart");
    for (const ruleId of ["event-coverage-missing", "event-delivery-failing", "governance-tampering"]) expect(findings?.content.query).toContain(`"${ruleId}"`);
    const raw = JSON.parse(read("infra/app/operations-workbook.json")) as { items: Array<{ type: number; content: { resourceType?: string; resourceIds?: string[]; metrics?: Array<{ namespace: string; metric: string; aggregation: number }> } }> };
    const chart = raw.items.find((item) => item.type === 10);
    expect(chart?.content.resourceType).toBe("microsoft.eventgrid/systemtopics");
    expect(chart?.content.resourceIds).toEqual(["__SYSTEM_TOPIC_IDS__"]);
    // Workbook metric aggregation 1 is Sum (the metrics' Total).
    expect(chart?.content.metrics?.map((metric) => [metric.metric, metric.aggregation])).toEqual(DELIVERY_METRIC_NAMES.map((name) => [`microsoft.eventgrid/systemtopics--${name}`, 1]));
    expect(valueAfter(operations, "resource operationsWorkbook ")).toContain("'[\"__SYSTEM_TOPIC_IDS__\"]', string(systemTopicIds)");
    expect(valueAfter(main, "module operations ")).toContain("systemTopicIds: [for (subscriptionId, index) in eventSubscriptionIds: governedEvents[index].outputs.systemTopicId]");
  });

  it("alerts on each system topic's dropped, dead-lettered and failed deliveries", () => {
    const eventgrid = read("infra/app/eventgrid.bicep");
    expect(stringItems(valueAfter(eventgrid, "var deliveryMetrics =").replace(/\{ name: '(\w+)'.*\}/g, "'$1'"))).toEqual([...DELIVERY_METRIC_NAMES]);
    const alerts = valueAfter(eventgrid, "resource deliveryAlerts ");
    expect(eventgrid).toMatch(/resource deliveryAlerts 'Microsoft\.Insights\/metricAlerts@2018-03-01' = \[\n\s*for metric in deliveryMetrics:/);
    expect(alerts).toContain("scopes: [systemTopic.id]");
    expect(alerts).toContain("location: 'global'");
    expect(alerts).toMatch(/metricName: metric\.name\n\s*operator: 'GreaterThan'\n\s*threshold: 0\n\s*timeAggregation: 'Total'/);
    expect(alerts).toContain("actions: empty(alertActionGroupId) ? [] : [{ actionGroupId: alertActionGroupId }]");
    expect(valueAfter(main, "module governedEvents ")).toContain("alertActionGroupId: alertActionGroupId");
  });

  it("the default sweep interval matches the default schedule (every 6 hours)", () => {
    expect(main).toContain("param sweepSchedule string = '0 0 */6 * * *'");
    expect(main).toContain("param sweepIntervalMinutes int = 360");
    expect(valueAfter(main, "module operations ")).toContain("sweepIntervalMinutes: sweepIntervalMinutes");
  });
});

describe("infra: Logs Ingestion and Sentinel", () => {
  const dcr = read("infra/app/dcr.bicep");
  const sentinel = read("infra/app/sentinel.bicep");
  const columns = new Map([...valueAfter(dcr, "var findingColumns =").matchAll(/\{ name: '(\w+)', type: '(\w+)'/g)].map((match) => [match[1] ?? "", match[2] ?? ""]));

  it("defines UamiGuardFindings_CL with the documented schema", () => {
    expect(Object.fromEntries(columns)).toEqual(FINDINGS_COLUMNS);
    expect(dcr).toContain("var tableName = 'UamiGuardFindings_CL'");
    expect(valueAfter(dcr, "resource findingsTable ")).toContain("columns: findingColumns");
  });

  it("ingests through a Direct DCR on the stream the app uploads to", () => {
    const rule = valueAfter(dcr, "resource dataCollectionRule ");
    expect(rule).toContain("kind: 'Direct'");
    expect(rule).toContain("transformKql: 'source'");
    expect(rule).toContain("outputStream: 'Custom-${findingsTable.name}'");
    expect(rule).toContain("columns: map(findingColumns,");
    const stream = /^param streamName string = '([^']+)'$/m.exec(dcr)?.[1];
    expect(stream).toBe(readAppSettings({}).LOGS_INGESTION_STREAM);
  });

  it("ships at least three scheduled analytics rules over the findings table", () => {
    expect(sentinel).toMatch(/resource rules 'Microsoft\.SecurityInsights\/alertRules@2023-02-01' = \[/);
    expect(valueAfter(sentinel, "resource rules ")).toContain("kind: 'Scheduled'");
    const queries = [...sentinel.matchAll(/query: '''([\s\S]*?)'''/g)].map((match) => (match[1] ?? "").trim());
    expect(queries.length).toBeGreaterThanOrEqual(3);
    for (const query of queries) {
      expect(query.startsWith("UamiGuardFindings_CL\n"), query).toBe(true);
      for (const column of (/\| project (.*)$/m.exec(query)?.[1] ?? "").split(",").map((part) => part.trim())) expect(columns.has(column), column).toBe(true);
    }
    expect(queries.some((query) => query.includes('Severity =~ "critical"'))).toBe(true);
    expect(queries.some((query) => query.includes('RuleId == "attachment-outside-pipeline"'))).toBe(true);
    expect(queries.some((query) => query.includes('RuleId == "cleanup-circuit-breaker"'))).toBe(true);
    for (const ruleId of sentinel.matchAll(/"([a-z]+(?:-[a-z]+)+)"/g)) {
      if (ruleId[1] !== "cleanup-circuit-breaker") expect(ruleIds, ruleId[1]).toContain(ruleId[1]);
    }
  });

  it("onboards Sentinel only when asked", () => {
    expect(sentinel).toMatch(/resource onboarding 'Microsoft\.SecurityInsights\/onboardingStates@[^']+' = if \(enableSentinel\)/);
    expect(sentinel).toMatch(/for rule in analyticsRules: if \(enableSentinel\)/);
  });

  it("ships a workbook charting findings over time by rule, severity and subscription", () => {
    expect(sentinel).toContain("loadTextContent('sentinel-workbook.json')");
    const workbook = JSON.parse(read("infra/app/sentinel-workbook.json")) as { version: string; items: { content: { query?: string; visualization?: string } }[] };
    expect(workbook.version).toBe("Notebook/1.0");
    const charts = workbook.items.filter((item) => item.content.visualization === "timechart").map((item) => item.content.query ?? "");
    for (const dimension of ["RuleId", "Severity", "SubscriptionId"]) {
      expect(charts.some((query) => query.startsWith("UamiGuardFindings_CL") && query.includes(`bin(TimeGenerated, {TimeRange:grain}), ${dimension}`)), dimension).toBe(true);
    }
  });
});

describe("the enforcer role and the operation table agree (issue #14)", () => {
  const text = read("infra/app/rbac/governed-subscription.bicep");
  const granted = new Set(stringItems(valueAfter(text, "var enforcerActions =")).map((action) => action.toLowerCase()));

  it("grants <type>/read and <type>/write for every type the operation table offers to detach from", () => {
    const targets = detachTargetTypes();
    expect(targets.length).toBeGreaterThan(0);
    for (const type of targets) {
      expect(granted.has(`${type}/write`.toLowerCase()), `${type}/write`).toBe(true);
      expect(granted.has(`${type}/read`.toLowerCase()), `${type}/read`).toBe(true);
    }
  });

  it("offers a detach for every attachment type the role can write, and for no other", () => {
    for (const [operation, entry] of Object.entries(OPERATIONS)) {
      if (entry.kind !== "attachment-write") continue;
      const writable = granted.has(operation.toLowerCase());
      expect(detachApiVersionForType(operation.slice(0, -"/write".length)) !== undefined, operation).toBe(writable);
    }
  });
});

describe("Sentinel analytics rules see late and retried rows (issue #14)", () => {
  const sentinel = read("infra/app/sentinel.bicep");
  it("window by ingestion time, with a lookback that covers the outbox's retry delay (the next 6-hourly sweep)", () => {
    const queries = [...sentinel.matchAll(/query: '''([\s\S]*?)'''/g)].map((match) => (match[1] ?? "").trim());
    expect(queries.length).toBeGreaterThanOrEqual(3);
    for (const query of queries) expect(query.split("\n")[1], query).toBe("| where ingestion_time() > ago(5m)");
    const rules = valueAfter(sentinel, "resource rules ");
    expect(rules).toContain("queryFrequency: 'PT5M'");
    const period = /queryPeriod: 'PT(\d+)H'/.exec(rules)?.[1];
    expect(Number(period)).toBeGreaterThanOrEqual(6 + 1);
    expect(read("infra/main.bicep")).toContain("param sweepSchedule string = '0 0 */6 * * *'");
  });
});
