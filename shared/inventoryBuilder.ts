import type { Policy, Severity } from "./config/policy.js";
import type { AttachedResource, FederatedCredential, Identity, RoleAssignment, RoleDefinition, Subscription, Tags } from "./model.js";
import { idKey, roleDefinitionGuid } from "./model.js";
import { ExposureCollector, exposureOf, type ExposureEntry } from "./rules/lib/exposure.js";
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
  roleAssignments: Array<{ id: string; scope: string; roleDefinitionId: string; roleName: string | null }>;
  federatedCredentials: Array<{ id: string; issuer: string; subject: string }>;
  /** docs/rules/privileged-identity-exposed.md: critical or high, else null. */
  grade: Extract<Severity, "critical" | "high"> | null;
  /** Who can act as the identity (graded identities only), after the exclusions of docs/rules/privileged-identity-exposed.md "What it reports" (not holders). */
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

  constructor(identities: Identity[], roleDefinitions: RoleDefinition[]) {
    this.identities = identities;
    const definitions = new Map<string, RoleDefinition>();
    for (const definition of roleDefinitions) {
      this.roleNames.set(definition.name.toLowerCase(), definition.roleName);
      definitions.set(definition.name.toLowerCase(), definition);
    }
    this.exposure = new ExposureCollector(definitions);
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
      this.exposure.add(assignment, status);
      const holder = this.byPrincipal.get(assignment.principalId.toLowerCase());
      if (!holder) continue;
      holder.roleAssignments.push({
        id: assignment.id,
        scope: assignment.scope,
        roleDefinitionId: assignment.roleDefinitionId,
        roleName: this.roleNames.get(roleDefinitionGuid(assignment.roleDefinitionId)) ?? null,
      });
    }
  }

  /** The holders over graded identities before exclusions (to look up in the directory). */
  exposureHolders(policy: Policy, subscriptions: Subscription[]): string[] {
    const holders = new Set<string>();
    for (const entry of this.exposures(policy, subscriptions).values()) for (const right of entry.exposure) {
        // Only these types can be looked up (docs/guarantees.md "Unknown is never deleted"); the rest stay unknown, never missing.
        if (LOOKED_UP_TYPES.has(right.principalType.toLowerCase())) holders.add(right.principalId);
      }
    return [...holders];
  }

  private exposures(policy: Policy, subscriptions: Subscription[]): Map<string, { grade: Severity; exposure: ExposureEntry[] }> {
    const tree = new ScopeTree(subscriptions);
    const result = new Map<string, { grade: Severity; exposure: ExposureEntry[] }>();
    for (const identity of this.identities) {
      const key = idKey(identity.id);
      const exposure = exposureOf(identity, this.exposure, this.attachments.get(key) ?? [], tree, policy);
      if (exposure) result.set(key, exposure);
    }
    return result;
  }

  build(policy?: Policy, subscriptions: Subscription[] = []): Inventory {
    if (policy) {
      for (const [key, exposure] of this.exposures(policy, subscriptions)) {
        const entry = this.byId.get(key);
        if (!entry) continue;
        entry.grade = exposure.grade === "critical" ? "critical" : "high";
        entry.exposure = exposure.exposure;
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
