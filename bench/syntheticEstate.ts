import { mulberry32 } from "../local/random.js";
import type { DirectoryEntry, Estate, EstateFederatedCredential, EstateResource, EstateRoleAssignment, EstateRoleDefinition } from "../local/emulator/estate.js";

/**
 * Deterministic synthetic estates for the benchmark (issue 8): `assignments` role assignments,
 * identities = assignments/10 (20 % of them untagged), ≈ assignments/3 resources with
 * `identity.userAssignedIdentities`, 1 % of assignments orphaned (principal absent from `directory`),
 * 0.2 % to ForeignGroup principals; every other principal is an identity's service principal or a
 * user/group/service principal present in `directory`. Same (assignments, seed) → same estate.
 * The result is in the estate schema's output shape and passes `parseEstate`.
 */
export interface SyntheticOptions {
  assignments: number;
  seed: number;
  /** Also fill `baseline.attachments` (for the event benchmark): every resource, a fifth of the VMs missing their last identity. */
  baseline?: boolean;
}

export interface SyntheticSummary {
  assignments: number;
  identities: number;
  untaggedIdentities: number;
  attachments: number;
  orphanedAssignments: number;
  foreignGroupAssignments: number;
  federatedCredentials: number;
  customRoleDefinitions: number;
  directoryObjects: number;
  /** Distinct principals of non-ForeignGroup assignments: what a sweep looks up in Microsoft Graph. */
  lookedUpPrincipals: number;
  /** Issue 24: groups with members, PIM eligibilities, directory roles (active + eligible), Graph app role assignments. */
  groups: number;
  groupMemberships: number;
  eligibilities: number;
  directoryRoles: number;
  appRoleAssignments: number;
}

/** The project's seeded PRNG (local/random.ts) with the draws synthetic data needs. */
export class Prng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  uint32(): number {
    return this.next() * 4294967296;
  }
  float(): number {
    return this.next();
  }
  int(below: number): number {
    return Math.floor(this.float() * below);
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error("pick from an empty list");
    return item;
  }
  guid(): string {
    const hex = (value: number, width: number): string => value.toString(16).padStart(width, "0");
    const a = this.uint32();
    const b = this.uint32();
    const c = this.uint32();
    const d = this.uint32();
    return `${hex(a, 8)}-${hex(b >>> 16, 4)}-${hex(((b & 0x0fff) | 0x4000) >>> 0, 4)}-${hex(((c >>> 16) & 0x3fff) | 0x8000, 4)}-${hex(c & 0xffff, 4)}${hex(d, 8)}`;
  }
}

export const BENCH_TENANT = "7e1a0000-0000-4000-8000-00000000b0b0";
export const PIPELINE_APP_ID = "99999999-0000-4000-8000-0000000000b1";
const DEPLOYER_OBJECT_ID = "ffffffff-0000-4000-8000-0000000000b2";

const ROLE = {
  owner: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
  contributor: "b24988ac-6180-42a0-ab88-20f7382dd24c",
  userAccessAdministrator: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
  reader: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
  managedIdentityOperator: "f1a07417-d97a-45cb-824c-7a7467783830",
  keyVaultSecretsUser: "4633458b-17de-408a-b874-0445c86b69e6",
  storageBlobDataContributor: "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
  storageBlobDataReader: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
} as const;

const ASSIGNMENTS_PER_SUBSCRIPTION = 3_000;
const SUBSCRIPTION_LIMIT = 4_000;
const MANAGEMENT_GROUP_LIMIT = 500;

/**
 * Management groups as an Azure landing zone lays them out (Cloud Adoption Framework "Resource organization"):
 * the tenant root group (named by the tenant id), an intermediate root, then platform, landing zones (corp,
 * online) and sandbox. Subscriptions take turns over the four leaf groups.
 */
const LANDING_ZONES: ReadonlyArray<readonly [subscriptionName: string, group: string]> = [
  ["prod", "corp"],
  ["nonprod", "online"],
  ["shared", "platform"],
  ["sandbox", "sandbox"],
];
const MANAGEMENT_GROUP_PARENT: Record<string, string> = { corp: "landingzones", online: "landingzones", landingzones: "contoso", platform: "contoso", sandbox: "contoso", contoso: BENCH_TENANT };
const managementGroupChain = (group: string): Array<{ name: string; displayName: string }> => {
  const chain: Array<{ name: string; displayName: string }> = [];
  for (let name: string | undefined = group; name; name = MANAGEMENT_GROUP_PARENT[name]) chain.push({ name, displayName: name === BENCH_TENANT ? "Tenant Root Group" : name });
  return chain;
};
const managementGroupScope = (name: string): string => `/providers/Microsoft.Management/managementGroups/${name}`;

const ENVIRONMENTS = ["prod", "dev", "test", "uat"] as const;
const LOCATIONS: ReadonlyArray<readonly [string, string]> = [
  ["uksouth", "uks"],
  ["westeurope", "weu"],
  ["northeurope", "neu"],
  ["eastus", "eus"],
];
const TEAMS = ["team-payments", "team-identity", "team-data", "team-web", "team-platform", "team-ml"] as const;
const IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities";
const ATTACHABLE: ReadonlyArray<readonly [type: string, prefix: string]> = [
  ["Microsoft.Compute/virtualMachines", "vm"],
  ["Microsoft.Compute/virtualMachines", "vm"],
  ["Microsoft.Compute/virtualMachines", "vm"],
  ["Microsoft.Compute/virtualMachines", "vm"],
  ["Microsoft.Compute/virtualMachines", "vm"],
  ["Microsoft.Web/sites", "app"],
  ["Microsoft.Web/sites", "app"],
  ["Microsoft.Web/sites", "func"],
  ["Microsoft.App/containerApps", "ca"],
  ["Microsoft.App/containerApps", "ca"],
];

const MANAGEMENT_GROUP_GRANTS: ReadonlyArray<readonly [group: string, role: string]> = [
  [BENCH_TENANT, ROLE.owner],
  [BENCH_TENANT, ROLE.owner],
  ...Array.from({ length: 8 }, () => [BENCH_TENANT, ROLE.reader] as const),
  ["contoso", ROLE.contributor],
  ["contoso", ROLE.contributor],
  ["contoso", ROLE.userAccessAdministrator],
  ["platform", ROLE.owner],
  ["landingzones", ROLE.managedIdentityOperator],
  ["landingzones", ROLE.reader],
  ["sandbox", ROLE.contributor],
];

interface SyntheticIdentity {
  id: string;
  subscription: string;
  resourceGroup: string;
  environment: string;
  location: string;
  principalId: string;
  clientId: string;
}

export function generateSyntheticEstate(options: SyntheticOptions): { estate: Estate; summary: SyntheticSummary } {
  const total = Math.floor(options.assignments);
  if (!Number.isInteger(total) || total < 10) throw new Error(`synthetic estate: assignments must be an integer ≥ 10, got ${options.assignments}`);
  const random = new Prng(options.seed);
  // Azure allows at most 4,000 role assignments per subscription (subscription, resource-group and resource
  // scopes; fixed, RoleAssignmentLimitExceeded beyond it) and 500 per management group: Learn "Troubleshoot
  // Azure RBAC limits", https://learn.microsoft.com/azure/role-based-access-control/troubleshoot-limits. So
  // an estate of N assignments spreads over at least N / 4,000 subscriptions; about 3,000 each leaves room.
  const subscriptionCount = Math.max(4, Math.ceil(total / ASSIGNMENTS_PER_SUBSCRIPTION));
  const subscriptions = Array.from({ length: subscriptionCount }, (_, n) => {
    const [displayName, group] = LANDING_ZONES[n % LANDING_ZONES.length] ?? ["prod", "corp"];
    return {
      subscriptionId: random.guid(),
      displayName: n < LANDING_ZONES.length ? displayName : `${displayName}-${n}`,
      managementGroupAncestorsChain: managementGroupChain(group),
    };
  });
  const subscriptionIds = subscriptions.map((subscription) => subscription.subscriptionId);

  // Custom roles: one that can do anything (graded like Owner), four narrow ones.
  const customRoles: EstateRoleDefinition[] = (
    [
      ["Deployer", ["*"]],
      ["App Operator", ["Microsoft.Web/sites/*"]],
      ["Storage Operator", ["Microsoft.Storage/storageAccounts/*"]],
      ["Key Vault Operator", ["Microsoft.KeyVault/vaults/*"]],
      ["Network Reader", ["Microsoft.Network/*/read"]],
    ] as const
  ).map(([roleName, actions]) => {
    const name = random.guid();
    return {
      id: `/subscriptions/${subscriptionIds[0]}/providers/Microsoft.Authorization/roleDefinitions/${name}`,
      name,
      type: "Microsoft.Authorization/roleDefinitions",
      properties: {
        roleName,
        type: "CustomRole",
        description: `${roleName} (synthetic)`,
        permissions: [{ actions: [...actions], notActions: [], dataActions: [], notDataActions: [] }],
        assignableScopes: subscriptionIds.map((subscription) => `/subscriptions/${subscription}`),
      },
    };
  });
  const customRoleIds = customRoles.map((role) => role.id);
  const builtInRoleId = (subscription: string, guid: string): string => `/subscriptions/${subscription}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;

  // Identities: two per workload, a workload = one resource group in one subscription.
  const identityCount = Math.max(1, Math.floor(total / 10));
  const resources: EstateResource[] = [];
  const directory: DirectoryEntry[] = [];
  const identities: SyntheticIdentity[] = [];
  let untaggedIdentities = 0;
  let workloadEnvironment = "prod";
  let workloadLocation: readonly [string, string] = ["uksouth", "uks"];
  for (let n = 0; n < identityCount; n += 1) {
    const workload = n >> 1;
    if (n % 2 === 0) {
      workloadEnvironment = random.pick(ENVIRONMENTS);
      workloadLocation = random.pick(LOCATIONS);
    }
    const app = `a${workload.toString(36)}`;
    const subscription = subscriptionIds[workload % subscriptionIds.length] ?? "";
    const resourceGroup = `rg-${app}-${workloadEnvironment}`;
    const name = `id-${app}-${workloadEnvironment}-${workloadLocation[1]}-0${(n % 2) + 1}`;
    const id = `/subscriptions/${subscription}/resourceGroups/${resourceGroup}/providers/${IDENTITY_TYPE}/${name}`;
    const principalId = random.guid();
    const clientId = random.guid();
    // 20 % untagged: every fifth identity, half of them with no tags at all, half missing `environment`.
    let tags: Record<string, string>;
    if (n % 5 === 0) {
      untaggedIdentities += 1;
      tags = n % 10 === 0 ? {} : { owner: random.pick(TEAMS) };
    } else {
      tags = { owner: random.pick(TEAMS), environment: workloadEnvironment, costCenter: `cc-${1000 + (workload % 97)}` };
    }
    resources.push({ id, name, type: IDENTITY_TYPE, location: workloadLocation[0], tags, properties: { principalId, clientId, tenantId: BENCH_TENANT } });
    directory.push({ id: principalId, "@odata.type": "#microsoft.graph.servicePrincipal", displayName: name, servicePrincipalType: "ManagedIdentity", appId: clientId });
    identities.push({ id, subscription, resourceGroup, environment: workloadEnvironment, location: workloadLocation[0], principalId, clientId });
  }

  // Federated credentials on every 20th identity (GitHub Actions).
  const federatedCredentials: EstateFederatedCredential[] = [];
  for (let n = 19; n < identityCount; n += 20) {
    const identity = identities[n];
    if (!identity) continue;
    federatedCredentials.push({
      id: `${identity.id}/federatedIdentityCredentials/github-${identity.environment}`,
      name: `github-${identity.environment}`,
      properties: { issuer: "https://token.actions.githubusercontent.com", subject: `repo:contoso/app-${n}:environment:${identity.environment}`, audiences: ["api://AzureADTokenExchange"] },
    });
  }

  // Attachments: resources in their identity's workload (2 % elsewhere, 1 % in another environment);
  // the last tenth of the identities is attached nowhere, 0.1 % of resources name a deleted identity.
  const attachmentCount = Math.max(1, Math.round(total / 3));
  const attachable = Math.max(1, Math.floor(identityCount * 0.9));
  const baseline: Record<string, string[]> = {};
  const resourceIdsByIdentity: string[][] = identities.map(() => []);
  for (let n = 0; n < attachmentCount; n += 1) {
    const owner = random.int(attachable);
    const identity = identities[owner];
    if (!identity) throw new Error("synthetic estate: no identity");
    const home = random.float() < 0.02 ? (identities[random.int(identityCount)] ?? identity) : identity;
    const [type, prefix] = ATTACHABLE[n % ATTACHABLE.length] ?? ["Microsoft.Compute/virtualMachines", "vm"];
    const name = `${prefix}-${n.toString(36)}`;
    const id = `/subscriptions/${home.subscription}/resourceGroups/${home.resourceGroup}/providers/${type}/${name}`;
    const assigned: Record<string, { principalId: string; clientId: string }> = {
      [identity.id]: { principalId: identity.principalId, clientId: identity.clientId },
    };
    const sibling = identities[owner ^ 1];
    if (sibling && (owner ^ 1) < attachable && random.float() < 0.15) {
      assigned[sibling.id] = { principalId: sibling.principalId, clientId: sibling.clientId };
    }
    if (random.float() < 0.001) {
      const gone = `/subscriptions/${home.subscription}/resourceGroups/${home.resourceGroup}/providers/${IDENTITY_TYPE}/id-deleted-${n.toString(36)}`;
      assigned[gone] = { principalId: random.guid(), clientId: random.guid() };
    }
    const environment = random.float() < 0.01 ? random.pick(ENVIRONMENTS.filter((env) => env !== identity.environment)) : identity.environment;
    const systemAssigned = type === "Microsoft.Compute/virtualMachines" && random.float() < 0.5;
    resources.push({
      id,
      name,
      type,
      location: home.location,
      tags: { environment, owner: random.pick(TEAMS) },
      identity: {
        type: systemAssigned ? "SystemAssigned, UserAssigned" : "UserAssigned",
        ...(systemAssigned ? { principalId: random.guid(), tenantId: BENCH_TENANT } : {}),
        userAssignedIdentities: assigned,
      },
    });
    resourceIdsByIdentity[owner]?.push(id);
    if (options.baseline) {
      const ids = Object.keys(assigned);
      // A fifth of the VMs gained their last identity since the baseline: a VM write event finds it.
      baseline[id] = type === "Microsoft.Compute/virtualMachines" && ids.length > 1 && n % 5 === 0 ? ids.slice(0, -1) : ids;
    }
  }

  // Role assignments.
  const orphaned = Math.round(total / 100);
  const foreign = Math.round(total / 500);
  const toIdentities = Math.min(identityCount * 3, total - orphaned - foreign);
  // A few grants at management groups, as a platform team makes them: tenant-wide Owner and Reader for
  // break-glass and security groups, Contributor for the platform team, a landing-zone deployer that can
  // assign identities. They count against the people's share.
  const managementGroupGrants = total >= 1_000 ? MANAGEMENT_GROUP_GRANTS : [];
  const toOthers = total - orphaned - foreign - toIdentities - managementGroupGrants.length;
  const orphanPrincipals = Array.from({ length: Math.max(1, Math.round(orphaned / 2)) }, () => ({ id: random.guid(), type: random.pick(["User", "ServicePrincipal", "Group"] as const) }));
  const foreignGroups = Array.from({ length: 20 }, () => random.guid());
  const otherPrincipals = Array.from({ length: Math.max(1, Math.round(toOthers / 8)) }, (_, n) => {
    const id = random.guid();
    const kind = n % 20 < 12 ? "User" : n % 20 < 17 ? "Group" : "ServicePrincipal";
    if (kind === "User") directory.push({ id, "@odata.type": "#microsoft.graph.user", displayName: `user ${n}` });
    else if (kind === "Group") directory.push({ id, "@odata.type": "#microsoft.graph.group", displayName: `group ${n}` });
    else directory.push({ id, "@odata.type": "#microsoft.graph.servicePrincipal", displayName: `app ${n}`, servicePrincipalType: "Application", appId: random.guid() });
    return { id, type: kind };
  });

  const startOfHistory = Date.UTC(2024, 0, 1);
  const historySpan = Date.UTC(2025, 11, 31) - startOfHistory;
  const roleAssignments: EstateRoleAssignment[] = [];
  const addAssignment = (scope: string, subscription: string, roleDefinitionId: string, principalId: string, principalType: string): void => {
    const name = random.guid();
    const created = new Date(startOfHistory + random.int(historySpan)).toISOString().replace(/\.\d{3}Z$/, "Z");
    roleAssignments.push({
      id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`,
      name,
      type: "Microsoft.Authorization/roleAssignments",
      properties: {
        scope,
        roleDefinitionId: roleDefinitionId.startsWith("/") ? roleDefinitionId : builtInRoleId(subscription, roleDefinitionId),
        principalId,
        principalType,
        createdOn: created,
        updatedOn: created,
        createdBy: DEPLOYER_OBJECT_ID,
      },
    });
  };
  const workloadScope = (identity: SyntheticIdentity, level: number, resourceIds: string[]): string => {
    const group = `/subscriptions/${identity.subscription}/resourceGroups/${identity.resourceGroup}`;
    if (level < 0.05) return `/subscriptions/${identity.subscription}`;
    if (level < 0.4) return group;
    const resource = resourceIds.length > 0 && level < 0.6 ? random.pick(resourceIds) : undefined;
    return resource ?? `${group}/providers/Microsoft.Storage/storageAccounts/st${identity.resourceGroup.replace(/[^a-z0-9]/g, "").slice(0, 18)}`;
  };

  // Managed identities: three assignments each, mostly data-plane roles; a few privileged.
  const identityRoles = [ROLE.reader, ROLE.keyVaultSecretsUser, ROLE.storageBlobDataContributor, ROLE.storageBlobDataReader, ROLE.managedIdentityOperator];
  for (let n = 0; n < toIdentities; n += 1) {
    const identity = identities[n % identityCount];
    if (!identity) continue;
    const draw = random.float();
    const role = draw < 0.01 ? ROLE.contributor : draw < 0.013 ? ROLE.owner : draw < 0.02 ? random.pick(customRoleIds) : random.pick(identityRoles);
    addAssignment(workloadScope(identity, random.float(), resourceIdsByIdentity[n % identityCount] ?? []), identity.subscription, role, identity.principalId, "ServicePrincipal");
  }
  // Users, groups and applications: wider roles at subscription or resource-group scope.
  const peopleRoles = [ROLE.reader, ROLE.reader, ROLE.reader, ROLE.contributor, ROLE.owner, ROLE.userAccessAdministrator, ROLE.keyVaultSecretsUser];
  for (let n = 0; n < toOthers; n += 1) {
    const principal = otherPrincipals[n % otherPrincipals.length];
    const identity = identities[random.int(identityCount)];
    if (!principal || !identity) continue;
    const role = random.float() < 0.03 ? random.pick(customRoleIds) : random.pick(peopleRoles);
    addAssignment(workloadScope(identity, random.float() * 0.4, []), identity.subscription, role, principal.id, principal.type);
  }
  managementGroupGrants.forEach(([group, role], n) => {
    const principal = otherPrincipals[(n * 7919) % otherPrincipals.length];
    if (principal) addAssignment(managementGroupScope(group), subscriptionIds[0] ?? "", role, principal.id, principal.type);
  });
  // Orphans: principals deleted from the directory (two assignments each), old enough to report.
  for (let n = 0; n < orphaned; n += 1) {
    const principal = orphanPrincipals[n % orphanPrincipals.length];
    const identity = identities[random.int(identityCount)];
    if (!principal || !identity) continue;
    addAssignment(workloadScope(identity, random.float() * 0.6, []), identity.subscription, random.pick(peopleRoles), principal.id, principal.type);
  }
  // ForeignGroup principals live in another tenant: never looked up.
  for (let n = 0; n < foreign; n += 1) {
    const identity = identities[random.int(identityCount)];
    if (!identity) continue;
    addAssignment(workloadScope(identity, random.float() * 0.4, []), identity.subscription, ROLE.reader, foreignGroups[n % foreignGroups.length] ?? "", "ForeignGroup");
  }

  const privilege = plantPrivilege(new Prng(options.seed ^ 0x2424), { subscriptions, otherPrincipals, identities, directory, builtInRoleId });

  const perScope = new Map<string, number>();
  for (const assignment of roleAssignments) {
    const scope = assignment.properties.scope;
    const key = scope.startsWith("/providers/") ? scope.toLowerCase() : (/^\/subscriptions\/[^/]+/.exec(scope)?.[0] ?? scope).toLowerCase();
    perScope.set(key, (perScope.get(key) ?? 0) + 1);
  }
  for (const [scope, count] of perScope) {
    const limit = scope.startsWith("/providers/") ? MANAGEMENT_GROUP_LIMIT : SUBSCRIPTION_LIMIT;
    if (count > limit) throw new Error(`synthetic estate: ${count} role assignments in ${scope}, above Azure's limit of ${limit}`);
  }

  const lookedUp = new Set<string>();
  for (const assignment of roleAssignments) {
    if (assignment.properties.principalType !== "ForeignGroup") lookedUp.add(assignment.properties.principalId.toLowerCase());
  }
  const estate: Estate = {
    tenantId: BENCH_TENANT,
    subscriptions,
    resources,
    directory,
    roleDefinitions: customRoles,
    roleAssignments,
    federatedCredentials,
    signIns: [],
    baseline: { attachments: baseline },
    emulator: { latencyMs: 0, faults: [], seed: options.seed },
    ...privilege.estate,
  };
  return {
    estate,
    summary: {
      assignments: roleAssignments.length,
      identities: identityCount,
      untaggedIdentities,
      attachments: attachmentCount,
      orphanedAssignments: orphaned,
      foreignGroupAssignments: foreign,
      federatedCredentials: federatedCredentials.length,
      customRoleDefinitions: customRoles.length,
      directoryObjects: directory.length,
      lookedUpPrincipals: lookedUp.size,
      ...privilege.summary,
    },
  };
}

const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";
/** Tiered directory roles (shared/rules/data/entra-directory-roles.json) and Graph app roles, tiered and not. */
const DIRECTORY_ROLES = {
  globalAdministrator: "62e90394-69f5-4237-9190-012177145e10",
  privilegedRoleAdministrator: "e8611ab8-c189-46e8-94e1-60213ab1f814",
  applicationAdministrator: "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
  userAdministrator: "fe930be7-5e62-47db-91af-98c3a49a38b1",
  groupsAdministrator: "fdd7a751-b60b-444a-984c-02652fe8fa1c",
  directoryReaders: "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
} as const;
const GRAPH_APP_ROLES = ["7ab1d382-f21e-4acd-a863-ba3e13f7da61", "df021288-bdef-4463-88db-98f22de89214", "62a82d76-70ea-41e2-9197-370581804d09", "b633e1c5-b582-4048-a93e-9f11b44c7e96"] as const;

/**
 * Issue 24's additions, in proportions a landing-zone tenant shows (say so in bench/README.md): every group principal
 * has 3–12 people as members (one group in ten nests another; one in two hundred has a managed identity in it); PIM
 * eligibility for Owner, Contributor and User Access Administrator at each subscription and two at the intermediate root;
 * a few dozen directory role holders whatever the size (one identity in 2,000 among them), one role-assignable group;
 * Graph application permissions on one identity in 50 and one application in five (three of the four permissions drawn are tiered high). Drawn from a
 * stream of its own, so the rest of the estate is what it was.
 */
function plantPrivilege(
  random: Prng,
  estate: {
    subscriptions: Array<{ subscriptionId: string }>;
    otherPrincipals: Array<{ id: string; type: string }>;
    identities: SyntheticIdentity[];
    directory: DirectoryEntry[];
    builtInRoleId: (subscription: string, guid: string) => string;
  },
): { estate: Pick<Estate, "groups" | "directoryRoleAssignments" | "directoryRoleEligibilities" | "appRoleAssignments" | "roleEligibilityScheduleInstances">; summary: Pick<SyntheticSummary, "groups" | "groupMemberships" | "eligibilities" | "directoryRoles" | "appRoleAssignments"> } {
  const users = estate.otherPrincipals.filter((principal) => principal.type === "User");
  const groupPrincipals = estate.otherPrincipals.filter((principal) => principal.type === "Group");
  const apps = estate.otherPrincipals.filter((principal) => principal.type === "ServicePrincipal");
  const groups: Estate["groups"] = groupPrincipals.map((group, n) => {
    const members = new Set(Array.from({ length: 3 + random.int(10) }, () => random.pick(users).id));
    const next = groupPrincipals[(n + 1) % groupPrincipals.length];
    if (n % 10 === 0 && next) members.add(next.id);
    if (n % 200 === 0) members.add(random.pick(estate.identities).principalId);
    members.delete(group.id);
    return { id: group.id, displayName: `group ${n}`, members: [...members] };
  });
  const eligibility = (scope: string, role: string, principal: { id: string; type: string }): Estate["roleEligibilityScheduleInstances"][number] => ({
    id: `${scope}/providers/Microsoft.Authorization/roleEligibilityScheduleInstances/${random.guid()}`,
    properties: { scope, roleDefinitionId: estate.builtInRoleId(estate.subscriptions[0]?.subscriptionId ?? "", role), principalId: principal.id, principalType: principal.type, memberType: "Direct", status: "Provisioned", condition: null, endDateTime: null },
  });
  const admins = [...users.slice(0, 40), ...groupPrincipals.slice(0, 10)];
  const roleEligibilityScheduleInstances = [
    ...estate.subscriptions.flatMap(({ subscriptionId }) => [ROLE.owner, ROLE.contributor, ROLE.userAccessAdministrator].map((role) => eligibility(`/subscriptions/${subscriptionId}`, role, random.pick(admins)))),
    ...[0, 1].map(() => eligibility(managementGroupScope("contoso"), ROLE.owner, random.pick(users))),
  ];
  const tiered = Object.values(DIRECTORY_ROLES);
  const directoryRole = (principalId: string, roleDefinitionId: string) => ({ id: random.guid(), principalId, roleDefinitionId, directoryScopeId: "/" });
  const roleAssignable = { id: random.guid(), displayName: "sg-entra-admins", isAssignableToRole: true, members: Array.from({ length: 4 }, () => random.pick(users).id) };
  estate.directory.push({ id: roleAssignable.id, "@odata.type": "#microsoft.graph.group", displayName: roleAssignable.displayName });
  groups.push(roleAssignable);
  const directoryRoleAssignments = [
    ...Array.from({ length: 30 }, () => directoryRole(random.pick(users).id, random.pick(tiered))),
    ...estate.identities.filter((_, n) => n % 2000 === 1999).map((identity, n) => directoryRole(identity.principalId, n % 2 === 0 ? DIRECTORY_ROLES.userAdministrator : DIRECTORY_ROLES.applicationAdministrator)),
  ];
  const directoryRoleEligibilities = [...Array.from({ length: 15 }, () => directoryRole(random.pick(users).id, random.pick(tiered))), directoryRole(roleAssignable.id, DIRECTORY_ROLES.privilegedRoleAdministrator)];
  const graphSp = random.guid();
  estate.directory.push({ id: graphSp, "@odata.type": "#microsoft.graph.servicePrincipal", displayName: "Microsoft Graph", servicePrincipalType: "Application", appId: GRAPH_APP_ID });
  const appRole = (principalId: string) => ({ id: random.guid(), principalId, principalType: "ServicePrincipal", resourceId: graphSp, appRoleId: random.pick(GRAPH_APP_ROLES) });
  const appRoleAssignments = [...estate.identities.filter((_, n) => n % 50 === 7).map((identity) => appRole(identity.principalId)), ...apps.filter((_, n) => n % 5 === 0).map((app) => appRole(app.id))];
  return {
    estate: { groups, directoryRoleAssignments, directoryRoleEligibilities, appRoleAssignments, roleEligibilityScheduleInstances },
    summary: {
      groups: groups.length,
      groupMemberships: groups.reduce((sum, group) => sum + group.members.length, 0),
      eligibilities: roleEligibilityScheduleInstances.length,
      directoryRoles: directoryRoleAssignments.length + directoryRoleEligibilities.length,
      appRoleAssignments: appRoleAssignments.length,
    },
  };
}
