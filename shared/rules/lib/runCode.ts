/**
 * The run-code table, in one place: per resource type an identity can be attached to, the ARM actions that let a
 * principal run its own code there, and so get tokens for every user-assigned identity attached to it.
 *
 * Source: shared/rules/data/privilege-SOURCES.md §3e, which quotes the action strings from Microsoft's "Azure
 * permissions for …" pages (MicrosoftDocs/azure-docs `articles/role-based-access-control/permissions/compute.md`,
 * `web-and-mobile.md`, `integration.md`, `management-and-governance.md`, `analytics.md`, `containers.md`,
 * `ai-machine-learning.md`) and `built-in-roles/migration.md` for deployment scripts; API Management from
 * Learn "Authenticate with managed identity" (policy editors can use the service's identity). Control-plane
 * actions only: a role's `dataActions` never grant an action (Learn "Azure role definitions").
 */
export const RUN_CODE_ACTIONS: ReadonlyArray<readonly [type: string, actions: readonly string[]]> = [
  [
    "Microsoft.Compute/virtualMachines",
    [
      "Microsoft.Compute/virtualMachines/runCommand/action",
      "Microsoft.Compute/virtualMachines/runCommands/write",
      "Microsoft.Compute/virtualMachines/extensions/write",
      "Microsoft.Compute/virtualMachines/write",
    ],
  ],
  [
    "Microsoft.Compute/virtualMachineScaleSets",
    [
      "Microsoft.Compute/virtualMachineScaleSets/write",
      "Microsoft.Compute/virtualMachineScaleSets/extensions/write",
      "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action",
      "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommands/write",
      "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/extensions/write",
    ],
  ],
  ["Microsoft.Web/sites", webActions("Microsoft.Web/sites")],
  ["Microsoft.Web/sites/slots", [...webActions("Microsoft.Web/sites/slots"), "Microsoft.Web/sites/write", "Microsoft.Web/sites/config/write", "Microsoft.Web/sites/slots/write"]],
  [
    "Microsoft.Logic/workflows",
    [
      "Microsoft.Logic/workflows/write",
      "Microsoft.Logic/workflows/run/action",
      "Microsoft.Logic/workflows/triggers/run/action",
      "Microsoft.Logic/workflows/triggers/listCallbackUrl/action",
      "Microsoft.Logic/workflows/triggers/histories/resubmit/action",
    ],
  ],
  [
    "Microsoft.Automation/automationAccounts",
    [
      "runbooks/write",
      "runbooks/draft/write",
      "runbooks/draft/content/write",
      "runbooks/publish/action",
      "runbooks/draft/testJob/write",
      "jobs/write",
      "jobSchedules/write",
      "schedules/write",
      "webhooks/write",
      "modules/write",
      "python3Packages/write",
      "hybridRunbookWorkerGroups/write",
    ].map((action) => `Microsoft.Automation/automationAccounts/${action}`),
  ],
  [
    "Microsoft.App/containerApps",
    ["Microsoft.App/containerApps/write", "Microsoft.App/containerApps/getAuthToken/action", "Microsoft.App/managedEnvironments/getAuthToken/action"],
  ],
  ["Microsoft.App/jobs", ["Microsoft.App/jobs/write", "Microsoft.App/jobs/start/action"]],
  [
    "Microsoft.ContainerInstance/containerGroups",
    [
      "Microsoft.ContainerInstance/containerGroups/write",
      "Microsoft.ContainerInstance/containerGroups/containers/exec/action",
      "Microsoft.ContainerInstance/containerGroups/start/action",
      "Microsoft.ContainerInstance/containerGroups/restart/action",
    ],
  ],
  [
    "Microsoft.DataFactory/factories",
    ["Microsoft.DataFactory/factories/pipelines/write", "Microsoft.DataFactory/factories/pipelines/createrun/action", "Microsoft.DataFactory/factories/pipelines/sandbox/action"],
  ],
  [
    "Microsoft.ApiManagement/service",
    [
      "Microsoft.ApiManagement/service/apis/policies/write",
      "Microsoft.ApiManagement/service/apis/policy/write",
      "Microsoft.ApiManagement/service/policies/write",
      "Microsoft.ApiManagement/service/products/policies/write",
      "Microsoft.ApiManagement/service/apis/operations/policies/write",
    ],
  ],
  ["Microsoft.Batch/batchAccounts", ["Microsoft.Batch/batchAccounts/pools/write"]],
  ["Microsoft.ContainerService/managedClusters", ["Microsoft.ContainerService/managedClusters/runCommand/action", "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action"]],
  [
    "Microsoft.MachineLearningServices/workspaces",
    [
      "computes/write",
      "jobs/write",
      "experiments/runs/submit/action",
      "endpoints/deployments/write",
      "batchEndpoints/deployments/write",
      "environments/write",
      "codes/versions/write",
    ].map((action) => `Microsoft.MachineLearningServices/workspaces/${action}`),
  ],
  ["Microsoft.Resources/deploymentScripts", ["Microsoft.Resources/deploymentScripts/write"]],
];

/** App Service, Functions and Logic Apps Standard: deploy, reconfigure or invoke code (web-and-mobile.md). */
function webActions(prefix: string): string[] {
  return [
    "write",
    "config/write",
    "config/list/action",
    "publishxml/action",
    "publish/action",
    "basicPublishingCredentialsPolicies/scm/write",
    "extensions/write",
    "extensions/api/action",
    "functions/write",
    "functions/listkeys/action",
    "host/listkeys/action",
    "hostruntime/host/action",
    "deployments/write",
    "deployWorkflowArtifacts/action",
    ...(prefix.endsWith("/sites") ? ["slots/write"] : []),
  ].map((action) => `${prefix}/${action}`);
}

/** Rights as bits: assign, federate, then one bit per run-code type in table order. */
export const ASSIGN_BIT = 1;
export const FEDERATE_BIT = 2;
const RUN_CODE_BITS = new Map(RUN_CODE_ACTIONS.map(([type], at) => [type.toLowerCase(), 1 << (at + 2)]));
export const ANY_RUN_CODE = [...RUN_CODE_BITS.values()].reduce((all, bit) => all | bit, 0);
export const ALL_RIGHTS = ASSIGN_BIT | FEDERATE_BIT | ANY_RUN_CODE;

/** The run-code bit of a resource type (case-insensitive), 0 when code run there gets no attached identity's token. */
export function runCodeBit(resourceType: string): number {
  return RUN_CODE_BITS.get(resourceType.toLowerCase()) ?? 0;
}
