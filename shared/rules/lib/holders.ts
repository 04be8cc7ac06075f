import type { CorePolicy } from "../../config/policyCore.js";
import type { AttachedResource, Identity } from "../../model.js";
import { resourceTypeOf, sameId } from "../../model.js";
import { GRADE_RANK, privilegeContains, type ExposureCollector, type ExposureEntry, type Holder, type IdentityExposure, type IdentityGrade, type Right, type RightEvidence } from "./exposure.js";
import type { RoleFacts } from "./roleFacts.js";
import { ASSIGN_BIT, FEDERATE_BIT, runCodeBit } from "./runCode.js";
import type { ScopeTree } from "./scopes.js";

/** One right found while walking: who, which right, through which grant, on which resource. */
interface Found {
  principal: number;
  right: Right;
  grant: number;
  resourceId?: string;
}

/**
 * docs/rules/privileged-identity-exposed.md for one graded identity: walks only the grants indexed at the scopes that contain the identity
 * (assign, federate, grant) or a resource it is attached to (run code, grant), and keeps a holder unless it is the
 * identity, `self.objectId`, a protected principal, an approved pipeline whose scopes contain the target, a principal
 * the directory lookup found missing, or already as privileged; a group stays unless every transitive member is.
 */
export function exposureOf(identity: Identity, collector: ExposureCollector, attachments: readonly AttachedResource[], tree: ScopeTree, policy: CorePolicy): IdentityExposure | undefined {
  const graded = collector.gradeOf(identity);
  if (!graded) return undefined;
  return { ...graded, holders: holdersOf(collector, identity, graded, attachments, tree, policy) };
}

function holdersOf(collector: ExposureCollector, identity: Identity, graded: IdentityGrade, attachments: readonly AttachedResource[], tree: ScopeTree, policy: CorePolicy): Holder[] {
  const { principals, scopes, grants } = collector;
  const facts = collector.factsFor(policy);
  const own = principals.find(identity.principalId);
  const needed = GRADE_RANK[graded.grade];
  const verdicts = new Map<number, boolean>();
  // Excluded whatever the target: the identity, missing, self/protected, already as privileged (its own grants only).
  const excluded = (principal: number): boolean => {
    let verdict = verdicts.get(principal);
    if (verdict === undefined) {
      verdict = principal === own || principals.isMissing(principal) || facts.excluded.has(principal) || asPrivileged(collector, principal, needed, graded.scopes, tree);
      verdicts.set(principal, verdict);
    }
    return verdict;
  };
  const approvedFor = (principal: number, target: string): boolean => {
    const pipelines = facts.pipelines.get(principal);
    return pipelines !== undefined && pipelines.some((pipeline) => !pipeline.scopes || pipeline.scopes.length === 0 || pipeline.scopes.some((scope) => tree.contains(scope, target)));
  };
  /** Members of a group that can act through it at `target`: users and service principals not excluded (once per group and target). */
  const acting = new Map<string, number[]>();
  const actingMembers = (group: number, target: string): number[] => {
    const key = `${group}\u0000${target}`;
    let members = acting.get(key);
    if (!members) {
      members = [];
      for (const member of collector.members.get(group) ?? []) if (!principals.isGroup(member) && !excluded(member) && !approvedFor(member, target)) members.push(member);
      acting.set(key, members);
    }
    return members;
  };
  const holds = (principal: number, target: string): boolean => {
    if (excluded(principal) || approvedFor(principal, target)) return false;
    // A group whose members were never read (or could not be) stays a holder; one read empty, or all of whose members are excluded, does not.
    if (!principals.isGroup(principal) || !collector.members.has(principal)) return true;
    return actingMembers(principal, target).length > 0;
  };

  const found: Found[] = [];
  const walk = (target: string, rightsAt: (role: number, scope: number) => readonly Right[], resourceId?: string): void => {
    for (const key of tree.ancestorsOf(target)) {
      const scope = scopes.find(key);
      if (scope === undefined) continue;
      collector.rightsAt.forEach(scope, (grant) => {
        const rights = rightsAt(grants.roleOf(grant), scope);
        if (rights.length === 0) return;
        const principal = grants.principalOf(grant);
        if (!holds(principal, target)) return;
        for (const right of rights) found.push(resourceId ? { principal, right, grant, resourceId } : { principal, right, grant });
      });
    }
  };
  walk(identity.id, (role) => identityRights(collector, role));
  // Whether a scope contains the identity, once per scope of this evaluation.
  const containsIdentity = new Map<number, boolean>();
  const reaches = (scope: number): boolean => {
    let verdict = containsIdentity.get(scope);
    if (verdict === undefined) {
      verdict = tree.contains(scopes.nameOf(scope), identity.id);
      containsIdentity.set(scope, verdict);
    }
    return verdict;
  };
  for (const resource of attachments) {
    const bit = runCodeBit(resource.type || resourceTypeOf(resource.id) || "");
    if (!bit) continue;
    walk(
      resource.id,
      // A grant that already reaches the identity itself is listed once, for the identity.
      (role, scope) => resourceRights(collector, role, bit, (collector.roles.facts[role] as RoleFacts).grant & (ASSIGN_BIT | FEDERATE_BIT) ? reaches(scope) : false),
      resource.id,
    );
  }
  return assemble(collector, identity, found, actingMembers);
}

const NONE: readonly Right[] = [];
const identityRightsCache = new WeakMap<ExposureCollector, Map<number, readonly Right[]>>();
const resourceRightsCache = new WeakMap<ExposureCollector, Map<string, readonly Right[]>>();

/** The rights a role gives over an identity at a scope containing it (assign, federate, grant), once per role. */
function identityRights(collector: ExposureCollector, role: number): readonly Right[] {
  let cache = identityRightsCache.get(collector);
  if (!cache) identityRightsCache.set(collector, (cache = new Map<number, readonly Right[]>()));
  let rights = cache.get(role);
  if (!rights) {
    const facts = collector.roles.facts[role] as RoleFacts;
    const list: Right[] = [];
    if (facts.direct & ASSIGN_BIT) list.push("assign");
    if (facts.direct & FEDERATE_BIT) list.push("federate");
    if (facts.grant & (ASSIGN_BIT | FEDERATE_BIT)) list.push("grant");
    rights = list.length > 0 ? list : NONE;
    cache.set(role, rights);
  }
  return rights;
}

/** The rights a role gives on an attached resource of run-code `bit`; a grant whose scope reaches the identity is counted there. */
function resourceRights(collector: ExposureCollector, role: number, bit: number, grantCountedForIdentity: boolean): readonly Right[] {
  let cache = resourceRightsCache.get(collector);
  if (!cache) resourceRightsCache.set(collector, (cache = new Map<string, readonly Right[]>()));
  const key = `${role}\u0000${bit}\u0000${grantCountedForIdentity ? 1 : 0}`;
  let rights = cache.get(key);
  if (!rights) {
    const facts = collector.roles.facts[role] as RoleFacts;
    const list: Right[] = [];
    if (facts.direct & bit) list.push("run-code");
    if (facts.grant & bit && !grantCountedForIdentity) list.push("grant");
    rights = list.length > 0 ? list : NONE;
    cache.set(key, rights);
  }
  return rights;
}

/** "Already as privileged": one of its own active grants, at least the identity's grade, contains everything that grades the identity. */
function asPrivileged(collector: ExposureCollector, principal: number, needed: number, gradeScopes: readonly string[], tree: ScopeTree): boolean {
  if (gradeScopes.length === 0) return false;
  return collector.ownPrivilege(principal).some((held) => held.grade >= needed && gradeScopes.every((inner) => privilegeContains(tree, held.within, inner)));
}

function assemble(collector: ExposureCollector, identity: Identity, found: Found[], actingMembers: (group: number, target: string) => number[]): Holder[] {
  const { principals, scopes, grants } = collector;
  const byHolder = new Map<number, { rights: Map<string, { sortKey: string; right: RightEvidence }>; grants: Set<number>; members: Set<number>; targets: Set<string> }>();
  for (const item of found) {
    let holder = byHolder.get(item.principal);
    if (!holder) {
      holder = { rights: new Map(), grants: new Set(), members: new Set(), targets: new Set() };
      byHolder.set(item.principal, holder);
    }
    holder.grants.add(item.grant);
    // A grant is one role at one scope with one id: (right, grant, resource) names a right once.
    const key = `${item.right}\u0000${item.grant}\u0000${item.resourceId ?? ""}`;
    const target = item.resourceId ?? identity.id;
    if (!holder.targets.has(target) && principals.isGroup(item.principal) && collector.members.has(item.principal)) {
      holder.targets.add(target);
      for (const member of actingMembers(item.principal, target)) holder.members.add(member);
    }
    if (holder.rights.has(key)) continue;
    const role = collector.roles.facts[grants.roleOf(item.grant)] as RoleFacts;
    const scope = scopes.nameOf(grants.scopeOf(item.grant));
    holder.rights.set(key, {
      sortKey: `${item.right}\u0000${scope.toLowerCase()}\u0000${(item.resourceId ?? "").toLowerCase()}\u0000${role.roleName.toLowerCase()}\u0000${item.grant}`,
      right: {
        right: item.right,
        roleName: role.roleName,
        scope,
        roleAssignmentId: grants.idOf(item.grant, scopes),
        ...(grants.eligible(item.grant) ? { eligible: true as const } : {}),
        ...(item.resourceId ? { resourceId: item.resourceId } : {}),
        ...(role.condition && item.right === "grant" ? { condition: role.condition } : {}),
      },
    });
  }
  const holders: Holder[] = [];
  for (const [principal, held] of byHolder) {
    const principalId = principals.ids[principal] ?? "";
    const principalType = principals.typeOf(principal);
    const displayName = principals.nameOf(principal);
    const rights = [...held.rights.values()].sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0)).map(({ right }) => right);
    const members = [...held.members]
      .map((member) => ({ id: principals.ids[member] ?? "", type: principals.typeOf(member), ...(principals.nameOf(member) ? { displayName: principals.nameOf(member) } : {}) }))
      .sort((a, b) => a.id.toLowerCase().localeCompare(b.id.toLowerCase()));
    const group = principals.isGroup(principal);
    const [onlyGrant] = held.grants;
    holders.push({
      principalId,
      principalType,
      ...(displayName ? { displayName } : {}),
      rights,
      ...(group && collector.members.has(principal) ? { members } : {}),
      ...(group && !collector.members.has(principal) ? { membersUnknown: true as const } : {}),
      ...(held.grants.size === 1 && onlyGrant !== undefined ? { fix: collector.grantFix(onlyGrant) } : {}),
    });
  }
  holders.sort((a, b) => a.principalId.toLowerCase().localeCompare(b.principalId.toLowerCase()));
  return holders;
}

/**
 * The inventory's rows for an identity's holders: one per right, and for a group one per acting member with
 * `viaGroup` (the identity's own principal, excluded as a holder, is no row), sorted by principal, right, scope.
 * Built only where rows are shown (the inventory): a sweep's finding needs the holders alone.
 */
export function exposureRows(identity: Identity, holders: readonly Holder[]): ExposureEntry[] {
  const rows: ExposureEntry[] = [];
  const row = (id: string, type: string, name: string | undefined, right: RightEvidence, viaGroup?: string): ExposureEntry => ({
    principalId: id,
    principalType: type,
    displayName: name ?? null,
    right: right.right,
    roleName: right.roleName,
    scope: right.scope,
    roleAssignmentId: right.roleAssignmentId,
    ...(right.eligible ? { eligible: true as const } : {}),
    ...(viaGroup ? { viaGroup } : {}),
    ...(right.resourceId ? { resourceId: right.resourceId } : {}),
  });
  for (const holder of holders) {
    for (const right of holder.rights) {
      rows.push(row(holder.principalId, holder.principalType, holder.displayName, right));
      for (const member of holder.members ?? []) if (!sameId(member.id, identity.principalId)) rows.push(row(member.id, member.type, member.displayName, right, holder.principalId));
    }
  }
  const keyed = rows.map((entry) => ({
    key: `${entry.principalId.toLowerCase()}\u0000${entry.viaGroup?.toLowerCase() ?? ""}\u0000${entry.right}\u0000${entry.scope.toLowerCase()}\u0000${(entry.resourceId ?? "").toLowerCase()}\u0000${entry.roleName.toLowerCase()}`,
    entry,
  }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map(({ entry }) => entry);
}
