import type { Policy, Severity } from "./config/policy.js";
import type { AttachedResource, FederatedCredential, Identity, RoleAssignment, RoleDefinition, Subscription, Tags } from "./model.js";
import { idKey, roleDefinitionGuid } from "./model.js";
import { ExposureCollector, type ExposureEntry, type GradeReason, type IdentityExposure } from "./rules/lib/exposure.js";
import { exposureOf, exposureRows } from "./rules/lib/holders.js";
import { ScopeTree } from "./rules/lib/scopes.js";
import type { PrincipalStatus } from "./rules/types.js";

/** One identity as an access review needs it: all three ids, where it is attached, what it may do. */
export interface InventoryIdentity {
  id: string;
  name: string;
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  clientId: string;
  principalId: string;
  tags: Tags;
  attachedTo: string[];
  roleAssignments: Array<{ id: string; scope: string; roleDefinitionId: string; roleName: string | null; condition?: string }>;
  federatedCredentials: Array<{ id: string; issuer: string; subject: string }>;
  /** docs/rules/privileged-identity-exposed.md: critical or high, else null. */
  grade: Extract<Severity, "critical" | "high"> | null;
  /** What gives the grade: role assignments and eligibilities (direct or `viaGroup`), directory roles, Graph permissions. */
  gradeReasons: GradeReason[];
  /** Who can act as the identity (graded identities only), after the exclusions of docs/rules/privileged-identity-exposed.md "What it reports" (not holders); group members one by one with `viaGroup`. */
  exposure: ExposureEntry[];
}

export interface Inventory {
  identities: InventoryIdentity[];
}

/**
 * Joins identities with attachments, federated credentials and role assignments. Role assignments
 * are fed page by page; only those held by an inventoried identity are kept.
 */
export class InventoryBuilder {
  private readonly byId = new Map<string, InventoryIdentity>();
  private readonly byPrincipal = new Map<string, InventoryIdentity>();
  private readonly roleNames = new Map<string, string>();
  private readonly identities: Identity[];
  private readonly attachments = new Map<string, AttachedResource[]>();
  readonly exposure: ExposureCollector;
  /** False when the exposure collector is a sweep's: the sweep feeds it, so role assignments are not added twice. */
  private readonly feedsExposure: boolean;

  /** `exposure`: a sweep's collector to grade from (the report reads the estate once); else one of its own. */
  constructor(identities: Identity[], roleDefinitions: RoleDefinition[], policy?: Policy, exposure?: ExposureCollector) {
    this.identities = identities;
    const definitions = new Map<string, RoleDefinition>();
    for (const definition of roleDefinitions) {
      this.roleNames.set(definition.name.toLowerCase(), definition.roleName);
      definitions.set(definition.name.toLowerCase(), definition);
    }
    const appIds = policy ? new Set(policy.approvedPipelines.flatMap((pipeline) => (pipeline.appId ? [pipeline.appId.toLowerCase()] : []))) : undefined;
    this.exposure = exposure ?? new ExposureCollector(definitions, appIds ? { appIds } : {});
    this.feedsExposure = exposure === undefined;
    for (const identity of identities) {
      const entry: InventoryIdentity = {
        id: identity.id,
        name: identity.name,
        subscriptionId: identity.subscriptionId,
        resourceGroup: identity.resourceGroup,
        location: identity.location,
        clientId: identity.clientId,
        principalId: identity.principalId,
        tags: identity.tags,
        attachedTo: [],
        roleAssignments: [],
        federatedCredentials: [],
        grade: null,
        gradeReasons: [],
        exposure: [],
      };
      this.byId.set(idKey(identity.id), entry);
      if (identity.principalId) this.byPrincipal.set(identity.principalId.toLowerCase(), entry);
    }
  }

  addAttachments(resources: AttachedResource[]): void {
    for (const resource of resources) {
      for (const identityId of resource.userAssignedIdentityIds) {
        this.byId.get(idKey(identityId))?.attachedTo.push(resource.id);
        const key = idKey(identityId);
        const list = this.attachments.get(key);
        if (list) list.push(resource);
        else this.attachments.set(key, [resource]);
      }
    }
  }

  addFederatedCredentials(credentials: FederatedCredential[]): void {
    for (const credential of credentials) {
      this.byId.get(idKey(credential.identityId))?.federatedCredentials.push({
        id: credential.id,
        issuer: credential.issuer,
        subject: credential.subject,
      });
    }
  }

  /** `status`: the principal's directory answer when the caller looked it up (unknown: not excluded as missing). */
  addRoleAssignments(assignments: RoleAssignment[], status: PrincipalStatus = UNKNOWN): void {
    for (const assignment of assignments) {
      if (this.feedsExposure) this.exposure.add(assignment, status);
      const holder = this.byPrincipal.get(assignment.principalId.toLowerCase());
      if (!holder) continue;
      holder.roleAssignments.push({
        id: assignment.id,
        scope: assignment.scope,
        roleDefinitionId: assignment.roleDefinitionId,
        roleName: this.roleNames.get(roleDefinitionGuid(assignment.roleDefinitionId)) ?? null,
        ...(assignment.condition ? { condition: assignment.condition } : {}),
      });
    }
  }

  /** The holders over graded identities (groups' members aside), to look up in the directory: names, and deleted ones left out. */
  exposureHolders(policy: Policy, subscriptions: Subscription[]): string[] {
    const holders = new Set<string>();
    for (const entry of this.exposures(policy, subscriptions).values()) {
      for (const holder of entry.holders) {
        // Only these types can be looked up (docs/guarantees.md "Unknown is never deleted"); the rest stay unknown, never missing.
        if (LOOKED_UP_TYPES.has(holder.principalType.toLowerCase())) holders.add(holder.principalId);
      }
    }
    return [...holders];
  }

  private exposures(policy: Policy, subscriptions: Subscription[]): Map<string, IdentityExposure & { identity: Identity }> {
    const tree = new ScopeTree(subscriptions);
    const result = new Map<string, IdentityExposure & { identity: Identity }>();
    for (const identity of this.identities) {
      const key = idKey(identity.id);
      const exposure = exposureOf(identity, this.exposure, this.attachments.get(key) ?? [], tree, policy);
      if (exposure) result.set(key, { ...exposure, identity });
    }
    return result;
  }

  build(policy?: Policy, subscriptions: Subscription[] = []): Inventory {
    if (policy) {
      for (const [key, exposure] of this.exposures(policy, subscriptions)) {
        const entry = this.byId.get(key);
        if (!entry) continue;
        entry.grade = exposure.grade === "critical" ? "critical" : "high";
        entry.gradeReasons = exposure.reasons;
        entry.exposure = exposureRows(exposure.identity, exposure.holders);
      }
    }
    const identities = [...this.byId.values()].sort((a, b) => compare(a.id, b.id));
    for (const identity of identities) {
      identity.attachedTo.sort(compare);
      identity.roleAssignments.sort((a, b) => compare(a.id, b.id));
      identity.federatedCredentials.sort((a, b) => compare(a.id, b.id));
    }
    return { identities };
  }
}

const UNKNOWN: PrincipalStatus = { state: "unknown" };
const LOOKED_UP_TYPES = new Set(["user", "group", "serviceprincipal"]);

function compare(a: string, b: string): number {
  const left = a.toLowerCase();
  const right = b.toLowerCase();
  return left < right ? -1 : left > right ? 1 : 0;
}
