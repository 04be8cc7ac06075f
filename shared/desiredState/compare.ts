import type { AttachedResource, FederatedCredential, Identity, PrincipalStatus, RoleAssignment, RoleDefinition } from "../model.js";
import { idKey, roleDefinitionGuid } from "../model.js";
import type { DeclaredAttachments, DeclaredCredential, DeclaredIdentity, DeclaredRoleAssignment, SourceRead } from "./model.js";
import { withinAny } from "./scopes.js";

/**
 * The comparison of what Azure has with what the desired-state sources declare, inside each source's
 * scopes (pure). Built before the sweep streams role assignments; each assignment is observed once as it
 * arrives (only managed-identity grants and declared ones are kept); `finish` compares the rest.
 * Ids compare case-insensitively. A source that could not be read blocks every report under its scopes.
 */

export type DriftKind = "not-in-code" | "missing-in-azure" | "changed";
export type DriftThing = "identity" | "attachment" | "role-assignment" | "federated-credential";

export interface DriftEntry {
  kind: DriftKind;
  thing: DriftThing;
  subjectId: string;
  relatedId?: string;
  /** The sources that declare it (missing, changed) or whose scopes hold it (not in code). */
  sources: string[];
  /** A federated credential's identity (evidence only: the related id is an attachment's alone). */
  identityId?: string;
  /** Terraform address or what-if resourceId of the declaration. */
  address?: string;
  declared?: Record<string, unknown>;
  actual?: Record<string, unknown>;
  /** changed: which fields differ (`role`, `scope`, `condition`, `issuer`, `subject`, `audiences`). */
  differences?: string[];
}

export interface DriftSourceSummary {
  path: string;
  format: string;
  scopes: string[];
  status: "read" | "unreadable";
  reason?: string;
  files?: string[];
  declared: { identities: number; attachments: number; roleAssignments: number; federatedCredentials: number };
  drift: Record<DriftKind, number>;
}

export interface DriftResult {
  entries: DriftEntry[];
  sources: DriftSourceSummary[];
}

interface Owned<T> {
  declaration: T;
  source: string;
}

/** What the sweep read besides role assignments. */
export interface ActualInventory {
  attachments: AttachedResource[];
  federatedCredentials: FederatedCredential[];
  /** Identities (lower-cased ids) whose credentials ARM did not list. */
  credentialsUnknown: ReadonlySet<string>;
  /** Whether the sweep read the place this id lives (its subscription), so that absence there means something. */
  read: (id: string) => boolean;
}

const MANAGED_IDENTITY = "managedidentity";
const NONE: readonly never[] = [];

export class DriftComparison {
  private readonly readable: Array<Extract<SourceRead, { ok: true }>>;
  private readonly unreadableScopes: string[];
  private readonly notCompared = new Set<string>();
  private readonly identitiesById = new Map<string, Owned<DeclaredIdentity>[]>();
  private readonly identitiesByName = new Map<string, Owned<DeclaredIdentity>[]>();
  private readonly assignmentsById = new Map<string, Owned<DeclaredRoleAssignment>[]>();
  private readonly assignmentsByPair = new Map<string, Owned<DeclaredRoleAssignment>[]>();
  private readonly seenAssignments = new Set<DeclaredRoleAssignment>();
  private readonly managedPrincipals = new Set<string>();
  private readonly entries: DriftEntry[] = [];
  private readonly roles: RoleNames;

  constructor(
    private readonly sources: readonly SourceRead[],
    private readonly identities: readonly Identity[],
    private readonly roleDefinitions: ReadonlyMap<string, RoleDefinition>,
  ) {
    this.readable = sources.filter((source): source is Extract<SourceRead, { ok: true }> => source.ok);
    this.unreadableScopes = sources.filter((source) => !source.ok).flatMap((source) => source.scopes);
    this.roles = new RoleNames(roleDefinitions);
    for (const identity of identities) if (identity.principalId) this.managedPrincipals.add(identity.principalId.toLowerCase());
    for (const source of this.readable) {
      for (const id of source.state.notCompared) this.notCompared.add(idKey(id));
      for (const declaration of source.state.identities) {
        if (declaration.principalId) this.managedPrincipals.add(declaration.principalId.toLowerCase());
        if (declaration.id) {
          if (this.owns(source, declaration.id)) push(this.identitiesById, idKey(declaration.id), { declaration, source: source.path });
        } else if (declaration.name && declaration.resourceGroup) {
          push(this.identitiesByName, nameKey(declaration.resourceGroup, declaration.name), { declaration, source: source.path });
        }
      }
      for (const declaration of source.state.roleAssignments) {
        const where = declaration.id ?? declaration.scope;
        if (!where || !this.owns(source, where)) continue;
        if (declaration.id) push(this.assignmentsById, idKey(declaration.id), { declaration, source: source.path });
        else if (declaration.scope && declaration.principalId) push(this.assignmentsByPair, pairKey(declaration.scope, declaration.principalId), { declaration, source: source.path });
      }
    }
  }

  /** A source speaks for an id inside its scopes, unless an unreadable source's scopes hold it too. */
  private owns(source: Extract<SourceRead, { ok: true }>, id: string): boolean {
    return withinAny(id, source.scopes) && !this.blocked(id);
  }

  private blocked(id: string): boolean {
    return withinAny(id, this.unreadableScopes) || this.notCompared.has(idKey(id));
  }

  /** The readable sources whose scopes hold this id ([] when none, or when an unreadable one holds it). */
  private covering(id: string): string[] {
    if (this.blocked(id)) return [];
    return this.readable.filter((source) => withinAny(id, source.scopes)).map((source) => source.path);
  }

  private isManaged(principalId: string, principal: PrincipalStatus): boolean {
    if (this.managedPrincipals.has(principalId.toLowerCase())) return true;
    return principal.state === "found" && principal.object.servicePrincipalType?.toLowerCase() === MANAGED_IDENTITY;
  }

  /** One role assignment as it streams in. */
  observeRoleAssignment(assignment: RoleAssignment, principal: PrincipalStatus): void {
    const managed = this.isManaged(assignment.principalId, principal);
    if (managed) this.managedPrincipals.add(assignment.principalId.toLowerCase());
    // Every assignment of the tenant passes here: no key is built for a map that is empty.
    const byId = this.assignmentsById.size > 0 ? (this.assignmentsById.get(idKey(assignment.id)) ?? NONE) : NONE;
    const paired = this.assignmentsByPair.size > 0 ? this.assignmentsByPair.get(pairKey(assignment.scope, assignment.principalId)) : undefined;
    const byPair = paired ? paired.filter((owned) => this.roles.sameRole(owned.declaration, assignment) !== false) : NONE;
    const matched = byPair.length === 0 ? byId : [...byId, ...byPair];
    if (matched.length > 0) {
      for (const owned of matched) this.seenAssignments.add(owned.declaration);
      const differ = disagreement(matched, (declaration) => assignmentDifferences(declaration, assignment, this.roles));
      if (differ) {
        this.entries.push({
          kind: "changed",
          thing: "role-assignment",
          subjectId: assignment.id,
          sources: differ.sources,
          address: differ.declaration.address,
          declared: declaredAssignment(differ.declaration),
          actual: actualAssignment(assignment, this.roleDefinitions),
          differences: differ.differences,
        });
      }
      return;
    }
    if (!managed) return;
    const sources = this.covering(assignment.id);
    if (sources.length === 0) return;
    this.entries.push({ kind: "not-in-code", thing: "role-assignment", subjectId: assignment.id, sources, actual: actualAssignment(assignment, this.roleDefinitions) });
  }

  /** Everything else, once the role assignments have streamed. */
  finish(actual: ActualInventory): DriftResult {
    this.compareIdentities(actual);
    this.compareAttachments(actual);
    this.compareCredentials(actual);
    this.missingAssignments(actual);
    return { entries: this.entries, sources: this.summaries() };
  }

  private compareIdentities(actual: ActualInventory): void {
    const present = new Set<string>();
    for (const identity of this.identities) {
      present.add(idKey(identity.id));
      if (this.identitiesById.has(idKey(identity.id))) continue;
      const sources = this.covering(identity.id);
      if (sources.length === 0) continue;
      // A plan that does not know the id yet names the identity by resource group and name.
      const byName = (this.identitiesByName.get(nameKey(identity.resourceGroup, identity.name)) ?? []).filter((owned) => sources.includes(owned.source));
      if (byName.length > 0) continue;
      this.entries.push({ kind: "not-in-code", thing: "identity", subjectId: identity.id, sources, actual: { name: identity.name, resourceGroup: identity.resourceGroup, principalId: identity.principalId } });
    }
    for (const [key, owned] of this.identitiesById) {
      const [first] = owned;
      if (!first?.declaration.id || present.has(key) || !actual.read(first.declaration.id)) continue;
      this.entries.push({ kind: "missing-in-azure", thing: "identity", subjectId: first.declaration.id, sources: unique(owned.map((item) => item.source)), address: first.declaration.address, declared: { ...first.declaration } });
    }
  }

  private compareAttachments(actual: ActualInventory): void {
    const declared = new Map<string, { owned: Owned<DeclaredAttachments>[]; identities: Map<string, string>; complete: boolean }>();
    for (const source of this.readable) {
      for (const declaration of source.state.attachments) {
        if (!this.owns(source, declaration.resourceId)) continue;
        const key = idKey(declaration.resourceId);
        const entry = declared.get(key) ?? { owned: [], identities: new Map<string, string>(), complete: true };
        entry.owned.push({ declaration, source: source.path });
        for (const identityId of declaration.identityIds) entry.identities.set(idKey(identityId), identityId);
        entry.complete &&= declaration.complete;
        declared.set(key, entry);
      }
    }
    const present = new Map<string, Set<string>>();
    for (const resource of actual.attachments) {
      const key = idKey(resource.id);
      present.set(key, new Set(resource.userAssignedIdentityIds.map(idKey)));
      const wanted = declared.get(key);
      const sources = this.covering(resource.id);
      if (sources.length === 0 || (wanted && !wanted.complete)) continue;
      for (const identityId of resource.userAssignedIdentityIds) {
        if (wanted?.identities.has(idKey(identityId))) continue;
        this.entries.push({
          kind: "not-in-code",
          thing: "attachment",
          subjectId: resource.id,
          relatedId: identityId,
          sources: wanted ? unique(wanted.owned.map((owned) => owned.source)) : sources,
          ...(wanted?.owned[0] ? { address: wanted.owned[0].declaration.address } : {}),
          declared: { identityIds: wanted ? [...wanted.identities.values()] : [] },
          actual: { resourceType: resource.type, identityIds: resource.userAssignedIdentityIds },
        });
      }
    }
    for (const [key, wanted] of declared) {
      const [first] = wanted.owned;
      if (!first || !actual.read(first.declaration.resourceId)) continue;
      const has = present.get(key) ?? new Set<string>();
      for (const [identityKey, identityId] of wanted.identities) {
        if (has.has(identityKey)) continue;
        this.entries.push({
          kind: "missing-in-azure",
          thing: "attachment",
          subjectId: first.declaration.resourceId,
          relatedId: identityId,
          sources: unique(wanted.owned.map((owned) => owned.source)),
          address: first.declaration.address,
          declared: { identityIds: [...wanted.identities.values()] },
          actual: { identityIds: [...has] },
        });
      }
    }
  }

  private compareCredentials(actual: ActualInventory): void {
    const declared = new Map<string, Owned<DeclaredCredential>[]>();
    for (const source of this.readable) {
      for (const declaration of source.state.federatedCredentials) {
        if (declaration.id && this.owns(source, declaration.id)) push(declared, idKey(declaration.id), { declaration, source: source.path });
      }
    }
    const present = new Set<string>();
    for (const credential of actual.federatedCredentials) {
      const key = idKey(credential.id);
      present.add(key);
      const owned = declared.get(key);
      if (owned) {
        const differ = disagreement(owned, (declaration) => credentialDifferences(declaration, credential));
        if (differ) {
          this.entries.push({
            kind: "changed",
            thing: "federated-credential",
            subjectId: credential.id,
            sources: differ.sources,
            address: differ.declaration.address,
            declared: pick(differ.declaration, ["issuer", "subject", "audiences"]),
            actual: actualCredential(credential),
            identityId: credential.identityId,
            differences: differ.differences,
          });
        }
        continue;
      }
      const sources = this.covering(credential.id);
      if (sources.length === 0) continue;
      this.entries.push({ kind: "not-in-code", thing: "federated-credential", subjectId: credential.id, identityId: credential.identityId, sources, actual: actualCredential(credential) });
    }
    for (const [key, owned] of declared) {
      const [first] = owned;
      const id = first?.declaration.id;
      if (!first || !id || present.has(key) || !actual.read(id)) continue;
      const identityId = first.declaration.identityId ?? id.slice(0, id.toLowerCase().lastIndexOf("/federatedidentitycredentials/"));
      // ARM did not list this identity's credentials: absent from the listing is not absent from Azure.
      if (actual.credentialsUnknown.has(idKey(identityId))) continue;
      this.entries.push({
        kind: "missing-in-azure",
        thing: "federated-credential",
        subjectId: id,
        identityId,
        sources: unique(owned.map((item) => item.source)),
        address: first.declaration.address,
        declared: pick(first.declaration, ["issuer", "subject", "audiences"]),
      });
    }
  }

  /** Declared grants to managed identities that did not stream in. */
  private missingAssignments(actual: ActualInventory): void {
    for (const owned of this.assignmentsById.values()) {
      const [first] = owned;
      const declaration = first?.declaration;
      if (!first || !declaration?.id || owned.some((item) => this.seenAssignments.has(item.declaration))) continue;
      if (!declaration.principalId || !this.managedPrincipals.has(declaration.principalId.toLowerCase())) continue;
      if (!actual.read(declaration.id)) continue;
      this.entries.push({
        kind: "missing-in-azure",
        thing: "role-assignment",
        subjectId: declaration.id,
        sources: unique(owned.map((item) => item.source)),
        address: declaration.address,
        declared: declaredAssignment(declaration),
      });
    }
  }

  private summaries(): DriftSourceSummary[] {
    return this.sources.map((source) => {
      const drift: Record<DriftKind, number> = { "not-in-code": 0, "missing-in-azure": 0, changed: 0 };
      for (const entry of this.entries) if (entry.sources.includes(source.path)) drift[entry.kind] += 1;
      const summary: DriftSourceSummary = {
        path: source.path,
        format: source.format,
        scopes: source.scopes,
        status: source.ok ? "read" : "unreadable",
        declared: source.ok
          ? { identities: source.state.identities.length, attachments: source.state.attachments.reduce((sum, item) => sum + item.identityIds.length, 0), roleAssignments: source.state.roleAssignments.length, federatedCredentials: source.state.federatedCredentials.length }
          : { identities: 0, attachments: 0, roleAssignments: 0, federatedCredentials: 0 },
        drift,
      };
      if (source.ok) summary.files = source.files;
      else summary.reason = source.reason;
      return summary;
    });
  }
}

/** Role definitions by name, to resolve a role a source gives by name (`role_definition_name`). */
export class RoleNames {
  private readonly guidsByName = new Map<string, Set<string>>();

  constructor(private readonly definitions: ReadonlyMap<string, RoleDefinition>) {
    for (const definition of definitions.values()) {
      const name = definition.roleName.toLowerCase();
      if (!name) continue;
      const guids = this.guidsByName.get(name) ?? new Set<string>();
      guids.add(roleDefinitionGuid(definition.id));
      this.guidsByName.set(name, guids);
    }
  }

  /** undefined: the role could not be told (a name no definition read has), so it is not compared. */
  sameRole(declaration: DeclaredRoleAssignment, assignment: RoleAssignment): boolean | undefined {
    const actual = roleDefinitionGuid(assignment.roleDefinitionId);
    if (declaration.roleDefinitionId) return roleDefinitionGuid(declaration.roleDefinitionId) === actual;
    if (declaration.roleName) {
      const guids = this.guidsByName.get(declaration.roleName.toLowerCase());
      if (guids) return guids.has(actual);
      const actualName = this.definitions.get(actual)?.roleName;
      return actualName ? actualName.toLowerCase() === declaration.roleName.toLowerCase() : undefined;
    }
    return undefined;
  }
}

/** What differs in what matters (role, scope, condition); a field the source did not know is not compared. */
export function assignmentDifferences(declaration: DeclaredRoleAssignment, assignment: RoleAssignment, roles: RoleNames): string[] {
  const differences: string[] = [];
  if (roles.sameRole(declaration, assignment) === false) differences.push("role");
  if (declaration.scope !== undefined && declaration.scope !== assignment.scope && normalScope(declaration.scope) !== normalScope(assignment.scope)) differences.push("scope");
  if (declaration.condition !== undefined && declaration.condition.trim() !== (assignment.condition ?? "").trim()) differences.push("condition");
  return differences;
}

/** Whether the declared assignment names this one: by id, or (id unknown) by scope, principal and role. */
export function namesAssignment(declaration: DeclaredRoleAssignment, assignment: RoleAssignment, roles: RoleNames): boolean {
  if (declaration.id) return idKey(declaration.id) === idKey(assignment.id);
  return (
    declaration.scope !== undefined &&
    declaration.principalId !== undefined &&
    pairKey(declaration.scope, declaration.principalId) === pairKey(assignment.scope, assignment.principalId) &&
    roles.sameRole(declaration, assignment) !== false
  );
}

/** Declared twice (two sources, or a module and its copy): drift only when no declaration agrees; the first that differs speaks. */
function disagreement<T extends { address: string }>(owned: readonly Owned<T>[], differencesOf: (declaration: T) => string[]): { declaration: T; differences: string[]; sources: string[] } | undefined {
  const differing = owned.map((item) => ({ item, differences: differencesOf(item.declaration) })).filter((match) => match.differences.length > 0);
  const [first] = differing;
  if (!first || differing.length !== owned.length) return undefined;
  return { declaration: first.item.declaration, differences: first.differences, sources: unique(differing.map((match) => match.item.source)) };
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function nameKey(resourceGroup: string, name: string): string {
  return `${resourceGroup.toLowerCase()}|${name.toLowerCase()}`;
}

function normalScope(scope: string): string {
  return idKey(scope).replace(/\/+$/, "") || "/";
}

function pairKey(scope: string, principalId: string): string {
  return `${normalScope(scope)}|${principalId.toLowerCase()}`;
}

function declaredAssignment(declaration: DeclaredRoleAssignment): Record<string, unknown> {
  return pick(declaration, ["scope", "roleDefinitionId", "roleName", "principalId", "condition"]);
}

function actualAssignment(assignment: RoleAssignment, definitions: ReadonlyMap<string, RoleDefinition>): Record<string, unknown> {
  const guid = roleDefinitionGuid(assignment.roleDefinitionId);
  return {
    scope: assignment.scope,
    roleDefinitionId: assignment.roleDefinitionId,
    roleName: definitions.get(guid)?.roleName ?? guid,
    principalId: assignment.principalId,
    principalType: assignment.principalType,
    condition: assignment.condition ?? "",
  };
}

function actualCredential(credential: FederatedCredential): Record<string, unknown> {
  return { issuer: credential.issuer, subject: credential.subject, audiences: credential.audiences };
}

export function credentialDifferences(declaration: DeclaredCredential, credential: Pick<FederatedCredential, "issuer" | "subject"> & { audiences?: readonly string[] }): string[] {
  const differences: string[] = [];
  // Entra ID matches a token's issuer and subject exactly: a case or slash difference is a different credential.
  if (declaration.issuer !== undefined && declaration.issuer !== credential.issuer) differences.push("issuer");
  if (declaration.subject !== undefined && declaration.subject !== credential.subject) differences.push("subject");
  if (declaration.audiences !== undefined && credential.audiences !== undefined && !sameSet(declaration.audiences, credential.audiences)) differences.push("audiences");
  return differences;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((item) => right.has(item));
}

function pick<T extends object>(value: T, keys: Array<keyof T>): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const key of keys) if (value[key] !== undefined) picked[String(key)] = value[key];
  return picked;
}

