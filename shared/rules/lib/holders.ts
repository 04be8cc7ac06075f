import type { CorePolicy } from "../../config/policyCore.js";
import type { AttachedResource, Identity } from "../../model.js";
import { resourceTypeOf, sameId } from "../../model.js";
import { GRADE_RANK, privilegeContains, type ExposureCollector, type ExposureEntry, type Holder, type IdentityExposure, type IdentityGrade, type RightEvidence } from "./exposure.js";
import { ASSIGN, FEDERATE, GRANT, RUN_CODE, sharedOf, type SharedEvidence, type SharedRight } from "./sharedEvidence.js";
import type { RoleFacts } from "./roleFacts.js";
import { ASSIGN_BIT, FEDERATE_BIT, runCodeBit } from "./runCode.js";
import type { ScopeTree } from "./scopes.js";

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

  const shared = sharedOf(collector);
  const byHolder = new Map<number, HeldRights>();
  const note = (principal: number, right: number, grant: number, target: string, resource?: AttachedResource): void => {
    let held = byHolder.get(principal);
    if (!held) {
      held = { rights: new Set(), grants: new Set(), members: undefined, targets: undefined };
      byHolder.set(principal, held);
    }
    held.grants.add(grant);
    held.rights.add(shared.right(right, grant, resource?.id));
    if (principals.isGroup(principal) && collector.members.has(principal)) {
      held.targets ??= new Set();
      if (held.targets.has(target)) return;
      held.targets.add(target);
      held.members ??= new Set();
      for (const member of actingMembers(principal, target)) held.members.add(member);
    }
  };
  const walk = (target: string, rightsAt: (role: number, scope: number) => readonly number[], resource?: AttachedResource): void => {
    for (const key of tree.ancestorsOf(target)) {
      const scope = scopes.find(key);
      if (scope === undefined) continue;
      collector.rightsAt.forEach(scope, (grant) => {
        const rights = rightsAt(grants.roleOf(grant), scope);
        if (rights.length === 0) return;
        const principal = grants.principalOf(grant);
        if (!holds(principal, target)) return;
        for (const right of rights) note(principal, right, grant, target, resource);
      });
    }
  };
  const identityCache = cacheOf(identityRightsCache, collector);
  const resourceCache = cacheOf(resourceRightsCache, collector);
  walk(identity.id, (role) => identityRights(collector, identityCache, role));
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
      (role, scope) => resourceRights(collector, resourceCache, role, bit, (collector.roles.facts[role] as RoleFacts).grant & (ASSIGN_BIT | FEDERATE_BIT) ? reaches(scope) : false),
      resource,
    );
  }
  return assemble(collector, shared, byHolder);
}

const NONE: readonly number[] = [];
const identityRightsCache = new WeakMap<ExposureCollector, Map<number, readonly number[]>>();
const resourceRightsCache = new WeakMap<ExposureCollector, Map<number, readonly number[]>>();

function cacheOf(caches: WeakMap<ExposureCollector, Map<number, readonly number[]>>, collector: ExposureCollector): Map<number, readonly number[]> {
  let cache = caches.get(collector);
  if (!cache) caches.set(collector, (cache = new Map<number, readonly number[]>()));
  return cache;
}

/** The rights a role gives over an identity at a scope containing it (assign, federate, grant), once per role. */
function identityRights(collector: ExposureCollector, cache: Map<number, readonly number[]>, role: number): readonly number[] {
  let rights = cache.get(role);
  if (!rights) {
    const facts = collector.roles.facts[role] as RoleFacts;
    const list: number[] = [];
    if (facts.direct & ASSIGN_BIT) list.push(ASSIGN);
    if (facts.direct & FEDERATE_BIT) list.push(FEDERATE);
    if (facts.grant & (ASSIGN_BIT | FEDERATE_BIT)) list.push(GRANT);
    rights = list.length > 0 ? list : NONE;
    cache.set(role, rights);
  }
  return rights;
}

/** The rights a role gives on an attached resource of run-code `bit`; a grant whose scope reaches the identity is counted there. */
function resourceRights(collector: ExposureCollector, cache: Map<number, readonly number[]>, role: number, bit: number, grantCountedForIdentity: boolean): readonly number[] {
  // Run-code bits are single bits below 2^31: one number names (role, bit, counted).
  const key = role * 2 ** 32 + bit * 2 + (grantCountedForIdentity ? 1 : 0);
  let rights = cache.get(key);
  if (!rights) {
    const facts = collector.roles.facts[role] as RoleFacts;
    const list: number[] = [];
    if (facts.direct & bit) list.push(RUN_CODE);
    if (facts.grant & bit && !grantCountedForIdentity) list.push(GRANT);
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

/** What one holder was found to hold over one identity. */
interface HeldRights {
  rights: Set<SharedRight>;
  grants: Set<number>;
  /** A group's acting members, over every target it was found at (read groups only). */
  members: Set<number> | undefined;
  targets: Set<string> | undefined;
}

function assemble(collector: ExposureCollector, shared: SharedEvidence, byHolder: ReadonlyMap<number, HeldRights>): Holder[] {
  const { principals } = collector;
  const holders: Holder[] = [];
  for (const [principal, held] of byHolder) {
    const principalId = principals.ids[principal] ?? "";
    const displayName = principals.nameOf(principal);
    const read = principals.isGroup(principal) && collector.members.has(principal);
    const [onlyGrant] = held.grants;
    holders.push({
      principalId,
      principalType: principals.typeOf(principal),
      ...(displayName ? { displayName } : {}),
      rights: shared.rightList(held.rights),
      ...(read ? { members: shared.memberList(held.members ?? new Set()) } : {}),
      ...(principals.isGroup(principal) && !collector.members.has(principal) ? { membersUnknown: true as const } : {}),
      ...(held.grants.size === 1 && onlyGrant !== undefined ? { fix: shared.fix(onlyGrant) } : {}),
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
