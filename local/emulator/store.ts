import type {
  DirectoryEntry,
  Estate,
  EstateFederatedCredential,
  EstateResource,
  EstateRoleAssignment,
  EstateRoleDefinition,
} from "./estate.js";
import { builtInRoleDefinitions, isBuiltInRole } from "./builtinRoles.js";

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
  /** Per-resource ETag versions (ARM's optimistic concurrency for If-Match). */
  private readonly versions = new Map<string, number>();
  private versionCounter = 0;
  /** Where each id first appeared, so a saved estate keeps the input's order (a restored item goes back in its place). */
  private readonly order = new Map<string, number>();

  constructor(private readonly estate: Estate) {
    this.tenantId = estate.tenantId;
    for (const resource of estate.resources) this.resources.set(resource.id.toLowerCase(), resource);
    for (const assignment of estate.roleAssignments) this.roleAssignments.set(assignment.id.toLowerCase(), assignment);
    for (const definition of builtInRoleDefinitions()) this.roleDefinitions.set(definition.name.toLowerCase(), definition);
    for (const definition of estate.roleDefinitions) this.roleDefinitions.set(definition.name.toLowerCase(), definition);
    for (const credential of estate.federatedCredentials) this.federatedCredentials.set(credential.id.toLowerCase(), credential);
    for (const entry of estate.directory) this.directory.set(entry.id.toLowerCase(), entry);
    for (const [kind, map] of this.collections()) for (const key of map.keys()) this.order.set(`${kind}|${key}`, this.order.size);
  }

  private collections(): Array<[string, Map<string, unknown>]> {
    return [
      ["resource", this.resources],
      ["roleAssignment", this.roleAssignments],
      ["federatedCredential", this.federatedCredentials],
      ["directory", this.directory],
    ];
  }

  /** The resource's current ETag (quoted, as ARM sends it). */
  etagOf(key: string): string {
    let version = this.versions.get(key);
    if (version === undefined) {
      version = ++this.versionCounter;
      this.versions.set(key, version);
    }
    return `"${version.toString(16).padStart(8, "0")}"`;
  }

  /** A resource changed: it gets a new ETag. */
  changed(key: string): void {
    this.versions.set(key, ++this.versionCounter);
    this.touch();
  }

  private ordered<T>(kind: string, map: Map<string, T>): T[] {
    const keyed = [...map.entries()].map(([key, value]) => {
      const orderKey = `${kind}|${key}`;
      if (!this.order.has(orderKey)) this.order.set(orderKey, this.order.size);
      return { position: this.order.get(orderKey) ?? 0, value };
    });
    return keyed.sort((a, b) => a.position - b.position).map((entry) => entry.value);
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

  private metricsByKey: Map<string, Record<string, number>> | undefined;

  /** The estate's Azure Monitor metric totals for one resource (lower-cased id), over any lookback. */
  metricsOf(resourceKey: string): Record<string, number> | undefined {
    this.metricsByKey ??= new Map(Object.entries(this.estate.metrics ?? {}).map(([id, values]) => [id.toLowerCase(), values]));
    return this.metricsByKey.get(resourceKey);
  }

  touch(): void {
    this.generation += 1;
  }

  private credentialIndex: { generation: number; size: number; byIdentity: Map<string, EstateFederatedCredential[]> } | undefined;

  /**
   * The federated credentials of one identity (lower-cased id), in estate order. Indexed once per store
   * generation: a sweep lists every identity's credentials, and a scan per call made the stand-in, not the
   * sweep, the slow side at 100,000 identities.
   */
  credentialsOf(identityKey: string): EstateFederatedCredential[] {
    let index = this.credentialIndex;
    if (!index || index.generation !== this.generation || index.size !== this.federatedCredentials.size) {
      const byIdentity = new Map<string, EstateFederatedCredential[]>();
      for (const [key, credential] of this.federatedCredentials) {
        const owner = key.slice(0, key.lastIndexOf("/federatedidentitycredentials/"));
        const list = byIdentity.get(owner);
        if (list) list.push(credential);
        else byIdentity.set(owner, [credential]);
      }
      index = { generation: this.generation, size: this.federatedCredentials.size, byIdentity };
      this.credentialIndex = index;
    }
    return index.byIdentity.get(identityKey) ?? [];
  }

  private containers: { generation: number; groups: Array<{ subscriptionId: string; name: string }> } | undefined;

  /**
   * The resource groups the estate's resources are in (as their ids spell them, first seen wins), once
   * per generation: Resource Graph's resourcecontainers lists them beside the subscriptions.
   */
  resourceGroups(): Array<{ subscriptionId: string; name: string }> {
    if (this.containers?.generation === this.generation) return this.containers.groups;
    const seen = new Map<string, { subscriptionId: string; name: string }>();
    for (const resource of this.resources.values()) {
      const match = /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)/i.exec(resource.id);
      if (!match) continue;
      const key = `${match[1]}/${match[2]}`.toLowerCase();
      if (!seen.has(key)) seen.set(key, { subscriptionId: match[1] ?? "", name: match[2] ?? "" });
    }
    this.containers = { generation: this.generation, groups: [...seen.values()] };
    return this.containers.groups;
  }

  /** The management groups the subscriptions' ancestor chains name (first spelling wins). */
  managementGroups(): Array<{ name: string; displayName?: string }> {
    const seen = new Map<string, { name: string; displayName?: string }>();
    for (const subscription of this.subscriptions) {
      for (const entry of subscription.managementGroupAncestorsChain ?? []) {
        if (!seen.has(entry.name.toLowerCase())) seen.set(entry.name.toLowerCase(), { name: entry.name, ...(entry.displayName ? { displayName: entry.displayName } : {}) });
      }
    }
    return [...seen.values()];
  }

  customRoleDefinitions(): EstateRoleDefinition[] {
    return [...this.roleDefinitions.values()].filter((definition) => !isBuiltInRole(definition.name));
  }

  /** The estate as it is now, in the estate-file format (for --save-estate). */
  snapshot(): Estate {
    return {
      ...this.estate,
      resources: this.ordered("resource", this.resources),
      roleAssignments: this.ordered("roleAssignment", this.roleAssignments),
      roleDefinitions: this.customRoleDefinitions(),
      federatedCredentials: this.ordered("federatedCredential", this.federatedCredentials),
      directory: this.ordered("directory", this.directory),
    };
  }
}
