import type { Policy, Severity } from "../../config/policy.js";
import type { AttachedResource, Identity, PrincipalStatus, RoleAssignment, RoleDefinition } from "../../model.js";
import { resourceTypeOf, roleDefinitionGuid, scopeLevel } from "../../model.js";
import { grantsAction, type ActionPermission } from "./actions.js";
import { atLeast, privilegedSeverity, privilegeOfPermissions, roleNameOf, rolePermissions, type Privilege } from "./roles.js";
import type { ScopeTree } from "./scopes.js";

/** RULES.md "Exposure": the three ways to act as an identity. */
export type Right = "assign" | "federate" | "run-code";

export const ASSIGN_ACTION = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action";
export const FEDERATE_ACTION = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write";

/** RULES.md "Exposure" run-code table: per attached resource type, the actions that run code as its identities. */
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
  index: number;
  guid: string;
  rights: number;
  privilege: Privilege;
}

interface ScopeBucket {
  /** The scope as ARM spells it (first seen). */
  scope: string;
  /** principal index × ROLE_SLOTS + role index: numbers, not objects (a million assignments stream through). */
  entries: number[];
}

interface PrincipalFacts {
  id: string;
  type: string;
  /** The directory lookup found it missing. */
  missing: boolean;
  appId?: string;
}

const ROLE_SLOTS = 65_536;
const GRADED: ReadonlySet<Severity> = new Set<Severity>(["critical", "high"]);

/**
 * Built while role assignments stream (pure: fed by the engine, no I/O). Keeps only what exposure needs:
 * assignments that give a right, indexed by right and then by scope key, and each principal's critical/high
 * assignments (identity grades and "already as privileged"). Never the assignments themselves.
 */
export class ExposureCollector {
  private readonly roles = new Map<string, RoleFacts>();
  private readonly roleList: RoleFacts[] = [];
  private readonly principalIndex = new Map<string, number>();
  private readonly principals: PrincipalFacts[] = [];
  private readonly byRight = { assign: new Map<string, ScopeBucket>(), federate: new Map<string, ScopeBucket>(), "run-code": new Map<string, ScopeBucket>() };
  private readonly privileged = new Map<number, Array<{ scope: string; grade: Severity }>>();

  constructor(private readonly definitions: Map<string, RoleDefinition>) {}

  private role(guid: string): RoleFacts {
    let facts = this.roles.get(guid);
    if (!facts) {
      const permissions = rolePermissions(guid, this.definitions);
      facts = { index: this.roleList.length, guid, rights: rightsOfPermissions(permissions), privilege: privilegeOfPermissions(permissions) };
      this.roles.set(guid, facts);
      this.roleList.push(facts);
    }
    return facts;
  }

  private principal(assignment: RoleAssignment, status: PrincipalStatus): number {
    const key = assignment.principalId.toLowerCase();
    let at = this.principalIndex.get(key);
    if (at === undefined) {
      at = this.principals.length;
      this.principalIndex.set(key, at);
      this.principals.push({ id: assignment.principalId, type: assignment.principalType, missing: false });
    }
    if (status.state !== "unknown") this.setStatus(key, status);
    return at;
  }

  /** Record a directory answer for a principal already fed (the inventory looks holders up afterwards). */
  setStatus(principalId: string, status: PrincipalStatus): void {
    const at = this.principalIndex.get(principalId.toLowerCase());
    const facts = at === undefined ? undefined : this.principals[at];
    if (!facts) return;
    if (status.state === "missing") facts.missing = true;
    if (status.state === "found" && status.object.appId) facts.appId = status.object.appId;
  }

  /** Feed one assignment with its principal's directory status (unknown when not looked up). */
  add(assignment: RoleAssignment, status: PrincipalStatus): void {
    const role = this.role(roleDefinitionGuid(assignment.roleDefinitionId));
    if (role.rights === 0 && role.privilege === "none") return;
    const principal = this.principal(assignment, status);
    const entry = principal * ROLE_SLOTS + role.index;
    if (role.rights & ASSIGN_BIT) this.push(this.byRight.assign, assignment.scope, entry);
    if (role.rights & FEDERATE_BIT) this.push(this.byRight.federate, assignment.scope, entry);
    if (role.rights & ANY_RUN_CODE) this.push(this.byRight["run-code"], assignment.scope, entry);
    const grade = privilegedSeverity(role.privilege, scopeLevel(assignment.scope));
    if (grade && GRADED.has(grade)) {
      const held = this.privileged.get(principal);
      if (held) held.push({ scope: assignment.scope, grade });
      else this.privileged.set(principal, [{ scope: assignment.scope, grade }]);
    }
  }

  private push(map: Map<string, ScopeBucket>, scope: string, entry: number): void {
    const key = scope.length > 1 && scope.endsWith("/") ? scope.slice(0, -1).toLowerCase() : scope.toLowerCase();
    const bucket = map.get(key);
    if (bucket) bucket.entries.push(entry);
    else map.set(key, { scope, entries: [entry] });
  }

  /** The critical/high assignments of a principal. */
  privilegedOf(principalId: string): ReadonlyArray<{ scope: string; grade: Severity }> {
    const at = this.principalIndex.get(principalId.toLowerCase());
    return at === undefined ? [] : (this.privileged.get(at) ?? []);
  }

  /** RULES.md "Grade": the highest critical/high grade of the identity's assignments, and the scopes at that grade. */
  gradeOf(identity: Identity): { grade: Severity; scopes: string[] } | undefined {
    if (!identity.principalId) return undefined;
    const held = this.privilegedOf(identity.principalId);
    const grade: Severity | undefined = held.some((item) => item.grade === "critical") ? "critical" : held.length > 0 ? "high" : undefined;
    if (!grade) return undefined;
    return { grade, scopes: held.filter((item) => item.grade === grade).map((item) => item.scope) };
  }

  /** Every (holder, right) over the identity before exclusions, found through the right's index at each containing scope. */
  candidates(identity: Identity, attachments: readonly AttachedResource[], tree: ScopeTree): Array<ExposureEntry & { holder: PrincipalFacts; target: string }> {
    const found: Array<ExposureEntry & { holder: PrincipalFacts; target: string }> = [];
    const ancestors = tree.ancestorsOf(identity.id);
    for (const right of ["assign", "federate"] as const) {
      const bit = right === "assign" ? ASSIGN_BIT : FEDERATE_BIT;
      for (const key of ancestors) {
        const bucket = this.byRight[right].get(key);
        if (bucket) this.collect(found, bucket, bit, right, identity.id);
      }
    }
    for (const resource of attachments) {
      const bit = RUN_CODE_BIT.get((resource.type || resourceTypeOf(resource.id) || "").toLowerCase());
      if (!bit) continue;
      for (const key of tree.ancestorsOf(resource.id)) {
        const bucket = this.byRight["run-code"].get(key);
        if (bucket) this.collect(found, bucket, bit, "run-code", resource.id, resource.id);
      }
    }
    return found;
  }

  private collect(found: Array<ExposureEntry & { holder: PrincipalFacts; target: string }>, bucket: ScopeBucket, bit: number, right: Right, target: string, resourceId?: string): void {
    for (const entry of bucket.entries) {
      const role = this.roleList[entry % ROLE_SLOTS];
      const holder = this.principals[Math.floor(entry / ROLE_SLOTS)];
      if (!role || !holder || (role.rights & bit) === 0) continue;
      found.push({
        principalId: holder.id,
        principalType: holder.type,
        right,
        roleName: roleNameOf(role.guid, this.definitions),
        scope: bucket.scope,
        ...(resourceId ? { resourceId } : {}),
        holder,
        target,
      });
    }
  }
}

export interface IdentityExposure {
  grade: Severity;
  /** Rights that remain after every exclusion, sorted by principal, right, scope, resource. */
  exposure: ExposureEntry[];
}

const sameGuid = (a: string | undefined, b: string | undefined): boolean =>
  a !== undefined && b !== undefined && a.replace(/-/g, "").toLowerCase() === b.replace(/-/g, "").toLowerCase();

/**
 * RULES.md "Exposure" for one identity: its grade (critical/high, else undefined) and who can act as it,
 * minus the identity's own principal, an approved pipeline whose scopes contain the target, `self.objectId`,
 * `protected.principals`, principals the directory lookup found missing, and principals already as privileged.
 */
export function exposureOf(
  identity: Identity,
  collector: ExposureCollector,
  attachments: readonly AttachedResource[],
  tree: ScopeTree,
  policy: Policy,
): IdentityExposure | undefined {
  const graded = collector.gradeOf(identity);
  if (!graded) return undefined;
  const own = identity.principalId.toLowerCase();
  const protectedPrincipals = new Set(policy.protected.principals.map((principal) => principal.toLowerCase()));
  const asPrivileged = new Map<string, boolean>();
  const alreadyAsPrivileged = (principalId: string): boolean => {
    const key = principalId.toLowerCase();
    let answer = asPrivileged.get(key);
    if (answer === undefined) {
      answer = collector
        .privilegedOf(principalId)
        .some((held) => atLeast(held.grade, graded.grade) && graded.scopes.every((scope) => tree.contains(held.scope, scope)));
      asPrivileged.set(key, answer);
    }
    return answer;
  };
  const approvedFor = (holder: { id: string; appId?: string }, target: string): boolean =>
    policy.approvedPipelines.some(
      (pipeline) =>
        (sameGuid(pipeline.objectId, holder.id) || sameGuid(pipeline.appId, holder.appId)) &&
        (!pipeline.scopes || pipeline.scopes.length === 0 || pipeline.scopes.some((scope) => tree.contains(scope, target))),
    );
  // One key per right, computed once: it dedupes and it sorts (principal, right, scope, resource, role).
  const kept = new Map<string, ExposureEntry>();
  for (const candidate of collector.candidates(identity, attachments, tree)) {
    const { holder, target, ...entry } = candidate;
    const key = holder.id.toLowerCase();
    if (key === own || holder.missing || sameGuid(policy.self.objectId, holder.id) || protectedPrincipals.has(key)) continue;
    if (approvedFor(holder, target) || alreadyAsPrivileged(holder.id)) continue;
    const sortKey = `${key}\u0000${entry.right}\u0000${entry.scope.toLowerCase()}\u0000${(entry.resourceId ?? "").toLowerCase()}\u0000${entry.roleName.toLowerCase()}`;
    if (!kept.has(sortKey)) kept.set(sortKey, entry);
  }
  const exposure = [...kept.keys()].sort().map((sortKey) => kept.get(sortKey) as ExposureEntry);
  return { grade: graded.grade, exposure };
}
