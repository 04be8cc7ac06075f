import type { ApprovedPipeline, CorePolicy, Severity } from "../../config/policyCore.js";
import type { AppRoleGrant, DirectoryRoleGrant, GroupMember, Identity, PrincipalStatus, RoleAssignment, RoleDefinition, RoleEligibility } from "../../model.js";
import { principalLabel, resourceTypeOf, roleDefinitionGuid, scopeLevel } from "../../model.js";
import { Chains } from "./int32.js";
import { directoryRole, graphAppRole, type Tier } from "./entraRoles.js";
import { appRoleAssignmentFix, directoryRoleFix, roleAssignmentFix, roleEligibilityFix, type FixTarget } from "./fixes.js";
import { privilegedSeverity } from "./roles.js";
import { RoleCatalog, type RoleFacts } from "./roleFacts.js";
import { ASSIGN_BIT, FEDERATE_BIT, ANY_RUN_CODE, runCodeBit } from "./runCode.js";
import { ELIGIBLE_FLAG, GRADE_CRITICAL, GRADE_HIGH, GrantTable, PrincipalTable, ScopeTable, scopeKey } from "./privilegeTables.js";
import type { ScopeTree } from "./scopes.js";

export { ASSIGN_ACTION, FEDERATE_ACTION } from "./roleFacts.js";

/** docs/rules/privileged-identity-exposed.md: the ways to act as an identity. */
export type Right = "assign" | "federate" | "run-code" | "grant";

/** One right of a holder over an identity, as a finding's evidence lists it. */
export interface RightEvidence {
  right: Right;
  roleName: string;
  scope: string;
  /** The role assignment (or eligibility instance) that gives it. */
  roleAssignmentId: string;
  eligible?: true;
  viaGroup?: string;
  resourceId?: string;
  /** The delegation condition, when one decides what a grant may give (a summary, or "not understood"). */
  condition?: string;
}

/** One right over one identity, as the inventory reports it: group members listed one by one with `viaGroup`. */
export interface ExposureEntry extends Omit<RightEvidence, "condition"> {
  principalId: string;
  principalType: string;
  /** The directory's name for the principal; null when the directory did not answer for it. */
  displayName: string | null;
}

/** What gives an identity its grade: an Azure role assignment or eligibility, a directory role, a Graph permission. */
export interface GradeReason {
  kind: "role-assignment" | "role-eligibility" | "directory-role" | "app-role";
  id: string;
  roleName: string;
  grade: Extract<Severity, "critical" | "high">;
  /** Azure: the assignment's (or eligibility's) id and scope. */
  roleAssignmentId?: string;
  scope?: string;
  /** Entra: the role's template id and where it applies; Graph: the app role's id. */
  templateId?: string;
  directoryScopeId?: string;
  appRoleId?: string;
  eligible?: true;
  viaGroup?: string;
  condition?: string;
}

export interface IdentityGrade {
  grade: Extract<Severity, "critical" | "high">;
  /** The reasons at the grade (docs/rules/privileged-identity-exposed.md: what gives the grade). */
  reasons: GradeReason[];
  /** Every critical and high reason (a fix clears the grade only when it removes all of them). */
  allReasons: GradeReason[];
  /** Where each reason at the grade applies ("already as privileged" must contain every one). */
  scopes: string[];
  /** The one removal that takes the grade away, when there is one. */
  fix?: FixTarget;
}

/** One holder over one identity (docs/rules/privileged-identity-exposed.md). */
export interface Holder {
  principalId: string;
  principalType: string;
  displayName?: string;
  rights: RightEvidence[];
  /** A group's transitive members that can act through it (users and service principals, not excluded). */
  members?: Array<{ id: string; displayName?: string; type: string }>;
  /** A group whose membership could not be read: every member is possible. */
  membersUnknown?: true;
  /** The one removal that takes away every right of this holder, when there is one. */
  fix?: FixTarget;
}

export interface IdentityExposure extends IdentityGrade {
  /** Sorted by principal id; inventory rows from them: holders.ts exposureRows. */
  holders: Holder[];
}

/** A directory role or Graph permission an identity holds, with every way it holds it. */
export interface EntraHolding {
  kind: "directory-role" | "app-role";
  /** The role's template id or the app role's id. */
  roleId: string;
  roleName: string;
  tier: Tier;
  sources: Array<{ id: string; directoryScopeId?: string; eligible?: true; viaGroup?: string; viaGroupName?: string; fix: FixTarget }>;
}

interface EntraGrant {
  id: string;
  principal: number;
  kind: "directory-role" | "app-role";
  roleId: string;
  roleName: string;
  tier: Tier;
  directoryScopeId: string;
  eligible: boolean;
  /** Kept for the fix command. */
  raw: { principalId: string; roleDefinitionId: string; resourceId: string };
}

export const GRADE_RANK = { critical: GRADE_CRITICAL, high: GRADE_HIGH } as const;
const ENTRA = "entra:";

type KeptReason = GradeReason & { fix: FixTarget; within: string };

/** The one target among reasons, when they all come from it. */
function onlyFix(reasons: readonly KeptReason[]): FixTarget | undefined {
  const targets = new Map(reasons.map((reason) => [`${reason.fix.kind}\u0000${reason.fix.target.toLowerCase()}`, reason.fix]));
  const [only] = targets.values();
  return targets.size === 1 ? only : undefined;
}

/**
 * Built while role assignments stream (pure: fed by the engine, no I/O), then given eligible assignments, directory
 * roles, Graph application permissions and group memberships. Keeps only what grades and exposure need: grants that
 * give a right (assign, federate, run code, grant) reachable to an identity or that grade their principal, indexed
 * by scope and by principal; never the assignments themselves.
 */
export class ExposureCollector {
  readonly roles: RoleCatalog;
  readonly principals: PrincipalTable;
  readonly scopes = new ScopeTable();
  readonly grants = new GrantTable();
  /** Per scope: grants giving a right there. */
  readonly rightsAt = new Chains();
  /** Per principal: its critical/high grants. */
  readonly privileged = new Chains();
  /** Per group: its transitive members (principal numbers); a group in `unknownGroups` could not be read. */
  readonly members = new Map<number, Int32Array>();
  readonly unknownGroups = new Set<number>();
  private memberOf: Map<number, number[]> | undefined;
  private readonly groupsSeen = new Set<number>();
  readonly entra: EntraGrant[] = [];
  /** Bumped by everything fed: what was worked out from the collector before (shared evidence) is stale. */
  revision = 0;
  private readonly eligibleRoleIds = new Map<number, string>();
  private readonly entraOf = new Map<number, EntraGrant[]>();

  constructor(
    definitions: Map<string, RoleDefinition>,
    private readonly options: {
      appIds?: ReadonlySet<string>;
      /**
       * Whether a lower-cased resource id is a user-assigned identity of the snapshot. Given, a right to assign or
       * federate granted at another resource is dropped as it streams in: only an identity's own scope, its
       * resource group and above contain an identity (identities are top-level resources).
       */
      isIdentity?: (key: string) => boolean;
      /** Called once per group that holds a right or a grade: its members are needed (docs/rules/privileged-identity-exposed.md). */
      onGroup?: (groupId: string) => void;
    } = {},
  ) {
    this.roles = new RoleCatalog(definitions);
    const appIds = options.appIds;
    this.principals = new PrincipalTable(appIds ? (appId) => appIds.has(appId) : undefined);
  }

  /** Feed one active role assignment with its principal's directory status (unknown when not looked up). */
  add(assignment: RoleAssignment, status: PrincipalStatus): void {
    this.keep(assignment, status, 0);
  }

  /** Feed one PIM-eligible assignment: the same rights and grade, marked eligible. */
  addEligibility(eligibility: RoleEligibility): void {
    const at = this.keep(eligibility, { state: "unknown" }, ELIGIBLE_FLAG);
    if (at !== undefined) this.principals.setName(at, eligibility.principalDisplayName);
  }

  /** Returns the principal's number when the grant was kept. */
  private keep(grant: RoleAssignment | RoleEligibility, status: PrincipalStatus, flags: number): number | undefined {
    this.revision += 1;
    const roleAt = this.roles.indexOf(roleDefinitionGuid(grant.roleDefinitionId), grant.condition);
    const role = this.roles.facts[roleAt] as RoleFacts;
    if (role.direct === 0 && role.grant === 0 && role.privilege === "none") return undefined;
    const level = scopeLevel(grant.scope);
    const severity = role.privilege === "none" ? undefined : privilegedSeverity(role.privilege, level);
    const grade = severity === "critical" ? GRADE_CRITICAL : severity === "high" ? GRADE_HIGH : 0;
    let rights = role.direct | role.grant;
    if (level === "resource" && rights !== 0) {
      // At a resource, only an identity's own scope gives assign/federate over it, and only a resource of a
      // run-code type (a site for its slots too) gives run-code: the rest can never contain a target.
      if ((rights & (ASSIGN_BIT | FEDERATE_BIT)) !== 0 && this.options.isIdentity && !this.options.isIdentity(scopeKey(grant.scope))) rights &= ~(ASSIGN_BIT | FEDERATE_BIT);
      if ((rights & ANY_RUN_CODE) !== 0 && runCodeBit(resourceTypeOf(grant.scope) ?? "") === 0) rights &= ~ANY_RUN_CODE;
    }
    if (rights === 0 && grade === 0) return undefined;
    const principal = this.principals.number(grant.principalId, grant.principalType);
    if (status.state !== "unknown") this.principals.record(principal, status);
    const scope = this.scopes.number(grant.scope);
    const at = this.grants.add(grant.id, scope, this.scopes.nameOf(scope), principal, roleAt, flags | (grade << 1));
    // A PIM request to remove an eligibility names its role definition as ARM gave it (few eligibilities: kept as is).
    if (flags & ELIGIBLE_FLAG) this.eligibleRoleIds.set(at, grant.roleDefinitionId);
    if (rights !== 0) this.rightsAt.add(scope, at);
    if (grade !== 0) this.privileged.add(principal, at);
    if (grant.principalType.toLowerCase() === "group") this.noteGroup(principal);
    return principal;
  }

  private noteGroup(principal: number): void {
    if (this.groupsSeen.has(principal)) return;
    this.groupsSeen.add(principal);
    this.options.onGroup?.(this.principals.ids[principal] ?? "");
  }

  /** Directory roles (active and eligible) of the tenant: those of entra-directory-roles.json are kept. */
  addDirectoryRoles(grants: readonly DirectoryRoleGrant[]): void {
    for (const grant of grants) {
      const role = directoryRole(grant.roleDefinitionId);
      if (!role) continue;
      this.keepEntra(grant, {
        kind: "directory-role",
        roleId: grant.roleDefinitionId.toLowerCase(),
        roleName: role.name,
        tier: role.tier,
        directoryScopeId: grant.directoryScopeId || "/",
        eligible: grant.eligible,
        raw: { principalId: grant.principalId, roleDefinitionId: grant.roleDefinitionId, resourceId: "" },
      });
    }
  }

  /** Application permissions on Microsoft Graph: those of graph-app-roles.json are kept. */
  addAppRoles(grants: readonly AppRoleGrant[]): void {
    for (const grant of grants) {
      const role = graphAppRole(grant.appRoleId);
      if (!role) continue;
      this.keepEntra(grant, {
        kind: "app-role",
        roleId: grant.appRoleId.toLowerCase(),
        roleName: role.name,
        tier: role.tier,
        directoryScopeId: "/",
        eligible: false,
        raw: { principalId: grant.principalId, roleDefinitionId: "", resourceId: grant.resourceId },
      });
    }
  }

  private keepEntra(grant: { id: string; principalId: string; principalType: string; principalDisplayName?: string }, fields: Omit<EntraGrant, "id" | "principal">): void {
    this.revision += 1;
    const principal = this.principals.number(grant.principalId, grant.principalType);
    this.principals.setName(principal, grant.principalDisplayName);
    const kept: EntraGrant = { id: grant.id, principal, ...fields };
    this.entra.push(kept);
    const list = this.entraOf.get(principal);
    if (list) list.push(kept);
    else this.entraOf.set(principal, [kept]);
    // A role-assignable group holding a directory role: its members hold it too.
    if (fields.kind === "directory-role" && grant.principalType.toLowerCase() === "group") this.noteGroup(principal);
  }

  /** The groups fed so far that hold a right, a grade or a directory role (their members are needed). */
  groupIds(): string[] {
    return [...this.groupsSeen].map((at) => this.principals.ids[at] ?? "");
  }

  /** A group's transitive members; `undefined` when Graph could not list them (the group stays a holder). */
  setGroupMembers(groupId: string, members: readonly GroupMember[] | undefined): void {
    this.revision += 1;
    const group = this.principals.number(groupId, "Group");
    this.memberOf = undefined;
    if (!members) {
      this.unknownGroups.add(group);
      this.members.delete(group);
      return;
    }
    this.unknownGroups.delete(group);
    const numbers = new Int32Array(members.length);
    members.forEach((member, at) => {
      const principal = this.principals.number(member.id, member.type);
      this.principals.setName(principal, member.displayName);
      numbers[at] = principal;
    });
    this.members.set(group, numbers);
  }

  /** Record a directory answer for a principal already fed (the inventory looks holders up afterwards). */
  setStatus(principalId: string, status: PrincipalStatus): void {
    const at = this.principals.find(principalId);
    if (at === undefined) return;
    this.revision += 1;
    this.principals.record(at, status);
  }

  /** The directory's name for a principal, when it answered. */
  displayNameOf(principalId: string): string | undefined {
    const at = this.principals.find(principalId);
    return at === undefined ? undefined : this.principals.nameOf(at);
  }

  /** The groups a principal is a transitive member of (read from the groups expanded). */
  groupsOf(principal: number): readonly number[] {
    if (!this.memberOf) {
      const memberOf = new Map<number, number[]>();
      for (const [group, members] of this.members) {
        for (const member of members) {
          const list = memberOf.get(member);
          if (list) list.push(group);
          else memberOf.set(member, [group]);
        }
      }
      this.memberOf = memberOf;
    }
    return this.memberOf.get(principal) ?? [];
  }

  /** The critical/high grants of a principal (active and eligible, its own). */
  privilegedOf(principalId: string): ReadonlyArray<{ scope: string; grade: Severity; eligible: boolean }> {
    const at = this.principals.find(principalId);
    if (at === undefined) return [];
    return this.privileged.list(at).map((grant) => ({ scope: this.scopes.nameOf(this.grants.scopeOf(grant)), grade: this.grants.gradeOf(grant) === GRADE_CRITICAL ? "critical" : "high", eligible: this.grants.eligible(grant) }));
  }

  /** A label for a principal number: `displayName (type)` when the directory answered. */
  labelOf(principal: number): string {
    return principalLabel({ id: this.principals.ids[principal] ?? "", displayName: this.principals.nameOf(principal), type: this.principals.typeOf(principal) });
  }

  /** The fix that removes one grant. */
  grantFix(grant: number): FixTarget {
    const role = this.roles.facts[this.grants.roleOf(grant)] as RoleFacts;
    const principal = this.grants.principalOf(grant);
    const id = this.grants.idOf(grant, this.scopes);
    const scope = this.scopes.nameOf(this.grants.scopeOf(grant));
    if (!this.grants.eligible(grant)) return roleAssignmentFix(id, role.roleName, this.labelOf(principal), scope);
    const roleDefinitionId = this.eligibleRoleIds.get(grant) ?? `/providers/Microsoft.Authorization/roleDefinitions/${role.guid}`;
    return roleEligibilityFix({ id, scope, roleDefinitionId, principalId: this.principals.ids[principal] ?? "" }, role.roleName, this.labelOf(principal));
  }

  entraFix(grant: EntraGrant): FixTarget {
    const holder = this.labelOf(grant.principal);
    if (grant.kind === "app-role") return appRoleAssignmentFix({ id: grant.id, resourceId: grant.raw.resourceId }, grant.roleName, holder);
    return directoryRoleFix({ id: grant.id, principalId: grant.raw.principalId, roleDefinitionId: grant.raw.roleDefinitionId, directoryScopeId: grant.directoryScopeId, eligible: grant.eligible }, grant.roleName, holder);
  }

  /** docs/rules/privileged-identity-exposed.md: Azure RBAC direct and through groups, eligible included, directory roles, Graph permissions. */
  gradeOf(identity: Pick<Identity, "principalId">): IdentityGrade | undefined {
    const reasons = this.reasonsOf(identity);
    if (reasons.length === 0) return undefined;
    const grade = reasons.some((reason) => reason.grade === "critical") ? "critical" : "high";
    const strip = ({ fix: _fix, within: _within, ...reason }: KeptReason): GradeReason => reason;
    const atGrade = reasons.filter((reason) => reason.grade === grade);
    const fix = onlyFix(reasons);
    return {
      grade,
      reasons: atGrade.map(strip),
      allReasons: reasons.map(strip),
      scopes: [...new Set(atGrade.map((reason) => reason.within))],
      ...(fix ? { fix } : {}),
    };
  }

  /** The one removal that takes away every grade an identity gets through a group, when there is one. */
  gradeFixVia(identity: Pick<Identity, "principalId">, groupId: string): FixTarget | undefined {
    return onlyFix(this.reasonsOf(identity).filter((reason) => reason.viaGroup?.toLowerCase() === groupId.toLowerCase()));
  }

  private reasonsOf(identity: Pick<Identity, "principalId">): KeptReason[] {
    if (!identity.principalId) return [];
    const own = this.principals.find(identity.principalId);
    if (own === undefined) return [];
    const reasons: KeptReason[] = [];
    const azure = (principal: number, viaGroup?: number): void => {
      for (const grant of this.privileged.list(principal)) {
        const role = this.roles.facts[this.grants.roleOf(grant)] as RoleFacts;
        const id = this.grants.idOf(grant, this.scopes);
        const scope = this.scopes.nameOf(this.grants.scopeOf(grant));
        const eligible = this.grants.eligible(grant);
        reasons.push({
          kind: eligible ? "role-eligibility" : "role-assignment",
          id,
          roleName: role.roleName,
          grade: this.grants.gradeOf(grant) === GRADE_CRITICAL ? "critical" : "high",
          roleAssignmentId: id,
          scope,
          ...(eligible ? { eligible: true as const } : {}),
          ...(viaGroup !== undefined ? { viaGroup: this.principals.ids[viaGroup] ?? "" } : {}),
          ...(role.condition ? { condition: role.condition } : {}),
          fix: this.grantFix(grant),
          within: scope,
        });
      }
    };
    const entra = (principal: number, viaGroup?: number): void => {
      for (const grant of this.entraOf.get(principal) ?? []) {
        // Only directory roles pass through groups (role-assignable groups); Graph permissions are granted to service principals.
        if (viaGroup !== undefined && grant.kind !== "directory-role") continue;
        // A directory role scoped to an administrative unit is high at most (docs/rules/identity-privileged-in-entra.md).
        const grade = grant.tier === "critical" && grant.directoryScopeId === "/" ? "critical" : "high";
        const directory = grant.kind === "directory-role";
        reasons.push({
          kind: grant.kind,
          id: grant.id,
          roleName: grant.roleName,
          grade,
          ...(directory ? { templateId: grant.roleId, directoryScopeId: grant.directoryScopeId } : { appRoleId: grant.roleId }),
          ...(grant.eligible ? { eligible: true as const } : {}),
          ...(viaGroup !== undefined ? { viaGroup: this.principals.ids[viaGroup] ?? "" } : {}),
          fix: this.entraFix(grant),
          within: `${ENTRA}${grant.directoryScopeId}`,
        });
      }
    };
    azure(own);
    entra(own);
    for (const group of this.groupsOf(own)) {
      azure(group, group);
      entra(group, group);
    }
    return reasons;
  }

  /** Directory roles and Graph permissions an identity holds, directly or through a role-assignable group. */
  entraHoldingsOf(identity: Pick<Identity, "principalId">): EntraHolding[] {
    const own = this.principals.find(identity.principalId);
    if (own === undefined) return [];
    const byRole = new Map<string, EntraHolding>();
    const visit = (principal: number, viaGroup?: number): void => {
      for (const grant of this.entraOf.get(principal) ?? []) {
        if (viaGroup !== undefined && grant.kind !== "directory-role") continue;
        const key = `${grant.kind}\u0000${grant.roleId}`;
        let holding = byRole.get(key);
        if (!holding) {
          holding = { kind: grant.kind, roleId: grant.roleId, roleName: grant.roleName, tier: grant.tier, sources: [] };
          byRole.set(key, holding);
        }
        const groupName = viaGroup !== undefined ? this.principals.nameOf(viaGroup) : undefined;
        holding.sources.push({
          id: grant.id,
          ...(grant.kind === "directory-role" ? { directoryScopeId: grant.directoryScopeId } : {}),
          ...(grant.eligible ? { eligible: true as const } : {}),
          ...(viaGroup !== undefined ? { viaGroup: this.principals.ids[viaGroup] ?? "" } : {}),
          ...(groupName ? { viaGroupName: groupName } : {}),
          fix: this.entraFix(grant),
        });
      }
    };
    visit(own);
    for (const group of this.groupsOf(own)) visit(group, group);
    return [...byRole.values()].sort((a, b) => a.roleName.localeCompare(b.roleName));
  }

  private ownPrivilegeCache = { version: -1, byPrincipal: new Map<number, ReadonlyArray<{ grade: number; within: string }>>() };

  /**
   * What a principal holds itself, active, that grades (for "already as privileged"): its critical/high Azure grants by
   * scope, its directory roles and Graph permissions by `entra:` scope. Worked out once per principal while nothing new is fed.
   */
  ownPrivilege(principal: number): ReadonlyArray<{ grade: number; within: string }> {
    const version = this.grants.size + this.entra.length;
    if (this.ownPrivilegeCache.version !== version) this.ownPrivilegeCache = { version, byPrincipal: new Map() };
    let held = this.ownPrivilegeCache.byPrincipal.get(principal);
    if (!held) {
      const list: Array<{ grade: number; within: string }> = [];
      this.privileged.forEach(principal, (grant) => {
        if (!this.grants.eligible(grant)) list.push({ grade: this.grants.gradeOf(grant), within: this.scopes.nameOf(this.grants.scopeOf(grant)) });
      });
      for (const grant of this.entraOf.get(principal) ?? []) {
        if (!grant.eligible) list.push({ grade: grant.tier === "critical" && grant.directoryScopeId === "/" ? GRADE_CRITICAL : GRADE_HIGH, within: `${ENTRA}${grant.directoryScopeId}` });
      }
      held = list;
      this.ownPrivilegeCache.byPrincipal.set(principal, held);
    }
    return held;
  }


  /** What evaluating one policy needs to know of the principals, worked out once per policy. */
  private readonly policyFacts = new WeakMap<CorePolicy, PolicyFacts>();

  factsFor(policy: CorePolicy): PolicyFacts {
    let facts = this.policyFacts.get(policy);
    if (!facts || facts.appIdsVersion !== this.principals.appIdsVersion) {
      const excluded = new Set<number>();
      for (const id of [policy.self.objectId, ...policy.protected.principals]) {
        const at = this.principals.find(id);
        if (at !== undefined) excluded.add(at);
      }
      const pipelines = new Map<number, ApprovedPipeline[]>();
      const approve = (at: number | undefined, pipeline: ApprovedPipeline): void => {
        if (at === undefined) return;
        const list = pipelines.get(at);
        if (list) list.push(pipeline);
        else pipelines.set(at, [pipeline]);
      };
      for (const pipeline of policy.approvedPipelines) {
        approve(this.principals.find(pipeline.objectId), pipeline);
        if (pipeline.appId) {
          const appId = pipeline.appId.toLowerCase();
          for (const [at, known] of this.principals.appIds) if (known === appId) approve(at, pipeline);
        }
      }
      facts = { excluded, pipelines, appIdsVersion: this.principals.appIdsVersion };
      this.policyFacts.set(policy, facts);
    }
    return facts;
  }
}

/** Whether a grant at `outer` covers what gives a grade at `inner`: Entra scopes contain only Entra scopes. */
export function privilegeContains(tree: ScopeTree, outer: string, inner: string): boolean {
  const outerEntra = outer.startsWith(ENTRA);
  if (outerEntra !== inner.startsWith(ENTRA)) return false;
  if (!outerEntra) return tree.contains(outer, inner);
  const outerScope = outer.slice(ENTRA.length);
  return outerScope === "/" || outerScope.toLowerCase() === inner.slice(ENTRA.length).toLowerCase();
}

export interface PolicyFacts {
  /** `self.objectId` and `protected.principals`, by principal number. */
  excluded: Set<number>;
  /** The approved pipelines each principal is (by object id or application id). */
  pipelines: Map<number, ApprovedPipeline[]>;
  /** The application ids known when this was worked out. */
  appIdsVersion: number;
}
