import type { ExposureCollector, Holder, Right, RightEvidence } from "./exposure.js";
import { deleteRoleAssignment } from "./commands.js";
import type { FixTarget } from "./fixes.js";
import type { RoleFacts } from "./roleFacts.js";

/**
 * docs/rules/privileged-identity-exposed.md: what the findings of many (identity, holder) pairs say alike, built once
 * and referenced by each (holders.ts finds who holds what; this module owns the evidence objects it hands out).
 */

/** The rights in the order of `Right`'s numbers here: a found right is one number, its evidence shared (`SharedEvidence`). */
export const RIGHTS: readonly Right[] = ["assign", "federate", "run-code", "grant"];
export const [ASSIGN, FEDERATE, RUN_CODE, GRANT] = [0, 1, 2, 3] as const;

export interface SharedRight {
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
export class SharedEvidence {
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

/** Per list of rights handed out here, the commands that delete its active grants (shared by the lists of the same grants). */
const deletesOfList = new WeakMap<readonly RightEvidence[], readonly string[]>();

/**
 * `az role assignment delete` of each active grant that gives one of `rights`, each once, in the order of the rights: the
 * same array for every list of rights built here from the same grants (so a remediation can be shared by it too).
 */
export function deleteCommandsOf(rights: readonly RightEvidence[]): readonly string[] {
  const shared = deletesOfList.get(rights);
  if (shared) return shared;
  return [...new Set(rights.filter((right) => !right.eligible && right.roleAssignmentId).map((right) => deleteRoleAssignment(right.roleAssignmentId)))];
}

/** The shared evidence of a collector as fed so far: anything fed afterwards (a name, a member) starts it afresh. */
export function sharedOf(collector: ExposureCollector): SharedEvidence {
  let shared = sharedEvidence.get(collector);
  if (!shared || shared.revision !== collector.revision) {
    shared = new SharedEvidence(collector, collector.revision);
    sharedEvidence.set(collector, shared);
  }
  return shared;
}
