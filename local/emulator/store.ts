import type {
  DirectoryEntry,
  Estate,
  EstateFederatedCredential,
  EstateResource,
  EstateRoleAssignment,
  EstateRoleDefinition,
} from "./estate.js";
import { builtInRoleDefinitions } from "./builtinRoles.js";

/**
 * The emulator's in-memory copy of the estate, indexed by lower-cased id (ARM ids are
 * case-insensitive). Mutations bump `generation`, which invalidates cached Resource Graph results.
 */
export class EstateStore {
  readonly tenantId: string;
  readonly resources = new Map<string, EstateResource>();
  readonly roleAssignments = new Map<string, EstateRoleAssignment>();
  readonly roleDefinitions = new Map<string, EstateRoleDefinition>();
  readonly federatedCredentials = new Map<string, EstateFederatedCredential>();
  readonly directory = new Map<string, DirectoryEntry>();
  generation = 0;

  constructor(private readonly estate: Estate) {
    this.tenantId = estate.tenantId;
    for (const resource of estate.resources) this.resources.set(resource.id.toLowerCase(), resource);
    for (const assignment of estate.roleAssignments) this.roleAssignments.set(assignment.id.toLowerCase(), assignment);
    for (const definition of builtInRoleDefinitions()) this.roleDefinitions.set(definition.name.toLowerCase(), definition);
    for (const definition of estate.roleDefinitions) this.roleDefinitions.set(definition.name.toLowerCase(), definition);
    for (const credential of estate.federatedCredentials) this.federatedCredentials.set(credential.id.toLowerCase(), credential);
    for (const entry of estate.directory) this.directory.set(entry.id.toLowerCase(), entry);
  }

  get settings(): Estate["emulator"] {
    return this.estate.emulator;
  }

  get subscriptions(): Estate["subscriptions"] {
    return this.estate.subscriptions;
  }

  get signIns(): Estate["signIns"] {
    return this.estate.signIns;
  }

  touch(): void {
    this.generation += 1;
  }

  customRoleDefinitions(): EstateRoleDefinition[] {
    const builtIn = new Set(builtInRoleDefinitions().map((definition) => definition.name.toLowerCase()));
    return [...this.roleDefinitions.values()].filter((definition) => !builtIn.has(definition.name.toLowerCase()));
  }

  /** The estate as it is now, in the estate-file format (for --save-estate). */
  snapshot(): Estate {
    return {
      ...this.estate,
      resources: [...this.resources.values()],
      roleAssignments: [...this.roleAssignments.values()],
      roleDefinitions: this.customRoleDefinitions(),
      federatedCredentials: [...this.federatedCredentials.values()],
      directory: [...this.directory.values()],
    };
  }
}
