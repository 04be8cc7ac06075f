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
  return { ...graded, ...holdersOf(collector, identity, graded, attachments, tree, policy) };
}

function holdersOf(collector: ExposureCollector, identity: Identity, graded: IdentityGrade, attachments: readonly AttachedResource[], tree: ScopeTree, policy: CorePolicy): { holders: Holder[]; exposure: ExposureEntry[] } {
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
  const approvedFor = (principal: number, target: string): boolean =>
    (facts.pipelines.get(principal) ?? []).some((pipeline) => !pipeline.scopes || pipeline.scopes.length === 0 || pipeline.scopes.some((scope) => tree.contains(scope, target)));
  /** Members of a group that can act through it at `target`: users and service principals not excluded. */
  const actingMembers = (group: number, target: string): number[] =>
    [...(collector.members.get(group) ?? [])].filter((member) => !principals.isGroup(member) && !excluded(member) && !approvedFor(member, target));
  const holds = (principal: number, target: string): boolean => {
    if (excluded(principal) || approvedFor(principal, target)) return false;
    // A group whose members were never read (or could not be) stays a holder; one read empty, or all of whose members are excluded, does not.
    if (!principals.isGroup(principal) || !collector.members.has(principal)) return true;
    return actingMembers(principal, target).length > 0;
  };

  const found: Found[] = [];
  const walk = (target: string, rightsAt: (role: RoleFacts, scope: string) => Right[], resourceId?: string): void => {
    for (const key of tree.ancestorsOf(target)) {
      const scope = scopes.find(key);
      if (scope === undefined) continue;
      collector.rightsAt.forEach(scope, (grant) => {
        const rights = rightsAt(collector.roles.facts[grants.roleOf(grant)] as RoleFacts, scopes.nameOf(scope));
        if (rights.length === 0) return;
        const principal = grants.principalOf(grant);
        if (!holds(principal, target)) return;
        for (const right of rights) found.push({ principal, right, grant, ...(resourceId ? { resourceId } : {}) });
      });
    }
  };
  walk(identity.id, (role) => [
    ...(role.direct & ASSIGN_BIT ? (["assign"] as const) : []),
    ...(role.direct & FEDERATE_BIT ? (["federate"] as const) : []),
    ...(role.grant & (ASSIGN_BIT | FEDERATE_BIT) ? (["grant"] as const) : []),
  ]);
  for (const resource of attachments) {
    const bit = runCodeBit(resource.type || resourceTypeOf(resource.id) || "");
    if (!bit) continue;
    walk(
      resource.id,
      // A grant that already reaches the identity itself is listed once, for the identity.
      (role, scope) => [
        ...(role.direct & bit ? (["run-code"] as const) : []),
        ...(role.grant & bit && !(role.grant & (ASSIGN_BIT | FEDERATE_BIT) && tree.contains(scope, identity.id)) ? (["grant"] as const) : []),
      ],
      resource.id,
    );
  }
  return assemble(collector, identity, found, actingMembers);
}

/** "Already as privileged": one of its own active grants, at least the identity's grade, contains everything that grades the identity. */
function asPrivileged(collector: ExposureCollector, principal: number, needed: number, gradeScopes: readonly string[], tree: ScopeTree): boolean {
  if (gradeScopes.length === 0) return false;
  const held: string[] = [];
  for (const grant of collector.privileged.list(principal)) {
    if (!collector.grants.eligible(grant) && collector.grants.gradeOf(grant) >= needed) held.push(collector.scopes.nameOf(collector.grants.scopeOf(grant)));
  }
  for (const entra of collector.ownEntraGrades(principal)) if (entra.grade >= needed) held.push(entra.within);
  return held.some((outer) => gradeScopes.every((inner) => privilegeContains(tree, outer, inner)));
}

function assemble(collector: ExposureCollector, identity: Identity, found: Found[], actingMembers: (group: number, target: string) => number[]): { holders: Holder[]; exposure: ExposureEntry[] } {
  const { principals, scopes, grants } = collector;
  const byHolder = new Map<number, { rights: Map<string, RightEvidence>; grants: Set<number>; members: Set<number> }>();
  for (const item of found) {
    let holder = byHolder.get(item.principal);
    if (!holder) {
      holder = { rights: new Map(), grants: new Set(), members: new Set() };
      byHolder.set(item.principal, holder);
    }
    const role = collector.roles.facts[grants.roleOf(item.grant)] as RoleFacts;
    const scope = scopes.nameOf(grants.scopeOf(item.grant));
    const roleAssignmentId = grants.idOf(item.grant, scopes);
    const key = `${item.right}\u0000${scope.toLowerCase()}\u0000${(item.resourceId ?? "").toLowerCase()}\u0000${role.roleName.toLowerCase()}\u0000${roleAssignmentId.toLowerCase()}`;
    holder.grants.add(item.grant);
    if (principals.isGroup(item.principal) && collector.members.has(item.principal)) {
      for (const member of actingMembers(item.principal, item.resourceId ?? identity.id)) holder.members.add(member);
    }
    if (holder.rights.has(key)) continue;
    holder.rights.set(key, {
      right: item.right,
      roleName: role.roleName,
      scope,
      roleAssignmentId,
      ...(grants.eligible(item.grant) ? { eligible: true as const } : {}),
      ...(item.resourceId ? { resourceId: item.resourceId } : {}),
      ...(role.condition && item.right === "grant" ? { condition: role.condition } : {}),
    });
  }
  const holders: Holder[] = [];
  const exposure: ExposureEntry[] = [];
  for (const [principal, held] of byHolder) {
    const principalId = principals.ids[principal] ?? "";
    const principalType = principals.typeOf(principal);
    const displayName = principals.nameOf(principal);
    const rights = [...held.rights.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, right]) => right);
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
    for (const right of rights) {
      exposure.push(row(principalId, principalType, displayName, right));
      for (const member of members) if (!sameId(member.id, identity.principalId)) exposure.push(row(member.id, member.type, member.displayName, right, principalId));
    }
  }
  holders.sort((a, b) => a.principalId.toLowerCase().localeCompare(b.principalId.toLowerCase()));
  const sortKey = (entry: ExposureEntry): string =>
    `${entry.principalId.toLowerCase()}\u0000${entry.viaGroup?.toLowerCase() ?? ""}\u0000${entry.right}\u0000${entry.scope.toLowerCase()}\u0000${(entry.resourceId ?? "").toLowerCase()}\u0000${entry.roleName.toLowerCase()}`;
  exposure.sort((a, b) => {
    const left = sortKey(a);
    const right = sortKey(b);
    return left < right ? -1 : left > right ? 1 : 0;
  });
  return { holders, exposure };
}
