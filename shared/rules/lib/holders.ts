import type { CorePolicy } from "../../config/policyCore.js";
import type { AttachedResource, Identity } from "../../model.js";
import { resourceTypeOf, sameId } from "../../model.js";
import { GRADE_RANK, privilegeContains, type ExposureCollector, type ExposureEntry, type Holder, type IdentityExposure, type IdentityGrade, type Right, type RightEvidence } from "./exposure.js";
import { deleteRoleAssignment } from "./commands.js";
import type { FixTarget } from "./fixes.js";
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

/** The rights in the order of `Right`'s numbers here: a found right is one number, its evidence shared (`SharedEvidence`). */
const RIGHTS: readonly Right[] = ["assign", "federate", "run-code", "grant"];
const [ASSIGN, FEDERATE, RUN_CODE, GRANT] = [0, 1, 2, 3] as const;
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

interface SharedRight {
  evidence: RightEvidence;
  grant: GrantId;
  /** What rights are sorted by after the right itself, lower-cased (each string shared by every right of its scope, resource, role). */
  scopeKey: string;
  resourceKey: string;
  roleKey: string;
  grantNumber: number;
  /** Numbers this right among those shared: lists of rights are interned by them. */
  serial: number;
}

type Member = NonNullable<Holder["members"]>[number];

/**
 * What many findings say alike, built once per collector and referenced by every finding that says it (at 1M
 * assignments a sweep has ~290,000 of them): a right of a grant (on a resource), a holder's list of rights, a member
 * and a list of members, a grant's fix. Findings never change their evidence, so sharing is safe.
 */
class SharedEvidence {
  /** By resource id ("" for the identity itself, with its lower-cased key), then by (grant, right). */
  private readonly rights = new Map<string, { key: string; byGrant: Map<number, SharedRight> }>();
  private readonly scopeKeys = new Map<number, string>();
  private readonly roleKeys = new Map<number, string>();
  private serials = 0;
  private readonly rightLists = new Map<string, RightEvidence[]>();
  private readonly members = new Map<number, Member>();
  private readonly memberLists = new Map<string, Member[]>();
  private readonly fixes = new Map<number, FixTarget>();
  private readonly grantIds = new Map<number, GrantId>();
  private readonly deleteLists = new Map<string, readonly string[]>();

  constructor(private readonly collector: ExposureCollector, readonly revision: number) {}

  right(right: number, grant: number, resourceId: string | undefined): SharedRight {
    let ofResource = this.rights.get(resourceId ?? "");
    if (!ofResource) this.rights.set(resourceId ?? "", (ofResource = { key: (resourceId ?? "").toLowerCase(), byGrant: new Map<number, SharedRight>() }));
    const { byGrant } = ofResource;
    // (grant, right) as one number: grants stay far below 2^30.
    const key = grant * 4 + right;
    let shared = byGrant.get(key);
    if (!shared) {
      const { grants, scopes } = this.collector;
      const role = this.collector.roles.facts[grants.roleOf(grant)] as RoleFacts;
      const scope = scopes.nameOf(grants.scopeOf(grant));
      const name = RIGHTS[right] as Right;
      shared = {
        // A grant is one role at one scope with one id: (right, grant, resource) names a right once.
        scopeKey: this.lowered(this.scopeKeys, grants.scopeOf(grant), scope),
        resourceKey: ofResource.key,
        roleKey: this.lowered(this.roleKeys, grants.roleOf(grant), role.roleName),
        grantNumber: grant,
        serial: this.serials++,
        grant: this.grantId(grant),
        evidence: {
          right: name,
          roleName: role.roleName,
          scope,
          roleAssignmentId: this.grantId(grant).id,
          ...(grants.eligible(grant) ? { eligible: true as const } : {}),
          ...(resourceId !== undefined ? { resourceId } : {}),
          ...(role.condition && right === GRANT ? { condition: role.condition } : {}),
        },
      };
      byGrant.set(key, shared);
    }
    return shared;
  }

  private grantId(grant: number): GrantId {
    let id = this.grantIds.get(grant);
    if (!id) this.grantIds.set(grant, (id = { id: this.collector.grants.idOf(grant, this.collector.scopes), serial: this.grantIds.size }));
    return id;
  }

  /** A holder's rights, sorted by right, scope, resource, role. */
  rightList(held: ReadonlySet<SharedRight>): RightEvidence[] {
    const rights = [...held];
    const key = rights
      .map((right) => right.serial)
      .sort((a, b) => a - b)
      .join(",");
    let list = this.rightLists.get(key);
    if (!list) {
      rights.sort(compareRights);
      list = rights.map((right) => right.evidence);
      this.rightLists.set(key, list);
      deletesOfList.set(list, this.deletes(rights));
    }
    return list;
  }

  private lowered(keys: Map<number, string>, at: number, text: string): string {
    let key = keys.get(at);
    if (key === undefined) keys.set(at, (key = text.toLowerCase()));
    return key;
  }

  /** The commands that delete the active grants of sorted rights, each once, in order: one array per sequence of grants. */
  private deletes(rights: readonly SharedRight[]): readonly string[] {
    const grants: GrantId[] = [];
    for (const right of rights) if (!right.evidence.eligible && !grants.includes(right.grant)) grants.push(right.grant);
    const key = grants.map((grant) => grant.serial).join(",");
    let commands = this.deleteLists.get(key);
    if (!commands) {
      commands = [...new Set(grants.map((grant) => (grant.deleteCommand ??= deleteRoleAssignment(grant.id))))];
      this.deleteLists.set(key, commands);
    }
    return commands;
  }

  /** Members by id, case-insensitively. */
  memberList(numbers: ReadonlySet<number>): Member[] {
    const key = [...numbers].sort((a, b) => a - b).join(",");
    let list = this.memberLists.get(key);
    if (!list) {
      list = [...numbers].map((number) => this.member(number)).sort((a, b) => a.id.toLowerCase().localeCompare(b.id.toLowerCase()));
      this.memberLists.set(key, list);
    }
    return list;
  }

  private member(number: number): Member {
    let member = this.members.get(number);
    if (!member) {
      const { principals } = this.collector;
      const displayName = principals.nameOf(number);
      member = { id: principals.ids[number] ?? "", type: principals.typeOf(number), ...(displayName ? { displayName } : {}) };
      this.members.set(number, member);
    }
    return member;
  }

  fix(grant: number): FixTarget {
    let fix = this.fixes.get(grant);
    if (!fix) {
      fix = this.collector.grantFix(grant);
      this.fixes.set(grant, fix);
    }
    return fix;
  }
}

/**
 * By right, scope, resource, role, then grant number as text: the order of the strings
 * `right \0 scope \0 resource \0 role \0 grant` (lower-cased), compared part by part instead of kept whole.
 */
function compareRights(a: SharedRight, b: SharedRight): number {
  return (
    compareText(a.evidence.right, b.evidence.right) ||
    compareText(a.scopeKey, b.scopeKey) ||
    compareText(a.resourceKey, b.resourceKey) ||
    compareText(a.roleKey, b.roleKey) ||
    compareText(String(a.grantNumber), String(b.grantNumber))
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const sharedEvidence = new WeakMap<ExposureCollector, SharedEvidence>();

/** A grant's id, and the command that deletes it once a remediation asked for it: one per grant, whatever its rights. */
interface GrantId {
  id: string;
  serial: number;
  deleteCommand?: string;
}

/** Per list of rights holders.ts hands out, the commands that delete its active grants (shared by the lists of the same grants). */
const deletesOfList = new WeakMap<readonly RightEvidence[], readonly string[]>();

/**
 * `az role assignment delete` of each active grant that gives one of `rights`, each once, in the order of the rights: the
 * same array for every list of rights holders.ts built from the same grants (so a remediation can be shared by it too).
 */
export function deleteCommandsOf(rights: readonly RightEvidence[]): readonly string[] {
  const shared = deletesOfList.get(rights);
  if (shared) return shared;
  return [...new Set(rights.filter((right) => !right.eligible && right.roleAssignmentId).map((right) => deleteRoleAssignment(right.roleAssignmentId)))];
}

/** The shared evidence of a collector as fed so far: anything fed afterwards (a name, a member) starts it afresh. */
function sharedOf(collector: ExposureCollector): SharedEvidence {
  let shared = sharedEvidence.get(collector);
  if (!shared || shared.revision !== collector.revision) {
    shared = new SharedEvidence(collector, collector.revision);
    sharedEvidence.set(collector, shared);
  }
  return shared;
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
