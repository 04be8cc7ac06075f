import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadPolicy } from "../../shared/config/policy.js";
import { APP_SETTING_NAMES, readAppSettings } from "../../shared/config/settings.js";
import { TABLES } from "../../shared/composition.js";
import { OPERATIONS, detachApiVersionForType, detachTargetTypes } from "../../shared/events/operations.js";
import { ruleIds } from "../../shared/rules/index.js";

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
      else if (char === "{") (depth++, i++);
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
};

describe("infra: files and parameters", () => {
  it("azure.yaml deploys this project as the api function service (TypeScript)", () => {
    const yaml = read("azure.yaml");
    expect(yaml).toMatch(/^name: uami-guard$/m);
    const api = /^services:\n  api:\n((?: {4}.*\n)+)/m.exec(yaml)?.[1] ?? "";
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
      self: { objectId: "00000000-0000-0000-0000-000000000001", appId: "00000000-0000-0000-0000-000000000002", functionAppId: `${rg}/providers/Microsoft.Web/sites/func-uamiguard-x`, resources: [rg] },
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
  const operationNames = JSON.parse(read("infra/app/event-operations.json")) as string[];

  it("filters on exactly the operationNames the event handlers know", () => {
    expect([...operationNames].sort()).toEqual(Object.keys(OPERATIONS).sort());
    expect(text).toContain("var operationNames = loadJsonContent('event-operations.json')");
    const filter = valueAfter(text, "advancedFilters:");
    expect(filter).toMatch(/operatorType: 'StringIn'\n\s*key: 'data.operationName'\n\s*values: operations\n/);
  });

  it("keeps every StringIn filter within Event Grid's 25 values", () => {
    const size = Number(/^var maxFilterValues = (\d+)$/m.exec(text)?.[1]);
    expect(size).toBeGreaterThan(0);
    expect(size).toBeLessThanOrEqual(25);
    expect(text).toContain("take(skip(operationNames, batch * maxFilterValues), maxFilterValues)");
    expect(text).toMatch(/for \(operations, batch\) in operationBatches: if \(subscribeToEvents\)/);
    // What the template computes, for today's list.
    const batches = Array.from({ length: Math.ceil(operationNames.length / size) }, (_, batch) => operationNames.slice(batch * size, (batch + 1) * size));
    for (const batch of batches) expect(batch.length).toBeLessThanOrEqual(25);
    expect(batches.flat()).toEqual(operationNames);
  });

  it("keeps each event subscription within Event Grid's 25 filter values across all its advanced filters", () => {
    // https://learn.microsoft.com/azure/event-grid/event-filtering#limitations: "25 advanced filters and
    // 25 filter values across all the filters per Event Grid subscription".
    const filters = valueAfter(text, "advancedFilters:");
    expect([...filters.matchAll(/operatorType:/g)]).toHaveLength(1);
    const size = Number(/^var maxFilterValues = (\d+)$/m.exec(text)?.[1]);
    const subscriptions = Math.ceil(operationNames.length / size);
    const perSubscription = Array.from({ length: subscriptions }, (_, batch) => operationNames.slice(batch * size, (batch + 1) * size).length);
    for (const count of perSubscription) expect(count).toBeLessThanOrEqual(25);
    expect(perSubscription.reduce((sum, count) => sum + count, 0)).toBe(operationNames.length);
    expect(valueAfter(text, "resource resourceEvents ")).toContain("name: batch == 0 ? 'uami-guard' : 'uami-guard-${batch + 1}'");
  });

  it("delivers the operations governance-tampering watches", () => {
    for (const operation of [
      "Microsoft.Authorization/roleAssignments/delete",
      "Microsoft.EventGrid/systemTopics/eventSubscriptions/delete",
      "Microsoft.EventGrid/systemTopics/delete",
      "Microsoft.Web/sites/stop/action",
      "Microsoft.Web/sites/delete",
      "Microsoft.Web/sites/config/write",
    ]) {
      expect(operationNames, operation).toContain(operation);
    }
  });

  it("subscribes to the subscription's write, delete and action successes", () => {
    expect(stringItems(valueAfter(text, "includedEventTypes:"))).toEqual([
      "Microsoft.Resources.ResourceWriteSuccess",
      "Microsoft.Resources.ResourceDeleteSuccess",
      "Microsoft.Resources.ResourceActionSuccess",
    ]);
    const topic = valueAfter(text, "resource systemTopic ");
    expect(topic).toContain("topicType: 'Microsoft.Resources.Subscriptions'");
    expect(topic).toContain("source: subscription().id");
    expect(topic).toContain("location: 'global'");
  });

  it("delivers to the onResourceEvent function, retries, then dead-letters to blob", () => {
    const subscription = valueAfter(text, "resource resourceEvents ");
    expect(subscription).toMatch(/endpointType: 'AzureFunction'\n\s*properties: \{\n\s*resourceId: eventFunctionId/);
    expect(subscription).toMatch(/retryPolicy: \{\n\s*maxDeliveryAttempts: maxDeliveryAttempts\n\s*eventTimeToLiveInMinutes: eventTimeToLiveInMinutes/);
    expect(subscription).toMatch(/deadLetterWithResourceIdentity: \{[\s\S]*endpointType: 'StorageBlob'/);
    expect(read("infra/app/functionapp.bicep")).toContain("output eventFunctionId string = '${functionApp.id}/functions/onResourceEvent'");
    expect(read("functions/onResourceEvent.ts")).toContain('app.eventGrid("onResourceEvent"');
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

  it("alerts on no sweep in twice the schedule, failed events, an outbox backlog older than an hour, and a breaker trip", () => {
    expect(operations).toMatch(/resource alerts 'Microsoft\.Insights\/scheduledQueryRules@2023-03-15-preview' = \[\n\s*for rule in alertRules:/);
    const rules = valueAfter(operations, "var alertRules =");
    const keys = [...rules.matchAll(/key: '([a-z-]+)'/g)].map((match) => match[1]);
    expect(keys).toEqual(["no-sweep", "failed-events", "outbox-backlog", "breaker-trip"]);
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
