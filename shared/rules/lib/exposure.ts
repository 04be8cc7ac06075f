import type { ApprovedPipeline, CorePolicy, Severity } from "../../config/policyCore.js";
import type { AttachedResource, Identity, PrincipalStatus, RoleAssignment, RoleDefinition } from "../../model.js";
import { resourceTypeOf, roleDefinitionGuid, scopeLevel } from "../../model.js";
import { grantsAction, type ActionPermission } from "./actions.js";
import { privilegedSeverity, privilegeOfPermissions, roleNameOf, rolePermissions, type Privilege } from "./roles.js";
import type { ScopeTree } from "./scopes.js";

/** docs/rules/privileged-identity-exposed.md: the three ways to act as an identity. */
export type Right = "assign" | "federate" | "run-code";

export const ASSIGN_ACTION = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action";
export const FEDERATE_ACTION = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write";

/** docs/rules/privileged-identity-exposed.md run-code table: per attached resource type, the actions that run code as its identities. */
export const RUN_CODE_ACTIONS: ReadonlyArray<readonly [type: string, actions: readonly string[]]> = [
  ["Microsoft.Compute/virtualMachines", ["Microsoft.Compute/virtualMachines/runCommand/action", "Microsoft.Compute/virtualMachines/runCommands/write", "Microsoft.Compute/virtualMachines/extensions/write"]],
  [
    "Microsoft.Compute/virtualMachineScaleSets",
    ["Microsoft.Compute/virtualMachineScaleSets/write", "Microsoft.Compute/virtualMachineScaleSets/extensions/write", "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action"],
  ],
  ["Microsoft.Web/sites", ["Microsoft.Web/sites/write", "Microsoft.Web/sites/config/write", "Microsoft.Web/sites/slots/write"]],
  ["Microsoft.Web/sites/slots", ["Microsoft.Web/sites/write", "Microsoft.Web/sites/config/write", "Microsoft.Web/sites/slots/write"]],
  ["Microsoft.Automation/automationAccounts", ["Microsoft.Automation/automationAccounts/runbooks/write", "Microsoft.Automation/automationAccounts/jobs/write"]],
  ["Microsoft.Logic/workflows", ["Microsoft.Logic/workflows/write"]],
  ["Microsoft.App/containerApps", ["Microsoft.App/containerApps/write"]],
];

const RUN_CODE_BIT = new Map(RUN_CODE_ACTIONS.map(([type], at) => [type.toLowerCase(), 1 << (at + 2)]));
const ASSIGN_BIT = 1;
const FEDERATE_BIT = 2;
const ANY_RUN_CODE = [...RUN_CODE_BIT.values()].reduce((all, bit) => all | bit, 0);

/** One right over one identity, as the inventory reports it (shape fixed for the report and `GET /api/identities`). */
export interface ExposureEntry {
  principalId: string;
  principalType: string;
  right: Right;
  roleName: string;
  scope: string;
  resourceId?: string;
}

/** Rights bits of a role: assign, federate, and one bit per run-code resource type. */
export function rightsOfPermissions(permissions: readonly ActionPermission[]): number {
  if (permissions.length === 0) return 0;
  let bits = 0;
  if (grantsAction(permissions, ASSIGN_ACTION)) bits |= ASSIGN_BIT;
  if (grantsAction(permissions, FEDERATE_ACTION)) bits |= FEDERATE_BIT;
  RUN_CODE_ACTIONS.forEach(([type, actions]) => {
    if (actions.some((action) => grantsAction(permissions, action))) bits |= RUN_CODE_BIT.get(type.toLowerCase()) ?? 0;
  });
  return bits;
}

/** The identity-level rights (assign, federate) in a rights value. */
export function rightsGiven(bits: number): Array<"assign" | "federate"> {
  return [...(bits & ASSIGN_BIT ? (["assign"] as const) : []), ...(bits & FEDERATE_BIT ? (["federate"] as const) : [])];
}

/** What a role amounts to, computed once per role per sweep. */
interface RoleFacts {
  guid: string;
  rights: number;
  privilege: Privilege;
}

const NO_NEXT = -1;
const GRADE_HIGH = 1;
const GRADE_CRITICAL = 2;

/** An Int32Array that grows: the collector keeps numbers, not objects (a million assignments stream through). */
class Int32List {
  data: Int32Array;
  length = 0;
  constructor(capacity = 1024, private readonly fill = 0) {
    this.data = new Int32Array(capacity).fill(fill);
  }
  push(value: number): number {
    if (this.length === this.data.length) this.grow(this.length * 2);
    this.data[this.length] = value;
    return this.length++;
  }
  /** Make `at` addressable (new slots hold the fill value). */
  ensure(at: number): void {
    if (at >= this.data.length) this.grow(Math.max(at + 1, this.data.length * 2));
    if (at >= this.length) this.length = at + 1;
  }
  private grow(capacity: number): void {
    const data = new Int32Array(capacity).fill(this.fill);
    data.set(this.data);
    this.data = data;
  }
}

/**
 * Linked lists keyed by a number (a scope, a principal), each entry carrying one or two numbers, all in
 * Int32Arrays: the newest entry of a key first.
 */
class Chains {
  private readonly head = new Int32List(1024, NO_NEXT);
  private readonly next = new Int32List(1024);
  private readonly first = new Int32List(1024);
  private readonly second = new Int32List(1024);

  add(key: number, first: number, second = 0): void {
    this.head.ensure(key);
    const entry = this.next.push(this.head.data[key] ?? NO_NEXT);
    this.first.push(first);
    this.second.push(second);
    this.head.data[key] = entry;
  }

  /** Calls `visit` with each entry's numbers of `key`, newest first. */
  forEach(key: number, visit: (first: number, second: number) => void): void {
    if (key >= this.head.length) return;
    for (let entry = this.head.data[key] ?? NO_NEXT; entry !== NO_NEXT; entry = this.next.data[entry] ?? NO_NEXT) visit(this.first.data[entry] ?? 0, this.second.data[entry] ?? 0);
  }
}


/**
 * Built while role assignments stream (pure: fed by the engine, no I/O). Keeps only what exposure needs:
 * assignments that give a right, indexed by right and then by scope, and each principal's critical/high
 * assignments (identity grades and "already as privileged"). Never the assignments themselves: scopes,
 * principals, roles and holder types are numbered once, and an entry is three 32-bit numbers.
 */
export class ExposureCollector {
  private readonly roles = new Map<string, number>();
  private readonly roleList: RoleFacts[] = [];
  private readonly principalIndex = new Map<string, number>();
  private readonly principalIds: string[] = [];
  private readonly principalType = new Int32List(1024);
  private readonly principalMissing = new Int32List(1024);
  private readonly appIds = new Map<number, string>();
  private readonly typeIndex = new Map<string, number>();
  private readonly typeNames: string[] = [];
  private readonly scopeIndex = new Map<string, number>();
  /** Scopes as ARM spelled them (the first assignment seen at each). */
  private readonly scopeNames: string[] = [];
  /** Per right and scope: (principal, role) of the assignments that give it there. */
  private readonly byRight: Record<Right, Chains> = { assign: new Chains(), federate: new Chains(), "run-code": new Chains() };
  /** Per principal: its critical/high assignments, packed (scope × 4 + grade). */
  private readonly privileged = new Chains();

  /**
   * `appIds`: the application ids worth remembering for found service principals (the policy's approved
   * pipelines). Absent: every one is kept.
   */
  constructor(
    private readonly definitions: Map<string, RoleDefinition>,
    private readonly options: {
      appIds?: ReadonlySet<string>;
      /**
       * Whether a lower-cased resource id is a user-assigned identity of the snapshot. Given, a right to assign or
       * federate granted at another resource is dropped as it streams in: only an identity's own scope, its
       * resource group and above contain an identity (identities are top-level resources).
       */
      isIdentity?: (key: string) => boolean;
    } = {},
  ) {}

  private role(guid: string): number {
    let at = this.roles.get(guid);
    if (at === undefined) {
      const permissions = rolePermissions(guid, this.definitions);
      at = this.roleList.length;
      this.roleList.push({ guid, rights: rightsOfPermissions(permissions), privilege: privilegeOfPermissions(permissions) });
      this.roles.set(guid, at);
    }
    return at;
  }

  private principal(assignment: RoleAssignment, status: PrincipalStatus): number {
    // GUIDs come lower-case from ARM: toLowerCase then returns the same string, kept once.
    const key = assignment.principalId.toLowerCase();
    let at = this.principalIndex.get(key);
    if (at === undefined) {
      at = this.principalIds.length;
      this.principalIndex.set(key, at);
      this.principalIds.push(assignment.principalId);
      this.principalType.ensure(at);
      this.principalMissing.ensure(at);
      this.principalType.data[at] = this.typeCode(assignment.principalType);
    }
    if (status.state !== "unknown") this.record(at, status);
    return at;
  }

  private typeCode(type: string): number {
    let code = this.typeIndex.get(type);
    if (code === undefined) {
      code = this.typeNames.length;
      this.typeNames.push(type);
      this.typeIndex.set(type, code);
    }
    return code;
  }

  private record(at: number, status: PrincipalStatus): void {
    if (status.state === "missing") this.principalMissing.data[at] = 1;
    if (status.state === "found" && status.object.appId) {
      const appId = status.object.appId.toLowerCase();
      if ((!this.options.appIds || this.options.appIds.has(appId)) && this.appIds.get(at) !== appId) {
        this.appIds.set(at, appId);
        // Pipelines matched by application id may have gained a principal.
        this.appIdsVersion += 1;
      }
    }
  }

  /** Record a directory answer for a principal already fed (the inventory looks holders up afterwards). */
  setStatus(principalId: string, status: PrincipalStatus): void {
    const at = this.principalIndex.get(principalId.toLowerCase());
    if (at !== undefined) this.record(at, status);
  }

  private scope(scope: string): number {
    const key = scopeKey(scope);
    let at = this.scopeIndex.get(key);
    if (at === undefined) {
      at = this.scopeNames.length;
      this.scopeIndex.set(key, at);
      this.scopeNames.push(scope);
    }
    return at;
  }

  /** Feed one assignment with its principal's directory status (unknown when not looked up). */
  add(assignment: RoleAssignment, status: PrincipalStatus): void {
    const roleAt = this.role(roleDefinitionGuid(assignment.roleDefinitionId));
    const role = this.roleList[roleAt] as RoleFacts;
    if (role.rights === 0 && role.privilege === "none") return;
    const level = scopeLevel(assignment.scope);
    const grade = role.privilege === "none" ? undefined : privilegedSeverity(role.privilege, level);
    const graded = grade === "critical" || grade === "high";
    let rights = role.rights;
    if (level === "resource" && rights !== 0) {
      // At a resource, only an identity's own scope gives assign/federate over it, and only a resource of a
      // run-code type (a site for its slots too) gives run-code: the rest can never contain a target.
      if ((rights & (ASSIGN_BIT | FEDERATE_BIT)) !== 0 && this.options.isIdentity && !this.options.isIdentity(scopeKey(assignment.scope))) rights &= ~(ASSIGN_BIT | FEDERATE_BIT);
      if ((rights & ANY_RUN_CODE) !== 0 && !RUN_CODE_BIT.has((resourceTypeOf(assignment.scope) ?? "").toLowerCase())) rights &= ~ANY_RUN_CODE;
    }
    if (rights === 0 && !graded) return;
    const principal = this.principal(assignment, status);
    const scope = this.scope(assignment.scope);
    if (rights & ASSIGN_BIT) this.byRight.assign.add(scope, principal, roleAt);
    if (rights & FEDERATE_BIT) this.byRight.federate.add(scope, principal, roleAt);
    if (rights & ANY_RUN_CODE) this.byRight["run-code"].add(scope, principal, roleAt);
    if (graded) this.privileged.add(principal, scope * 4 + (grade === "critical" ? GRADE_CRITICAL : GRADE_HIGH));
  }

  /** The critical/high assignments of a principal. */
  privilegedOf(principalId: string): ReadonlyArray<{ scope: string; grade: Severity }> {
    const at = this.principalIndex.get(principalId.toLowerCase());
    return at === undefined ? [] : this.privilegedAt(at);
  }

  /** A principal's packed (scope × 4 + grade) critical/high grants, in the order they arrived. */
  private packedPrivileged(at: number): number[] {
    const packed: number[] = [];
    this.privileged.forEach(at, (value) => packed.push(value));
    return packed.reverse();
  }

  private privilegedAt(at: number): Array<{ scope: string; grade: Severity }> {
    return this.packedPrivileged(at).map((packed) => ({ scope: this.scopeNames[Math.floor(packed / 4)] ?? "", grade: packed % 4 === GRADE_CRITICAL ? "critical" : "high" }));
  }

  /** docs/rules/privileged-identity-exposed.md "What it reports", grade: the highest critical/high grade of the identity's assignments, and the scopes at that grade. */
  gradeOf(identity: Identity): { grade: Severity; scopes: string[] } | undefined {
    if (!identity.principalId) return undefined;
    const held = this.privilegedOf(identity.principalId);
    const grade: Severity | undefined = held.some((item) => item.grade === "critical") ? "critical" : held.length > 0 ? "high" : undefined;
    if (!grade) return undefined;
    return { grade, scopes: held.filter((item) => item.grade === grade).map((item) => item.scope) };
  }

  /** What evaluating one policy needs to know of the principals, worked out once per policy. */
  private readonly policyFacts = new WeakMap<CorePolicy, PolicyFacts>();
  private appIdsVersion = 0;

  private factsFor(policy: CorePolicy): PolicyFacts {
    let facts = this.policyFacts.get(policy);
    if (!facts || facts.appIdsVersion !== this.appIdsVersion) {
      const excluded = new Set<number>();
      const lookup = (id: string | undefined): number | undefined => (id === undefined ? undefined : this.principalIndex.get(id.toLowerCase()));
      for (const id of [policy.self.objectId, ...policy.protected.principals]) {
        const at = lookup(id);
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
        approve(lookup(pipeline.objectId), pipeline);
        if (pipeline.appId) {
          const appId = pipeline.appId.toLowerCase();
          for (const [at, known] of this.appIds) if (known === appId) approve(at, pipeline);
        }
      }
      facts = { excluded, pipelines, appIdsVersion: this.appIdsVersion };
      this.policyFacts.set(policy, facts);
    }
    return facts;
  }

  /**
   * docs/rules/privileged-identity-exposed.md for one identity: who can act as it, minus the identity's own principal, an approved
   * pipeline whose scopes contain the target, `self.objectId`, `protected.principals`, principals the directory
   * lookup found missing, and principals already as privileged. Walks only the rights indexed at the scopes
   * that contain the identity (or the resource it is attached to).
   */
  exposureOf(identity: Identity, attachments: readonly AttachedResource[], tree: ScopeTree, policy: CorePolicy): IdentityExposure | undefined {
    const graded = this.gradeOf(identity);
    if (!graded) return undefined;
    const facts = this.factsFor(policy);
    const own = this.principalIndex.get(identity.principalId.toLowerCase());
    const needed = graded.grade === "critical" ? GRADE_CRITICAL : GRADE_HIGH;
    const verdicts = new Map<number, boolean>();
    const excluded = (principal: number): boolean => {
      let verdict = verdicts.get(principal);
      if (verdict === undefined) {
        verdict =
          principal === own ||
          this.principalMissing.data[principal] === 1 ||
          facts.excluded.has(principal) ||
          // Already as privileged: one of its own critical/high grants, at least the identity's grade, contains every graded scope.
          this.packedPrivileged(principal).some((packed) => packed % 4 >= needed && graded.scopes.every((scope) => tree.contains(this.scopeNames[Math.floor(packed / 4)] ?? "", scope)));
        verdicts.set(principal, verdict);
      }
      return verdict;
    };
    const approvedFor = (principal: number, target: string): boolean =>
      (facts.pipelines.get(principal) ?? []).some((pipeline) => !pipeline.scopes || pipeline.scopes.length === 0 || pipeline.scopes.some((scope) => tree.contains(scope, target)));
    const kept: Array<{ principal: number; right: Right; role: number; scope: number; resourceId?: string }> = [];
    const walk = (right: Right, bit: number, target: string, resourceId?: string): void => {
      for (const key of tree.ancestorsOf(target)) {
        const scope = this.scopeIndex.get(key);
        if (scope === undefined) continue;
        this.byRight[right].forEach(scope, (principal, role) => {
          if (((this.roleList[role]?.rights ?? 0) & bit) === 0 || excluded(principal) || approvedFor(principal, target)) return;
          kept.push({ principal, right, role, scope, ...(resourceId ? { resourceId } : {}) });
        });
      }
    };
    walk("assign", ASSIGN_BIT, identity.id);
    walk("federate", FEDERATE_BIT, identity.id);
    for (const resource of attachments) {
      const bit = RUN_CODE_BIT.get((resource.type || resourceTypeOf(resource.id) || "").toLowerCase());
      if (bit) walk("run-code", bit, resource.id, resource.id);
    }
    // One key per right: it dedupes and it sorts (principal, right, scope, resource, role).
    const byKey = new Map<string, ExposureEntry>();
    for (const item of kept) {
      const principalId = this.principalIds[item.principal] ?? "";
      const scope = this.scopeNames[item.scope] ?? "";
      const roleName = roleNameOf(this.roleList[item.role]?.guid ?? "", this.definitions);
      const sortKey = `${principalId.toLowerCase()}\u0000${item.right}\u0000${scope.toLowerCase()}\u0000${(item.resourceId ?? "").toLowerCase()}\u0000${roleName.toLowerCase()}`;
      if (byKey.has(sortKey)) continue;
      byKey.set(sortKey, {
        principalId,
        principalType: this.typeNames[this.principalType.data[item.principal] ?? 0] ?? "",
        right: item.right,
        roleName,
        scope,
        ...(item.resourceId ? { resourceId: item.resourceId } : {}),
      });
    }
    const exposure = [...byKey.keys()].sort().map((sortKey) => byKey.get(sortKey) as ExposureEntry);
    return { grade: graded.grade, exposure };
  }
}

interface PolicyFacts {
  /** `self.objectId` and `protected.principals`, by principal number. */
  excluded: Set<number>;
  /** The approved pipelines each principal is (by object id or application id). */
  pipelines: Map<number, ApprovedPipeline[]>;
  /** The application ids known when this was worked out. */
  appIdsVersion: number;
}

function scopeKey(scope: string): string {
  return scope.length > 1 && scope.endsWith("/") ? scope.slice(0, -1).toLowerCase() : scope.toLowerCase();
}

export interface IdentityExposure {
  grade: Severity;
  /** Rights that remain after every exclusion, sorted by principal, right, scope, resource. */
  exposure: ExposureEntry[];
}

/** docs/rules/privileged-identity-exposed.md for one identity: its grade (critical/high, else undefined) and who can act as it. */
export function exposureOf(
  identity: Identity,
  collector: ExposureCollector,
  attachments: readonly AttachedResource[],
  tree: ScopeTree,
  policy: CorePolicy,
): IdentityExposure | undefined {
  return collector.exposureOf(identity, attachments, tree, policy);
}
