import { mulberry32 } from "../random.js";
/*
 * Deterministic demo estate (format: docs/estate-format.md) for `uami-guard --estate`.
 * Everything comes from two seeded mulberry32 streams: `rand` (background) and `plantRand` (planted problems,
 * so planted GUIDs do not move when the background changes). Timestamps are relative to DEMO_NOW.
 *
 * Subscriptions: prod 11111111-1111-4111-8111-111111111111, nonprod 22222222-2222-4222-8222-222222222222,
 * shared-services 33333333-3333-4333-8333-333333333333. Below, ".../rg-x/<Type>/name" abbreviates
 * "/subscriptions/<sub>/resourceGroups/rg-x/providers/<Type>/name"; "UAMI" = Microsoft.ManagedIdentity/userAssignedIdentities.
 *
 * PLANTED PROBLEMS (docs/rules) - the background is built so that it produces no other finding:
 * - orphaned-role-assignment (15): principals absent from `directory`, createdOn 2024-02..2025-06. Assignment names:
 *   3bb82e4e-5357-4f85-b96e-19ef828cc7fe f520db03-a505-4f6f-8ffd-f73145cfd4ab 08ce1fdd-799f-481e-932f-bff0f65d3c01
 *   d6924113-505e-41bb-b5d1-c8b5b2d76c66 02b24c71-7dec-4be5-9bfe-c542c1e2089d bcf12dad-5edd-4e22-9045-daf65023bebc
 *   e5f4bb60-90d1-4374-b05b-a40b85bf27d9 dffa54f2-8b3c-4420-8cbb-67488ff5fdfd b43f6da8-e791-4a07-983f-1b01a7d58c86 (Users)
 *   28eb6bb6-8928-4f30-aaf8-38d17b40d873 4c1e4af4-2a66-4922-8fc0-74d75d1cf01b 970da0df-2c37-4f82-a014-e3fef7d631ec (Groups)
 *   8ef5d1f5-a48b-413e-bf53-813504b9a7d4 (deleted app), 6fe1939a-8e7e-40d4-938c-abae767d8fb5 (principal of the deleted
 *   id-orders-prod-uks-09), 2075d87c-4ca0-4ea8-813b-d5dc62b27da0 (principal of the deleted id-portal-prod-weu-07).
 *   Skipped: 47fc9b8f-3c5f-4090-9dac-c0d8b9b1d968 (principalType ForeignGroup, principal absent, nonprod subscription).
 * - untagged-identity: UAMIs id-orders-test-uks-03 (owner+environment), id-catalog-stage-weu-02 (owner),
 *   id-portal-dev-weu-02 (environment), uami-legacy-app (tags {}), id-billing-prod-uks-02 (owner "   ").
 *   Not a finding: id-search-prod-weu-01 (tag key "Owner").
 * - privileged-role-broad-scope (assignment names): critical 471b8c1d-... (Owner, prod sub, id-platform-prod-uks-01),
 *   c14e6cb5-... (User Access Administrator, nonprod sub, id-cicd-prod-uks-01), 1fa65b64-... (custom Deployer "*",
 *   shared sub, id-platform-prod-uks-02), cfdd2dad-... (RBAC Administrator, prod sub, id-platform-prod-uks-03);
 *   high 52d14c42-... (Contributor, prod sub, id-orders-prod-uks-01), 69e7badb-... (Contributor, shared sub, system-assigned
 *   identity of vm-platform-prod-uks-01); medium f7c0c876-... (Owner, rg-payments-prod, id-payments-prod-uks-01),
 *   79a9127b-... (custom Role Assignment Writer, rg-portal-prod, id-portal-prod-weu-01). Not findings: aaef0b31-... (Owner on
 *   kv-payments-prod-01, resource scope), 41e2da0e-... (harmless custom role, prod sub), f0676bf1-... (Owner, prod sub, a user).
 *   (Full GUIDs in PLANTED_ASSIGNMENTS below.)
 * - unattached-identity: id-reporting-prod-weu-02 (holds a role: medium), id-payments-dev-uks-09 and id-portal-dev-weu-08
 *   (no roles: low). Not findings: id-cicd-prod-uks-01, id-cicd-prod-uks-02 (unattached, federated credential).
 * - dangling-identity-reference: .../rg-orders-prod/Microsoft.Compute/virtualMachines/vm-orders-prod-uks-02 ->
 *   .../rg-orders-prod/UAMI/id-orders-prod-uks-09; .../rg-portal-prod/Microsoft.Web/sites/app-portal-prod-weu-02 ->
 *   .../rg-portal-prod/UAMI/id-portal-prod-weu-07. Not a finding: vm-catalog-prod-uks-01 spells its keys "resourcegroups".
 * - identity-name-invalid: id-paymentsreconciliation-prod-uks-01 (37 chars), _tmp-migration, id-reporting.prod-01.
 *   Not a finding: id-reporting-prod-weu-02 (exactly 24 chars).
 * - cross-environment-attachment: UAMI id-payments-prod-uks-01 (prod) -> .../rg-payments-dev/Microsoft.Compute/
 *   virtualMachines/vm-payments-dev-uks-01 (dev). Not a finding: app-portal-prod-weu-01 tagged "Prod".
 * - shared-identity-sprawl: id-shared-prod-uks-01 (vmss-*-01 in 5 resource groups). Not a finding: id-monitor-prod-weu-01 (3).
 * - stale-identity: id-billing-prod-uks-01 (2026-05-02), id-orders-prod-uks-02 (2026-06-15), id-catalog-prod-uks-03 (never),
 *   id-reporting-prod-weu-02 (never). Not findings: id-portal-prod-weu-02 (2026-09-10), id-payments-dev-uks-09 (old, no roles).
 * - naming-convention: _tmp-migration, id-reporting.prod-01, uami-legacy-app, BillingIdentity, id-search-live-uks-01,
 *   id-cicd-prod-uks-1.
 * - privileged-identity-exposed (issue 16): the background's users, groups and apps with Owner, Contributor or Managed
 *   Identity Operator over the five critical identities and the high one give most of the 190 (default policy; 189 with
 *   local/demo/policy.json). Planted on top: sp-platform-release (Managed Identity Operator at management group
 *   mg-contoso: every graded identity), ops-oncall@contoso.example (custom Contoso Operator, "*" minus Authorization and
 *   assign, at rg-platform-prod: federate and run code), vm-support@contoso.example (custom VM Command Runner on a VM that
 *   id-platform-prod-uks-01 is attached to). Not findings: github-deploy-prod (Managed Identity Operator on the prod
 *   subscription; the approved pipeline of policy.json), user 0 (Owner at prod: already as privileged).
 *   Subscriptions: prod and shared under mg-contoso-prod, nonprod under mg-contoso-nonprod, all under mg-contoso.
 * - federated-credential-untrusted-issuer: id-cicd-prod-uks-02/oidc-mirror (https://token.actions.githubusercontent.com.evil.example).
 * - federated-credential-risky-subject: id-platform-prod-uks-01/github-pr (pull_request, high),
 *   id-catalog-stage-weu-01/github-any-branch (flexible credential, medium).
 * - event rules: .../rg-payments-prod/Microsoft.Web/sites/app-payments-prod-uks-01 has id-payments-prod-uks-03 attached but
 *   not in its baseline entry; .../rg-orders-prod/Microsoft.App/containerApps/ca-orders-prod-uks-01 has no baseline entry.
 */

/** Fixed "now" of the demo estate; every timestamp in it is relative to this instant. */
export const DEMO_NOW = "2026-11-20T12:00:00Z";

// ---- Estate-file shape (docs/estate-format.md); plain types, no project imports ----
export type Tags = Record<string, string>;
export interface DemoUserAssignedRef { principalId: string; clientId: string }
export interface DemoResourceIdentity {
  type: string;
  principalId?: string;
  tenantId?: string;
  userAssignedIdentities?: Record<string, DemoUserAssignedRef>;
}
export interface DemoResource {
  id: string; name: string; type: string; location: string; kind?: string; tags: Tags;
  properties?: Record<string, unknown>;
  identity?: DemoResourceIdentity;
}
export interface DemoDirectoryObject {
  id: string; "@odata.type": string; displayName: string;
  servicePrincipalType?: string; appId?: string; userPrincipalName?: string;
}
export interface DemoRoleDefinition {
  id: string; name: string; type: string;
  properties: { roleName: string; type: string; description: string;
    permissions: Array<{ actions: string[]; notActions: string[] }>; assignableScopes: string[] };
}
export interface DemoRoleAssignment {
  id: string; name: string; type: string;
  properties: { scope: string; roleDefinitionId: string; principalId: string; principalType: string;
    createdOn: string; updatedOn: string; createdBy: string };
}
export interface DemoFederatedCredential {
  id: string; name: string;
  properties: { issuer: string; subject?: string; audiences: string[]; claimsMatchingExpression?: { value: string; languageVersion: number } };
}
export interface DemoEstate {
  tenantId: string;
  subscriptions: Array<{ subscriptionId: string; displayName: string; managementGroupAncestorsChain: Array<{ name: string; displayName: string }> }>;
  resources: DemoResource[];
  directory: DemoDirectoryObject[];
  roleDefinitions: DemoRoleDefinition[];
  roleAssignments: DemoRoleAssignment[];
  federatedCredentials: DemoFederatedCredential[];
  signIns: Array<{ servicePrincipalId: string; lastSignIn: string }>;
  baseline: { attachments: Record<string, string[]> };
}

// ---- Fixed inputs ----
const TENANT_ID = "4f8c2b1a-6d3e-4a59-9b7c-2e1f0a3d5c68";
const SUBS = {
  prod: "11111111-1111-4111-8111-111111111111",
  nonprod: "22222222-2222-4222-8222-222222222222",
  shared: "33333333-3333-4333-8333-333333333333",
} as const;
type SubKey = keyof typeof SUBS;
const SUB_NAMES: Record<SubKey, string> = { prod: "prod", nonprod: "nonprod", shared: "shared-services" };
const LOCATIONS = { uks: "uksouth", weu: "westeurope" } as const;

const ROLE = {
  owner: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
  contributor: "b24988ac-6180-42a0-ab88-20f7382dd24c",
  userAccessAdministrator: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
  rbacAdministrator: "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
  reader: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
  managedIdentityOperator: "f1a07417-d97a-45cb-824c-7a7467783830",
  keyVaultSecretsUser: "4633458b-17de-408a-b874-0445c86b69e6",
  blobDataContributor: "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
  blobDataReader: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
  deployer: "5b29d5b4-4945-46d4-85a1-562999296061", // custom, actions ["*"]
  roleAssignmentWriter: "32ab295b-adfb-4226-9bc8-a50a3fa477c0", // custom, roleAssignments/write
  storageAccountReader: "470d9653-5cd5-40c2-add4-1352a3c4cd35", // custom, harmless
  contosoOperator: "f0c1d2e3-0000-4000-8000-00000000c0de", // custom, "*" minus authorization and assign
  vmCommandRunner: "f0c1d2e3-0000-4000-8000-00000000d0e5", // custom, VM run command
} as const;
const CUSTOM_ROLES: Array<[guid: string, roleName: string, actions: string[], notActions?: string[]]> = [
  [ROLE.deployer, "Deployer", ["*"]],
  [ROLE.roleAssignmentWriter, "Role Assignment Writer",
    ["Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/read"]],
  [ROLE.storageAccountReader, "Storage Account Reader", ["Microsoft.Storage/storageAccounts/read"]],
  // Exposure plants: a wildcard role whose notActions remove assign (federate and run code remain), and run-command only.
  [ROLE.contosoOperator, "Contoso Operator", ["*"], ["Microsoft.Authorization/*", "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action"]],
  [ROLE.vmCommandRunner, "VM Command Runner", ["Microsoft.Compute/virtualMachines/read", "Microsoft.Compute/virtualMachines/runCommand/action"]],
];
/** Management groups above each subscription, nearest first (as Resource Graph resourcecontainers gives them). */
const MANAGEMENT_GROUPS: Record<SubKey, string[]> = {
  prod: ["mg-contoso-prod", "mg-contoso"],
  nonprod: ["mg-contoso-nonprod", "mg-contoso"],
  shared: ["mg-contoso-prod", "mg-contoso"],
};
/**
 * Exposure plants (privileged-identity-exposed), drawn from their own stream after everything else so no
 * other planted id moves: [directory name, principal type, role, scope ref ("mg:<name>", "sub:<key>", "rg:<name>",
 * "vm-of:<identity>": a VM the identity is attached to)].
 */
const EXPOSURE_PLANTS: Array<[name: string, type: "User" | "ServicePrincipal", role: string, scope: string]> = [
  ["sp-platform-release", "ServicePrincipal", "f1a07417-d97a-45cb-824c-7a7467783830", "mg:mg-contoso"],
  ["ops-oncall@contoso.example", "User", "f0c1d2e3-0000-4000-8000-00000000c0de", "rg:rg-platform-prod"],
  ["vm-support@contoso.example", "User", "f0c1d2e3-0000-4000-8000-00000000d0e5", "vm-of:id-platform-prod-uks-01"],
  ["github-deploy-prod", "ServicePrincipal", "f1a07417-d97a-45cb-824c-7a7467783830", "sub:prod"],
];
/** The approved pipeline of local/demo/policy.json: its grant in the prod subscription is excluded. */
const PIPELINE_APP_ID = "99999999-0000-4000-8000-000000000042";
/** Roles that make a managed identity privileged (never assigned to one above resource scope in the background). */
const PRIVILEGED = new Set<string>([ROLE.owner, ROLE.contributor, ROLE.userAccessAdministrator,
  ROLE.rbacAdministrator, ROLE.deployer, ROLE.roleAssignmentWriter]);

interface RgSpec { app: string; env: "dev" | "test" | "stage" | "prod"; loc: keyof typeof LOCATIONS; sub: SubKey; identities: number }
const RESOURCE_GROUPS: RgSpec[] = [
  { app: "payments", env: "prod", loc: "uks", sub: "prod", identities: 4 },
  { app: "orders", env: "prod", loc: "uks", sub: "prod", identities: 4 },
  { app: "catalog", env: "prod", loc: "uks", sub: "prod", identities: 4 },
  { app: "portal", env: "prod", loc: "weu", sub: "prod", identities: 3 },
  { app: "payments", env: "dev", loc: "uks", sub: "nonprod", identities: 3 },
  { app: "orders", env: "test", loc: "uks", sub: "nonprod", identities: 4 },
  { app: "catalog", env: "stage", loc: "weu", sub: "nonprod", identities: 3 },
  { app: "portal", env: "dev", loc: "weu", sub: "nonprod", identities: 3 },
  { app: "platform", env: "prod", loc: "uks", sub: "shared", identities: 4 },
  { app: "monitor", env: "prod", loc: "weu", sub: "shared", identities: 3 },
  { app: "cicd", env: "prod", loc: "uks", sub: "shared", identities: 3 },
];
const COMPUTE: Array<{ prefix: string; type: string; kind?: string; count: number }> = [
  { prefix: "vm", type: "Microsoft.Compute/virtualMachines", count: 2 },
  { prefix: "vmss", type: "Microsoft.Compute/virtualMachineScaleSets", count: 1 },
  { prefix: "app", type: "Microsoft.Web/sites", kind: "app,linux", count: 2 },
  { prefix: "func", type: "Microsoft.Web/sites", kind: "functionapp,linux", count: 1 },
  { prefix: "ca", type: "Microsoft.App/containerApps", count: 1 },
];

// ---- Planted problems (see the header comment) ----
const EXTRA_IDENTITIES: Array<[rg: string, name: string]> = [
  ["rg-payments-prod", "id-paymentsreconciliation-prod-uks-01"], ["rg-platform-prod", "_tmp-migration"],
  ["rg-monitor-prod", "id-reporting.prod-01"], ["rg-orders-prod", "uami-legacy-app"],
  ["rg-payments-prod", "BillingIdentity"], ["rg-catalog-prod", "id-search-live-uks-01"],
  ["rg-cicd-prod", "id-cicd-prod-uks-1"], ["rg-catalog-prod", "id-search-prod-weu-01"],
  ["rg-payments-prod", "id-billing-prod-uks-01"], ["rg-payments-prod", "id-billing-prod-uks-02"],
  ["rg-monitor-prod", "id-reporting-prod-weu-02"], ["rg-payments-dev", "id-payments-dev-uks-09"],
  ["rg-portal-dev", "id-portal-dev-weu-08"], ["rg-platform-prod", "id-shared-prod-uks-01"],
];
const TAG_OVERRIDES: Record<string, Tags> = {
  "uami-legacy-app": {},
  "id-catalog-stage-weu-02": { environment: "stage" },
  "id-orders-test-uks-03": { costCenter: "cc-4711" },
  "id-portal-dev-weu-02": { owner: "team-portal" },
  "id-billing-prod-uks-02": { owner: "   ", environment: "prod" },
  "id-search-prod-weu-01": { Owner: "team-search", environment: "prod" },
};
/** Identities left out of the round-robin attachment of their resource group. */
const NOT_ROUND_ROBIN = new Set(["id-reporting-prod-weu-02", "id-payments-dev-uks-09", "id-portal-dev-weu-08",
  "id-cicd-prod-uks-01", "id-cicd-prod-uks-02", "id-shared-prod-uks-01"]);
const NO_ROLES = new Set(["id-payments-dev-uks-09", "id-portal-dev-weu-08"]);
/** [resource name, identity name] attached on top of the round robin. */
const EXTRA_ATTACHMENTS: Array<[string, string]> = [
  ["vm-payments-dev-uks-01", "id-payments-prod-uks-01"], // cross-environment (prod identity, dev VM)
  ...["platform-prod-uks", "payments-prod-uks", "orders-prod-uks", "catalog-prod-uks", "portal-prod-weu"]
    .map((rg): [string, string] => [`vmss-${rg}-01`, "id-shared-prod-uks-01"]), // sprawl: 5 resource groups
  ["func-payments-prod-uks-01", "id-monitor-prod-weu-01"], // 3 resource groups: at the limit, no finding
  ["func-orders-prod-uks-01", "id-monitor-prod-weu-01"],
  ["app-payments-prod-uks-01", "id-payments-prod-uks-03"], // not in the baseline entry
  ["app-portal-prod-weu-01", "id-portal-prod-weu-01"], // resource tagged "Prod": same environment, no finding
  ["app-portal-prod-weu-01/staging", "id-portal-prod-weu-01"],
];
const DELETED_IDENTITIES: Array<[resource: string, rg: string, name: string]> = [
  ["vm-orders-prod-uks-02", "rg-orders-prod", "id-orders-prod-uks-09"],
  ["app-portal-prod-weu-02", "rg-portal-prod", "id-portal-prod-weu-07"],
];
const LOWERCASE_KEYS_RESOURCE = "vm-catalog-prod-uks-01"; // ARM-style "resourcegroups" spelling in its keys
const BASELINE_MISSING: [resource: string, identity: string] = ["app-payments-prod-uks-01", "id-payments-prod-uks-03"];
const NOT_IN_BASELINE = "ca-orders-prod-uks-01";
const SIGN_IN_OVERRIDES: Record<string, string | null> = {
  "id-billing-prod-uks-01": "2026-05-02T07:41:12Z", "id-orders-prod-uks-02": "2026-06-15T22:03:45Z",
  "id-catalog-prod-uks-03": null, "id-reporting-prod-weu-02": null,
  "id-portal-prod-weu-02": "2026-09-10T09:30:00Z", // 71 days before DEMO_NOW: not stale
  "id-payments-dev-uks-09": "2026-03-01T08:15:00Z", // old, but the identity holds no role: not stale
};
/** Principal refs: "uami:<name>", "system:<resource name>", "user:<index>". Scope refs: "sub:<key>", "rg:<name>", "res:<name>". */
const PLANTED_ASSIGNMENTS: Array<[guid: string, principal: string, role: string, scope: string]> = [
  ["471b8c1d-753c-41a5-a273-0185d89b3018", "uami:id-platform-prod-uks-01", ROLE.owner, "sub:prod"],
  ["c14e6cb5-4e48-4379-9c71-394157f31bab", "uami:id-cicd-prod-uks-01", ROLE.userAccessAdministrator, "sub:nonprod"],
  ["1fa65b64-45a7-44e9-b902-7dea8533dba1", "uami:id-platform-prod-uks-02", ROLE.deployer, "sub:shared"],
  ["cfdd2dad-ad0a-4d98-b536-c218b0b201f3", "uami:id-platform-prod-uks-03", ROLE.rbacAdministrator, "sub:prod"],
  ["52d14c42-fb5e-4a2d-bf17-f84da039ac48", "uami:id-orders-prod-uks-01", ROLE.contributor, "sub:prod"],
  ["69e7badb-1e18-44e8-b8b6-3adba5a94d61", "system:vm-platform-prod-uks-01", ROLE.contributor, "sub:shared"],
  ["f7c0c876-3b39-4476-bd41-bc8cd1910c12", "uami:id-payments-prod-uks-01", ROLE.owner, "rg:rg-payments-prod"],
  ["79a9127b-b836-4190-bbfe-dfbf2d24e049", "uami:id-portal-prod-weu-01", ROLE.roleAssignmentWriter, "rg:rg-portal-prod"],
  ["aaef0b31-7f0e-4643-b4e4-36549f5533e5", "uami:id-payments-prod-uks-02", ROLE.owner, "res:kv-payments-prod-01"],
  ["41e2da0e-07d2-4b77-95a2-0072fd62eb3a", "uami:id-catalog-prod-uks-01", ROLE.storageAccountReader, "sub:prod"],
  ["f0676bf1-bed6-4a19-816e-d41e3f2d48bd", "user:0", ROLE.owner, "sub:prod"],
  ["8e1a4042-d6d0-4893-9815-838d57309419", "uami:id-reporting-prod-weu-02", ROLE.reader, "rg:rg-monitor-prod"],
];
const FOREIGN_GROUP_ASSIGNMENT = "47fc9b8f-3c5f-4090-9dac-c0d8b9b1d968";
const FEDERATED: Array<[identity: string, name: string, subject: string]> = [
  ["id-cicd-prod-uks-01", "github-prod", "repo:contoso/platform-infra:environment:prod"],
  ["id-cicd-prod-uks-01", "github-main", "repo:contoso/platform-infra:ref:refs/heads/main"],
  ["id-cicd-prod-uks-02", "github-release", "repo:contoso/release-tools:environment:prod"],
  ["id-payments-prod-uks-01", "github-prod", "repo:contoso/payments:environment:prod"],
  ["id-orders-prod-uks-01", "github-prod", "repo:contoso/orders:environment:prod"],
  ["id-catalog-stage-weu-01", "github-stage", "repo:contoso/catalog:environment:stage"],
  ["id-portal-dev-weu-01", "github-dev", "repo:contoso/portal:environment:dev"],
  ["id-platform-prod-uks-01", "github-pr", "repo:contoso/platform-infra:pull_request"],
];

// ---- Deterministic helpers ----
type Rand = () => number;
function makeGuid(rand: Rand): string {
  let hex = "";
  for (let i = 0; i < 32; i++) hex += Math.floor(rand() * 16).toString(16);
  const variant = "89ab".charAt(Math.floor(rand() * 4));
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20)}`;
}
function pick<T>(rand: Rand, items: readonly T[]): T {
  const item = items[Math.floor(rand() * items.length)];
  if (item === undefined) throw new Error("pick() from an empty list");
  return item;
}
function intBetween(rand: Rand, min: number, max: number): number {
  return min + Math.floor(rand() * (max - min + 1));
}
function isoBetween(rand: Rand, from: string, to: string): string {
  const start = Date.parse(from);
  const instant = start + Math.floor(rand() * (Date.parse(to) - start));
  return new Date(instant).toISOString().replace(/\.\d{3}Z$/, "Z");
}
function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`demo estate: unknown ${what}`);
  return value;
}
const rgName = (rg: RgSpec): string => `rg-${rg.app}-${rg.env}`;
const rgScope = (rg: RgSpec): string => `/subscriptions/${SUBS[rg.sub]}/resourceGroups/${rgName(rg)}`;
const identityId = (rg: RgSpec, name: string): string =>
  `${rgScope(rg)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
const subOfScope = (scope: string): string => must(/^\/subscriptions\/([^/]+)/.exec(scope)?.[1], `scope ${scope}`);

interface Identity { resource: DemoResource; rg: RgSpec; principalId: string; clientId: string }
interface Principal { id: string; type: string; managed: boolean; rg?: RgSpec }

// ---- Generator ----
export function generateDemoEstate(): DemoEstate {
  const rand = mulberry32(20261120);
  const plantRand = mulberry32(0xbadc0de); // separate stream: planted ids stay put when the background changes
  const rgByName = new Map(RESOURCE_GROUPS.map((rg) => [rgName(rg), rg]));
  const resources: DemoResource[] = [];
  const byName = new Map<string, DemoResource>();
  const rgOfResource = new Map<string, RgSpec>();
  const identities = new Map<string, Identity>(); // by name
  const attachments = new Map<string, string[]>(); // resource id -> identity ids
  const systemPrincipals = new Map<string, string>(); // resource id -> principal id
  const addResource = (rg: RgSpec, resource: DemoResource): void => {
    resources.push(resource); byName.set(resource.name, resource); rgOfResource.set(resource.id, rg);
  };
  const attach = (resourceId: string, idOfIdentity: string): void => {
    const list = attachments.get(resourceId) ?? [];
    if (!list.some((existing) => existing.toLowerCase() === idOfIdentity.toLowerCase())) list.push(idOfIdentity);
    attachments.set(resourceId, list);
  };

  // Identities: the naming convention per resource group, then the planted extras.
  const addIdentity = (rg: RgSpec, name: string): void => {
    const principalId = makeGuid(rand), clientId = makeGuid(rand);
    const tags = TAG_OVERRIDES[name] ?? { owner: `team-${rg.app}`, environment: rg.env };
    const resource: DemoResource = { id: identityId(rg, name), name, type: "Microsoft.ManagedIdentity/userAssignedIdentities",
      location: LOCATIONS[rg.loc], tags: { ...tags }, properties: { principalId, clientId, tenantId: TENANT_ID } };
    addResource(rg, resource);
    identities.set(name, { resource, rg, principalId, clientId });
  };
  for (const rg of RESOURCE_GROUPS) {
    for (let n = 1; n <= rg.identities; n++) addIdentity(rg, `id-${rg.app}-${rg.env}-${rg.loc}-0${n}`);
  }
  for (const [rg, name] of EXTRA_IDENTITIES) addIdentity(must(rgByName.get(rg), rg), name);

  // Compute, Key Vault and Storage per resource group; identities attached round robin within their group.
  for (const rg of RESOURCE_GROUPS) {
    const compute: DemoResource[] = [];
    for (const spec of COMPUTE) {
      for (let n = 1; n <= spec.count; n++) {
        const name = `${spec.prefix}-${rg.app}-${rg.env}-${rg.loc}-0${n}`;
        compute.push(makeResource(rand, rg, name, spec.type, spec.kind));
      }
    }
    const stores = [makeResource(rand, rg, `kv-${rg.app}-${rg.env}-01`, "Microsoft.KeyVault/vaults"),
      ...[1, 2].map((n) => makeResource(rand, rg, `st${rg.app}${rg.env}0${n}`, "Microsoft.Storage/storageAccounts", "StorageV2"))];
    for (const resource of [...compute, ...stores]) addResource(rg, resource);
    for (const resource of compute) if (resource.type.endsWith("virtualMachines") || rand() < 0.4) systemPrincipals.set(resource.id, makeGuid(rand));
    const pool = [...identities.entries()].filter(([name, identity]) => identity.rg === rg && !NOT_ROUND_ROBIN.has(name));
    const targets = compute.filter(() => rand() >= 0.15);
    const hosts = targets.length > 0 ? targets : compute;
    pool.forEach(([, identity], index) => attach(must(hosts[index % hosts.length], "host").id, identity.resource.id));
    for (const target of hosts) {
      if (!attachments.has(target.id) || rand() < 0.25) attach(target.id, pick(rand, pool)[1].resource.id);
    }
  }
  const portal = must(byName.get("app-portal-prod-weu-01"), "portal app");
  portal.tags.environment = "Prod"; // case differs from the identities' "prod": not cross-environment
  const slot: DemoResource = { ...portal, id: `${portal.id}/slots/staging`, name: `${portal.name}/staging`,
    type: "Microsoft.Web/sites/slots", tags: { ...portal.tags, environment: "prod" } };
  addResource(must(rgByName.get("rg-portal-prod"), "rg"), slot);
  must(byName.get("vm-payments-dev-uks-01"), "dev vm").tags.environment = "dev";
  for (const [resource, identity] of EXTRA_ATTACHMENTS) {
    attach(must(byName.get(resource), resource).id, must(identities.get(identity), identity).resource.id);
  }
  const deleted = DELETED_IDENTITIES.map(([resource, rg, name]) => {
    const ghost = { id: identityId(must(rgByName.get(rg), rg), name), principalId: makeGuid(plantRand), clientId: makeGuid(plantRand) };
    attach(must(byName.get(resource), resource).id, ghost.id);
    return ghost;
  });

  // Render identity blocks.
  const refs = new Map<string, DemoUserAssignedRef>([
    ...[...identities.values()].map((i): [string, DemoUserAssignedRef] => [i.resource.id.toLowerCase(), { principalId: i.principalId, clientId: i.clientId }]),
    ...deleted.map((g): [string, DemoUserAssignedRef] => [g.id.toLowerCase(), { principalId: g.principalId, clientId: g.clientId }]),
  ]);
  for (const resource of resources) {
    const system = systemPrincipals.get(resource.id);
    const attached = attachments.get(resource.id) ?? [];
    if (system === undefined && attached.length === 0) continue;
    const types = [system !== undefined ? "SystemAssigned" : "", attached.length > 0 ? "UserAssigned" : ""].filter(Boolean);
    resource.identity = { type: types.join(", ") };
    if (system !== undefined) Object.assign(resource.identity, { principalId: system, tenantId: TENANT_ID });
    if (attached.length === 0) continue;
    const keyOf = (id: string): string => (resource.name === LOWERCASE_KEYS_RESOURCE ? id.replace("/resourceGroups/", "/resourcegroups/") : id);
    resource.identity.userAssignedIdentities = Object.fromEntries(
      attached.map((id) => [keyOf(id), { ...must(refs.get(id.toLowerCase()), id) }]));
  }

  // Directory: people, groups, applications, and every managed identity that still exists.
  const directory: DemoDirectoryObject[] = [];
  const principals: Principal[] = [];
  const firstNames = ["Alice", "Bilal", "Chen", "Dana", "Emeka", "Fatima", "Grace", "Hiro", "Ines", "Jonas", "Kavya", "Liam", "Maya", "Noah"];
  const lastNames = ["Adams", "Brown", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Iyer", "Jensen", "Kowalski", "Lopez"];
  for (let n = 0; n < 140; n++) {
    const first = pick(rand, firstNames), last = pick(rand, lastNames), id = makeGuid(rand);
    directory.push({ id, "@odata.type": "#microsoft.graph.user", displayName: `${first} ${last}`,
      userPrincipalName: `${first}.${last}${n}@contoso.com`.toLowerCase() });
    principals.push({ id, type: "User", managed: false });
  }
  const apps = [...new Set(RESOURCE_GROUPS.map((rg) => rg.app))];
  for (const name of [...apps.flatMap((app) => ["readers", "developers", "operators"].map((r) => `sg-${app}-${r}`)), "sg-cloud-admins", "sg-security-auditors", "sg-all-engineers"]) {
    const id = makeGuid(rand);
    directory.push({ id, "@odata.type": "#microsoft.graph.group", displayName: name });
    principals.push({ id, type: "Group", managed: false });
  }
  for (const name of ["github-deploy-prod", "github-deploy-nonprod", "terraform-platform", "backup-agent", "datadog-integration",
    "servicenow-connector", "grafana-reader", "cost-exporter", "sentinel-automation", "legacy-batch-runner", "pagerduty-webhook", "snyk-scanner"]) {
    const id = makeGuid(rand);
    directory.push({ id, "@odata.type": "#microsoft.graph.servicePrincipal", displayName: name, servicePrincipalType: "Application", appId: makeGuid(rand) });
    principals.push({ id, type: "ServicePrincipal", managed: false });
  }
  for (const [name, identity] of identities) {
    directory.push({ id: identity.principalId, "@odata.type": "#microsoft.graph.servicePrincipal", displayName: name,
      servicePrincipalType: "ManagedIdentity", appId: identity.clientId });
    if (!NO_ROLES.has(name)) principals.push({ id: identity.principalId, type: "ServicePrincipal", managed: true, rg: identity.rg });
  }
  for (const [resourceId, principalId] of systemPrincipals) {
    directory.push({ id: principalId, "@odata.type": "#microsoft.graph.servicePrincipal", displayName: resourceId.split("/").slice(-1)[0] ?? resourceId,
      servicePrincipalType: "ManagedIdentity", appId: makeGuid(rand) });
    principals.push({ id: principalId, type: "ServicePrincipal", managed: true, rg: rgOfResource.get(resourceId) });
  }

  // Role assignments: planted first (so the background never duplicates them), then the background, then orphans.
  const admins = principals.slice(0, 5).map((p) => p.id);
  const roleAssignments: DemoRoleAssignment[] = [];
  const seen = new Set<string>();
  const assign = (r: Rand, name: string, scope: string, role: string, principalId: string, principalType: string, createdOn: string): void => {
    const key = `${scope}|${role}|${principalId}`.toLowerCase();
    if (seen.has(key)) return;
    seen.add(key);
    roleAssignments.push({ id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`, name,
      type: "Microsoft.Authorization/roleAssignments",
      properties: { scope, roleDefinitionId: `/subscriptions/${subOfScope(scope)}/providers/Microsoft.Authorization/roleDefinitions/${role}`,
        principalId, principalType, createdOn, updatedOn: createdOn, createdBy: pick(r, admins) } });
  };
  const resolveScope = (ref: string): string => {
    const [kind, value = ""] = ref.split(":");
    if (kind === "sub") return `/subscriptions/${SUBS[value as SubKey]}`;
    if (kind === "rg") return rgScope(must(rgByName.get(value), value));
    return must(byName.get(value), value).id;
  };
  for (const [guid, principal, role, scope] of PLANTED_ASSIGNMENTS) {
    const [kind, value = ""] = principal.split(":");
    const principalId = kind === "uami" ? must(identities.get(value), value).principalId
      : kind === "system" ? must(systemPrincipals.get(must(byName.get(value), value).id), value)
      : must(principals[Number(value)], principal).id;
    assign(plantRand, guid, resolveScope(scope), role, principalId, kind === "user" ? "User" : "ServicePrincipal",
      isoBetween(plantRand, "2025-01-01T00:00:00Z", "2026-09-30T00:00:00Z"));
  }
  const scopesByRg = new Map(RESOURCE_GROUPS.map((rg) => [rg, [rgScope(rg), ...resources.filter((r) => rgOfResource.get(r.id) === rg).map((r) => r.id)]]));
  const allScopes = [...Object.values(SUBS).map((s) => `/subscriptions/${s}`), ...[...scopesByRg.values()].flat()];
  const peopleRoles = [ROLE.reader, ROLE.reader, ROLE.reader, ROLE.contributor, ROLE.contributor, ROLE.keyVaultSecretsUser,
    ROLE.blobDataReader, ROLE.blobDataContributor, ROLE.owner, ROLE.userAccessAdministrator, ROLE.managedIdentityOperator, ROLE.storageAccountReader];
  const managedRoles = [ROLE.reader, ROLE.keyVaultSecretsUser, ROLE.keyVaultSecretsUser, ROLE.blobDataReader,
    ROLE.blobDataContributor, ROLE.managedIdentityOperator, ROLE.storageAccountReader, ROLE.contributor];
  for (const principal of principals) {
    const [min, max]: [number, number] = principal.managed ? (principal.rg ? [2, 7] : [1, 3]) : principal.type === "User" ? [6, 18] : [4, 20];
    for (let n = intBetween(rand, min, max); n > 0; n--) {
      const role = pick(rand, principal.managed ? managedRoles : peopleRoles);
      const local = principal.rg !== undefined && rand() < 0.7 ? must(scopesByRg.get(principal.rg), "rg scopes") : allScopes;
      const level = rand(), picked = pick(rand, local);
      let scope = level < 0.1 ? `/subscriptions/${subOfScope(picked)}` : level < 0.35 ? picked.split("/").slice(0, 5).join("/") : picked;
      if (principal.managed && PRIVILEGED.has(role) && !scope.includes("/providers/")) {
        scope = pick(rand, local.filter((s) => s.includes("/providers/")));
      }
      assign(rand, makeGuid(rand), scope, role, principal.id, principal.type, isoBetween(rand, "2024-01-01T00:00:00Z", "2026-10-15T00:00:00Z"));
    }
  }
  const orphanTypes = [...Array<string>(9).fill("User"), "Group", "Group", "Group", "ServicePrincipal"];
  const orphanPrincipals: Array<[string, string]> = [...orphanTypes.map((t): [string, string] => [makeGuid(plantRand), t]),
    ...deleted.map((g): [string, string] => [g.principalId, "ServicePrincipal"])];
  for (const [principalId, type] of orphanPrincipals) {
    const scope = pick(plantRand, allScopes.filter((s) => !s.includes("userAssignedIdentities")));
    const role = type === "User" ? pick(plantRand, [ROLE.reader, ROLE.contributor, ROLE.keyVaultSecretsUser]) : ROLE.blobDataReader;
    assign(plantRand, makeGuid(plantRand), scope, role, principalId, type, isoBetween(plantRand, "2024-02-01T00:00:00Z", "2025-06-30T00:00:00Z"));
  }
  assign(plantRand, FOREIGN_GROUP_ASSIGNMENT, `/subscriptions/${SUBS.nonprod}`, ROLE.reader, makeGuid(plantRand), "ForeignGroup", "2024-09-12T10:20:00Z");

  // Exposure: holders planted from their own stream (nothing above moves).
  const exposureRand = mulberry32(0xe7905ed);
  for (const [name, type, role, scopeRef] of EXPOSURE_PLANTS) {
    const id = makeGuid(exposureRand);
    directory.push(type === "User"
      ? { id, "@odata.type": "#microsoft.graph.user", displayName: name, userPrincipalName: name }
      : { id, "@odata.type": "#microsoft.graph.servicePrincipal", displayName: name, servicePrincipalType: "Application", appId: name === "github-deploy-prod" ? PIPELINE_APP_ID : makeGuid(exposureRand) });
    const [kind, value = ""] = scopeRef.split(":");
    const scope = kind === "mg" ? `/providers/Microsoft.Management/managementGroups/${value}`
      : kind === "vm-of" ? must([...attachments].find(([resourceId, ids]) => /\/virtualMachines\//i.test(resourceId) && ids.some((i) => i.endsWith(`/${value}`)))?.[0], scopeRef)
      : resolveScope(scopeRef);
    const name2 = makeGuid(exposureRand);
    const createdOn = isoBetween(exposureRand, "2025-03-01T00:00:00Z", "2026-09-30T00:00:00Z");
    const roleDefinitionId = `/subscriptions/${SUBS.prod}/providers/Microsoft.Authorization/roleDefinitions/${role}`;
    roleAssignments.push({ id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${name2}`, name: name2, type: "Microsoft.Authorization/roleAssignments",
      properties: { scope, roleDefinitionId, principalId: id, principalType: type, createdOn, updatedOn: createdOn, createdBy: pick(exposureRand, admins) } });
  }

  // Federated credentials, sign-ins, baseline.
  const federatedCredentials = FEDERATED.map(([identity, name, subject]): DemoFederatedCredential => ({
    id: `${must(identities.get(identity), identity).resource.id}/federatedIdentityCredentials/${name}`, name,
    properties: { issuer: "https://token.actions.githubusercontent.com", subject, audiences: ["api://AzureADTokenExchange"] } }));
  // Federation plants: a look-alike of GitHub's issuer, and a flexible credential.
  federatedCredentials.push(
    { id: `${must(identities.get("id-cicd-prod-uks-02"), "id-cicd-prod-uks-02").resource.id}/federatedIdentityCredentials/oidc-mirror`, name: "oidc-mirror",
      properties: { issuer: "https://token.actions.githubusercontent.com.evil.example", subject: "repo:contoso/release-tools:environment:prod", audiences: ["api://AzureADTokenExchange"] } },
    { id: `${must(identities.get("id-catalog-stage-weu-01"), "id-catalog-stage-weu-01").resource.id}/federatedIdentityCredentials/github-any-branch`, name: "github-any-branch",
      properties: { issuer: "https://token.actions.githubusercontent.com", audiences: ["api://AzureADTokenExchange"],
        claimsMatchingExpression: { value: "claims['sub'] matches 'repo:contoso/catalog:ref:refs/heads/*'", languageVersion: 1 } } },
  );
  const holders = new Set(roleAssignments.map((a) => a.properties.principalId));
  const signIns: DemoEstate["signIns"] = [];
  for (const [name, identity] of identities) {
    const override = SIGN_IN_OVERRIDES[name];
    const lastSignIn = override !== undefined ? override : holders.has(identity.principalId) ? isoBetween(rand, "2026-11-01T00:00:00Z", "2026-11-19T23:00:00Z") : null;
    if (lastSignIn !== null) signIns.push({ servicePrincipalId: identity.principalId, lastSignIn });
  }
  for (const principalId of systemPrincipals.values()) {
    if (rand() < 0.5) signIns.push({ servicePrincipalId: principalId, lastSignIn: isoBetween(rand, "2026-11-01T00:00:00Z", "2026-11-19T23:00:00Z") });
  }
  const baseline: Record<string, string[]> = {};
  for (const [resourceId, ids] of attachments) {
    if (resourceId.endsWith(`/${NOT_IN_BASELINE}`)) continue;
    const [driftResource, driftIdentity] = BASELINE_MISSING;
    baseline[resourceId] = resourceId.endsWith(`/${driftResource}`) ? ids.filter((id) => !id.endsWith(`/${driftIdentity}`)) : [...ids];
  }

  return {
    tenantId: TENANT_ID,
    subscriptions: (Object.keys(SUBS) as SubKey[]).map((key) => ({ subscriptionId: SUBS[key], displayName: SUB_NAMES[key],
      managementGroupAncestorsChain: [...MANAGEMENT_GROUPS[key].map((name) => ({ name, displayName: name })), { name: TENANT_ID, displayName: "Tenant Root Group" }] })),
    resources,
    directory,
    roleDefinitions: CUSTOM_ROLES.map(([guid, roleName, actions, notActions = []]) => ({
      id: `/subscriptions/${SUBS.prod}/providers/Microsoft.Authorization/roleDefinitions/${guid}`, name: guid,
      type: "Microsoft.Authorization/roleDefinitions",
      properties: { roleName, type: "CustomRole", description: `${roleName} (contoso custom role)`,
        permissions: [{ actions, notActions }], assignableScopes: Object.values(SUBS).map((s) => `/subscriptions/${s}`) } })),
    roleAssignments,
    federatedCredentials,
    signIns,
    baseline: { attachments: baseline },
  };
}

function makeResource(rand: Rand, rg: RgSpec, name: string, type: string, kind?: string): DemoResource {
  const tags: Tags = {};
  if (rand() < 0.9) tags.environment = rg.env;
  if (rand() < 0.75) tags.owner = `team-${rg.app}`;
  if (rand() < 0.3) tags.costCenter = `cc-${intBetween(rand, 1000, 9999)}`;
  const resource: DemoResource = { id: `${rgScope(rg)}/providers/${type}/${name}`, name, type, location: LOCATIONS[rg.loc], tags };
  if (kind !== undefined) resource.kind = kind;
  return resource;
}
