import type { AttachedResource, FederatedCredential, Identity, RoleAssignment, RoleDefinition, Tags } from "./model.js";
import { idKey, roleDefinitionGuid } from "./model.js";

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

  constructor(identities: Identity[], roleDefinitions: RoleDefinition[]) {
    for (const definition of roleDefinitions) this.roleNames.set(definition.name.toLowerCase(), definition.roleName);
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
      };
      this.byId.set(idKey(identity.id), entry);
      if (identity.principalId) this.byPrincipal.set(identity.principalId.toLowerCase(), entry);
    }
  }

  addAttachments(resources: AttachedResource[]): void {
    for (const resource of resources) {
      for (const identityId of resource.userAssignedIdentityIds) {
        this.byId.get(idKey(identityId))?.attachedTo.push(resource.id);
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

  addRoleAssignments(assignments: RoleAssignment[]): void {
    for (const assignment of assignments) {
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

  build(): Inventory {
    const identities = [...this.byId.values()].sort((a, b) => compare(a.id, b.id));
    for (const identity of identities) {
      identity.attachedTo.sort(compare);
      identity.roleAssignments.sort((a, b) => compare(a.id, b.id));
      identity.federatedCredentials.sort((a, b) => compare(a.id, b.id));
    }
    return { identities };
  }
}

function compare(a: string, b: string): number {
  const left = a.toLowerCase();
  const right = b.toLowerCase();
  return left < right ? -1 : left > right ? 1 : 0;
}
