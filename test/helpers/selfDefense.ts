import { OPERATIONS } from "../../shared/events/operations.js";
import { parseEstate, type Estate } from "../../local/emulator/estate.js";

/**
 * An estate with the guard deployed in subscription S1 (its resource group, identity, roles, custom enforcer role,
 * a system topic delivering everything to onResourceEvent, and delivery metrics), and one subscription per way to
 * neutralise an event subscription. With the policy, callers and events the self-defense tests replay.
 */
export const TENANT = "22222222-2222-2222-2222-222222222222";
export const S1 = "11111111-1111-1111-1111-111111111111";
export const GUARD_RG = `/subscriptions/${S1}/resourceGroups/rg-guard`;
export const APP = `${GUARD_RG}/providers/Microsoft.Web/sites/func-uamiguard-x`;
export const STORAGE = `${GUARD_RG}/providers/Microsoft.Storage/storageAccounts/stuamiguardx`;
export const TOPIC = `${GUARD_RG}/providers/Microsoft.EventGrid/systemTopics/evgst-uamiguard-prod`;
export const SELF_OBJECT = "eeeeeeee-0000-0000-0000-0000000000ee";
export const SELF_APP = "eeeeeeee-0000-0000-0000-0000000000cc";
export const PIPELINE_APP = "99999999-0000-4000-8000-000000000042";
export const DEPLOYER_APP = "abababab-0000-4000-8000-000000000001";
export const ENFORCER_ROLE = `/subscriptions/${S1}/providers/Microsoft.Authorization/roleDefinitions/7b1c0000-0000-4000-8000-00000000e0f0`;
export const SELF_READER = `/subscriptions/${S1}/providers/Microsoft.Authorization/roleAssignments/5e1f0000-0000-0000-0000-000000000001`;
const IDENTITY = `${GUARD_RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-uamiguard-01`;
const TYPES = ["Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Resources.ResourceDeleteSuccess", "Microsoft.Resources.ResourceActionSuccess"];

const resource = (id: string, type: string, extra: Record<string, unknown> = {}) => ({ id, name: id.split("/").pop() ?? id, type, location: "uksouth", tags: { owner: "platform-security", environment: "prod" }, ...extra });
const topic = (subscription: string, properties: Record<string, unknown> = {}) => resource(`/subscriptions/${subscription}/resourceGroups/rg-guard/providers/Microsoft.EventGrid/systemTopics/evgst-uamiguard-prod`, "Microsoft.EventGrid/systemTopics", {
  location: "global",
  properties: { source: `/subscriptions/${subscription}`, topicType: "Microsoft.Resources.Subscriptions", ...properties },
});
const toApp = { endpointType: "AzureFunction", properties: { resourceId: `${APP}/functions/onResourceEvent`, maxEventsPerBatch: 1 } };

/**
 * Each way to keep an event subscription while it delivers nothing, and the reason event-coverage-missing must give.
 * `topic`: properties of its system topic (null: the subscription has none); `metrics`: whether the topic still
 * counts as one that delivers to the app, whose delivery metrics the sweep reads (a provisioned subscription topic
 * with an event subscription to the app's function).
 */
export const NEUTRALISED: Array<{ subscription: string; name: string; properties: Record<string, unknown>; reason: RegExp; topic?: Record<string, unknown> | null; metrics?: false }> = [
  { subscription: "20000000-0000-0000-0000-000000000001", name: "expired", properties: { expirationTimeUtc: "2026-01-01T00:00:00Z", destination: toApp }, reason: /expired at 2026-01-01T00:00:00Z/ },
  { subscription: "20000000-0000-0000-0000-000000000002", name: "failed", properties: { provisioningState: "Failed", destination: toApp }, reason: /provisioningState is Failed/ },
  { subscription: "20000000-0000-0000-0000-000000000003", name: "actions-only", properties: { filter: { includedEventTypes: ["Microsoft.Resources.ResourceActionSuccess"] }, destination: toApp }, reason: /includedEventTypes lacks Microsoft\.Resources\.ResourceWriteSuccess/ },
  { subscription: "20000000-0000-0000-0000-000000000004", name: "subject-prefix", properties: { filter: { includedEventTypes: TYPES, subjectBeginsWith: "/never/occurs" }, destination: toApp }, reason: /subjectBeginsWith "\/never\/occurs"/ },
  {
    subscription: "20000000-0000-0000-0000-000000000005",
    name: "filter-nothing",
    properties: { filter: { includedEventTypes: TYPES, advancedFilters: [{ operatorType: "StringIn", key: "data.operationName", values: ["Microsoft.Nothing/never/write"] }] }, destination: toApp },
    reason: new RegExp(`filter drops ${Object.keys(OPERATIONS).length} of ${Object.keys(OPERATIONS).length} watched operations`),
  },
  { subscription: "20000000-0000-0000-0000-000000000006", name: "no-such-function", properties: { destination: { endpointType: "AzureFunction", properties: { resourceId: `${APP}/functions/doesNotExist` } } }, reason: /delivers to the function .*doesNotExist/, metrics: false },
  { subscription: "20000000-0000-0000-0000-000000000007", name: "blackhole", properties: { destination: { endpointType: "WebHook", properties: { endpointUrl: "https://func-uamiguard-x.azurewebsites.net/api/blackhole?code=k" } } }, reason: /not the app's Event Grid endpoint/, metrics: false },
  { subscription: "20000000-0000-0000-0000-000000000008", name: "other-function", properties: { destination: { endpointType: "WebHook", properties: { endpointUrl: "https://func-uamiguard-x.azurewebsites.net/runtime/webhooks/eventgrid?functionName=sink&code=k" } } }, reason: /for the function "sink", not onResourceEvent/, metrics: false },
  { subscription: "20000000-0000-0000-0000-000000000009", name: "subject-suffix", properties: { filter: { includedEventTypes: TYPES, subjectEndsWith: ".txt" }, destination: toApp }, reason: /subjectEndsWith "\.txt"/ },
  {
    subscription: "20000000-0000-0000-0000-00000000000a",
    name: "other-filter-key",
    properties: { filter: { includedEventTypes: TYPES, advancedFilters: [{ operatorType: "StringIn", key: "data.status", values: ["Failed"] }] }, destination: toApp },
    reason: /advanced filter on data\.status \(StringIn\) is not one uami-guard's infra deploys/,
  },
  { subscription: "20000000-0000-0000-0000-00000000000b", name: "topic-failed", properties: { filter: { includedEventTypes: TYPES }, destination: toApp }, topic: { provisioningState: "Failed" }, reason: /its system topic's provisioningState is Failed/, metrics: false },
  { subscription: "20000000-0000-0000-0000-00000000000c", name: "resource-group-topic", properties: { filter: { includedEventTypes: TYPES }, destination: toApp }, topic: { topicType: "Microsoft.Resources.ResourceGroups", source: "/subscriptions/20000000-0000-0000-0000-00000000000c/resourceGroups/rg-guard" }, reason: /has no Microsoft\.Resources\.Subscriptions system topic/, metrics: false },
  { subscription: "20000000-0000-0000-0000-00000000000d", name: "no-topic", properties: {}, topic: null, reason: /has no Microsoft\.Resources\.Subscriptions system topic/, metrics: false },
];

/** Event subscriptions that do deliver, spelled otherwise than infra spells them: no finding. */
export const COVERED: Array<{ subscription: string; name: string; properties: Record<string, unknown> }> = [
  { subscription: "30000000-0000-0000-0000-000000000001", name: "webhook", properties: { filter: { includedEventTypes: TYPES }, destination: { endpointType: "WebHook", properties: { endpointUrl: "https://func-uamiguard-x.azurewebsites.net/runtime/webhooks/eventgrid?functionName=onResourceEvent&code=k" } } } },
  { subscription: "30000000-0000-0000-0000-000000000002", name: "upper-case", properties: { destination: { endpointType: "AzureFunction", properties: { resourceId: `${APP.toUpperCase()}/FUNCTIONS/ONRESOURCEEVENT` } } } },
];

export function selfDefenseEstate(overrides: Partial<Estate> = {}): Estate {
  const resources = [
    resource(IDENTITY, "Microsoft.ManagedIdentity/userAssignedIdentities", { properties: { principalId: SELF_OBJECT, clientId: SELF_APP, tenantId: TENANT } }),
    resource(APP, "Microsoft.Web/sites", { kind: "functionapp,linux", identity: { type: "UserAssigned", userAssignedIdentities: { [IDENTITY]: {} } } }),
    resource(`${GUARD_RG}/providers/Microsoft.Web/serverfarms/plan-uamiguard`, "Microsoft.Web/serverfarms"),
    resource(STORAGE, "Microsoft.Storage/storageAccounts"),
    resource(`${GUARD_RG}/providers/Microsoft.Insights/components/appi-uamiguard`, "Microsoft.Insights/components"),
    topic(S1),
    resource(`${TOPIC}/eventSubscriptions/uami-guard`, "Microsoft.EventGrid/systemTopics/eventSubscriptions", { properties: { filter: { includedEventTypes: TYPES }, destination: toApp } }),
    ...[...NEUTRALISED, ...COVERED].flatMap((entry: { subscription: string; name: string; properties: Record<string, unknown>; topic?: Record<string, unknown> | null }) =>
      entry.topic === null
        ? []
        : [
            topic(entry.subscription, entry.topic),
            resource(`/subscriptions/${entry.subscription}/resourceGroups/rg-guard/providers/Microsoft.EventGrid/systemTopics/evgst-uamiguard-prod/eventSubscriptions/${entry.name}`, "Microsoft.EventGrid/systemTopics/eventSubscriptions", { properties: entry.properties }),
          ],
    ),
  ];
  return parseEstate(
    {
      tenantId: TENANT,
      subscriptions: [{ subscriptionId: S1, displayName: "guard", managementGroupAncestorsChain: [{ name: "mg-corp", displayName: "Corp" }, { name: TENANT, displayName: "Tenant Root Group" }] }, ...[...NEUTRALISED, ...COVERED].map((entry) => ({ subscriptionId: entry.subscription, displayName: entry.name }))],
      resources,
      directory: [{ id: SELF_OBJECT, "@odata.type": "#microsoft.graph.servicePrincipal", displayName: "id-uamiguard-01", servicePrincipalType: "ManagedIdentity", appId: SELF_APP }],
      roleDefinitions: [
        {
          id: ENFORCER_ROLE,
          name: ENFORCER_ROLE.split("/").pop(),
          properties: { roleName: "uami-guard enforcer (prod)", type: "CustomRole", permissions: [{ actions: ["Microsoft.Authorization/roleAssignments/delete"], notActions: [] }], assignableScopes: [`/subscriptions/${S1}`] },
        },
      ],
      roleAssignments: [
        assignment(SELF_READER, "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"),
        assignment(`/subscriptions/${S1}/providers/Microsoft.Authorization/roleAssignments/5e1f0000-0000-0000-0000-000000000002`, ENFORCER_ROLE),
      ],
      metrics: { [TOPIC]: { DroppedEventCount: 5, DeadLetteredCount: 2, DeliveryAttemptFailCount: 40 } },
      ...overrides,
    },
    "self-defense estate",
  );
}

function assignment(id: string, roleDefinitionId: string) {
  return {
    id,
    name: id.split("/").pop(),
    type: "Microsoft.Authorization/roleAssignments",
    properties: { scope: `/subscriptions/${S1}`, roleDefinitionId: roleDefinitionId.startsWith("/subscriptions/") ? roleDefinitionId : `/subscriptions/${S1}${roleDefinitionId}`, principalId: SELF_OBJECT, principalType: "ServicePrincipal", createdOn: "2026-01-01T00:00:00Z" },
  };
}

/** The guard's policy as infra deploys it, with an app team's pipeline approved for the whole subscription. */
export function selfDefensePolicy(): Record<string, unknown> {
  return {
    approvedPipelines: [{ name: "app-team", appId: PIPELINE_APP, scopes: [`/subscriptions/${S1}`] }],
    self: {
      objectId: SELF_OBJECT,
      appId: SELF_APP,
      functionAppId: APP,
      resources: [GUARD_RG, ...[...NEUTRALISED, ...COVERED].map((entry) => `/subscriptions/${entry.subscription}/resourceGroups/rg-guard`)],
      deployers: [{ name: "guard-deploy", appId: DEPLOYER_APP }],
    },
  };
}

export const CALLERS = {
  pipeline: { appid: PIPELINE_APP, "http://schemas.microsoft.com/identity/claims/objectidentifier": "ffffffff-0000-0000-0000-0000000000dd", idtyp: "app" },
  user: {
    appid: "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
    "http://schemas.microsoft.com/identity/claims/objectidentifier": "dddddddd-0000-0000-0000-0000000000bb",
    "http://schemas.microsoft.com/identity/claims/scope": "user_impersonation",
  },
  deployer: { appid: DEPLOYER_APP, "http://schemas.microsoft.com/identity/claims/objectidentifier": "12121212-0000-4000-8000-000000000003", idtyp: "app" },
  self: { appid: SELF_APP, "http://schemas.microsoft.com/identity/claims/objectidentifier": SELF_OBJECT, idtyp: "app" },
} as const;

const EVENT_TYPE = { write: "Microsoft.Resources.ResourceWriteSuccess", delete: "Microsoft.Resources.ResourceDeleteSuccess", action: "Microsoft.Resources.ResourceActionSuccess" } as const;

/** The ways to switch the guard off, as Event Grid reports them. */
export const TAMPERING: Array<[keyof typeof EVENT_TYPE, string, string]> = [
  ["delete", "Microsoft.EventGrid/systemTopics/eventSubscriptions/delete", `${TOPIC}/eventSubscriptions/uami-guard`],
  ["action", "Microsoft.Web/sites/stop/action", APP],
  ["delete", "Microsoft.Storage/storageAccounts/tableServices/tables/delete", `${STORAGE}/tableServices/default/tables/uamiguardfindings`],
  ["delete", "Microsoft.Storage/storageAccounts/queueServices/queues/delete", `${STORAGE}/queueServices/default/queues/uamiguard-cleanup`],
  ["delete", "Microsoft.Storage/storageAccounts/blobServices/containers/delete", `${STORAGE}/blobServices/default/containers/app-package`],
  ["write", "Microsoft.Authorization/locks/write", `${GUARD_RG}/providers/Microsoft.Authorization/locks/readonly`],
  ["write", "Microsoft.Authorization/roleDefinitions/write", ENFORCER_ROLE],
  ["delete", "Microsoft.Web/serverfarms/delete", `${GUARD_RG}/providers/Microsoft.Web/serverfarms/plan-uamiguard`],
  ["delete", "Microsoft.Web/sites/functions/delete", `${APP}/functions/onResourceEvent`],
  ["write", "Microsoft.Authorization/policyAssignments/write", `/subscriptions/${S1}/providers/Microsoft.Authorization/policyAssignments/deny-guard`],
  ["delete", "Microsoft.Insights/components/delete", `${GUARD_RG}/providers/Microsoft.Insights/components/appi-uamiguard`],
  ["delete", "Microsoft.Web/sites/config/delete", `${APP}/config/appsettings`],
  ["delete", "Microsoft.Authorization/roleAssignments/delete", SELF_READER],
  // The rest of the contract: a custom role the app holds deleted, anyone's role assignment at a guard resource's
  // scope deleted, and operations in no table of the app at all (any operation under self.resources counts).
  ["delete", "Microsoft.Authorization/roleDefinitions/delete", ENFORCER_ROLE],
  ["delete", "Microsoft.Authorization/roleAssignments/delete", `${GUARD_RG}/providers/Microsoft.Authorization/roleAssignments/5e1f0000-0000-4000-8000-0000000000a7`],
  ["delete", "Microsoft.KeyVault/vaults/delete", `${GUARD_RG}/providers/Microsoft.KeyVault/vaults/kv-uamiguard-x`],
  ["delete", "Microsoft.EventGrid/systemTopics/delete", TOPIC],
  ["delete", "Microsoft.Insights/dataCollectionRules/delete", `${GUARD_RG}/providers/Microsoft.Insights/dataCollectionRules/dcr-uamiguard`],
  ["delete", "Microsoft.OperationalInsights/workspaces/delete", `${GUARD_RG}/providers/Microsoft.OperationalInsights/workspaces/log-uamiguard`],
  ["write", "Microsoft.Web/sites/slots/write", `${APP}/slots/staging`],
  ["action", "Microsoft.Storage/storageAccounts/regeneratekey/action", STORAGE],
  // A management group above the guard's subscription (its managementGroupAncestorsChain names it) contains the guard.
  ["write", "Microsoft.Authorization/policyAssignments/write", "/providers/Microsoft.Management/managementGroups/mg-corp/providers/Microsoft.Authorization/policyAssignments/deny-all"],
  ["write", "Microsoft.Authorization/locks/write", "/providers/Microsoft.Management/managementGroups/mg-corp/providers/Microsoft.Authorization/locks/readonly"],
];

/** The resources TAMPERING changes: one finding each (the custom role is both rewritten and deleted: one fingerprint). */
export const TAMPERED: string[] = [...new Map(TAMPERING.map(([, , id]) => [id.toLowerCase(), id])).values()];

/** Changes next to the guard that are not tampering: no governance-tampering, whoever makes them. */
export const NOT_TAMPERING: Array<[keyof typeof EVENT_TYPE, string, string]> = [
  ["write", "Microsoft.Authorization/locks/write", `/subscriptions/${S1}/resourceGroups/rg-app/providers/Microsoft.Authorization/locks/readonly`],
  ["write", "Microsoft.Authorization/policyAssignments/write", `/subscriptions/${S1}/resourceGroups/rg-app/providers/Microsoft.Authorization/policyAssignments/deny-app`],
  ["delete", "Microsoft.Web/sites/delete", `/subscriptions/${S1}/resourceGroups/rg-guard-old/providers/Microsoft.Web/sites/func-other`],
  ["write", "Microsoft.Authorization/roleDefinitions/write", `/subscriptions/${S1}/providers/Microsoft.Authorization/roleDefinitions/0ee10000-0000-4000-8000-000000000001`],
  ["write", "Microsoft.Authorization/policyAssignments/write", "/providers/Microsoft.Management/managementGroups/mg-sandbox/providers/Microsoft.Authorization/policyAssignments/deny-all"],
];

export function tamperingEvents(caller: keyof typeof CALLERS, operations = TAMPERING): unknown[] {
  return operations.map(([kind, operationName, resourceUri], index) => ({
    id: `${caller}-${index}`,
    eventType: EVENT_TYPE[kind],
    subject: resourceUri,
    eventTime: "2026-11-20T10:00:00Z",
    dataVersion: "2",
    metadataVersion: "1",
    data: { operationName, resourceUri, status: "Succeeded", subscriptionId: S1, tenantId: TENANT, claims: CALLERS[caller] },
  }));
}
