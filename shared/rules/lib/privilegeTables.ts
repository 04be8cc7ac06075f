import type { PrincipalStatus } from "../../model.js";
import { Int32List, guidOfWords, guidWords } from "./int32.js";

/**
 * The numbered tables the exposure collector keeps: principals, scopes and grants (role assignments and
 * eligibilities that give a right or a grade). Every one of a million streamed assignments may pass through, so
 * strings are kept once and a grant is eight 32-bit numbers.
 */

/** Principals: id as first seen, type, directory answer, display name. */
export class PrincipalTable {
  private readonly index = new Map<string, number>();
  readonly ids: string[] = [];
  private readonly typeCodes = new Int32List(1024);
  private readonly typeIndex = new Map<string, number>();
  private readonly typeNames: string[] = [];
  private readonly groupTypes: boolean[] = [];
  private readonly missing = new Int32List(1024);
  private readonly names = new Map<number, string>();
  /** Application ids of found service principals worth remembering (approved pipelines match by them). */
  readonly appIds = new Map<number, string>();
  /** Bumped whenever an application id is learned: policy facts worked out before are stale. */
  appIdsVersion = 0;

  constructor(private readonly keepAppId: (appId: string) => boolean = () => true) {}

  /** The number of a principal, numbering it on first sight. An empty type never overwrites a known one. */
  number(id: string, type: string): number {
    // GUIDs come lower-case from ARM: toLowerCase then returns the same string, kept once.
    const key = id.toLowerCase();
    let at = this.index.get(key);
    if (at === undefined) {
      at = this.ids.length;
      this.index.set(key, at);
      this.ids.push(id);
      this.typeCodes.ensure(at);
      this.missing.ensure(at);
      this.typeCodes.data[at] = this.typeCode(type);
    } else if (type && !this.typeNames[this.typeCodes.get(at)]) {
      this.typeCodes.data[at] = this.typeCode(type);
    }
    return at;
  }

  find(id: string | undefined): number | undefined {
    return id === undefined ? undefined : this.index.get(id.toLowerCase());
  }

  private typeCode(type: string): number {
    let code = this.typeIndex.get(type);
    if (code === undefined) {
      code = this.typeNames.length;
      this.typeNames.push(type);
      this.groupTypes.push(type.toLowerCase() === "group");
      this.typeIndex.set(type, code);
    }
    return code;
  }

  typeOf(at: number): string {
    return this.typeNames[this.typeCodes.get(at)] ?? "";
  }

  isGroup(at: number): boolean {
    return this.groupTypes[this.typeCodes.get(at)] === true;
  }

  nameOf(at: number): string | undefined {
    return this.names.get(at);
  }

  setName(at: number, name: string | undefined): void {
    if (name) this.names.set(at, name);
  }

  isMissing(at: number): boolean {
    return this.missing.get(at) === 1;
  }

  /** Records a directory answer: missing, or found (its name, and its application id when wanted). */
  record(at: number, status: PrincipalStatus): void {
    if (status.state === "missing") this.missing.data[at] = 1;
    if (status.state !== "found") return;
    this.setName(at, status.object.displayName);
    const appId = status.object.appId?.toLowerCase();
    if (appId && this.keepAppId(appId) && this.appIds.get(at) !== appId) {
      this.appIds.set(at, appId);
      this.appIdsVersion += 1;
    }
  }
}

/** Scopes, numbered by their lower-cased key; the name is ARM's spelling of the first assignment seen there. */
export class ScopeTable {
  private readonly index = new Map<string, number>();
  readonly names: string[] = [];

  number(scope: string): number {
    const key = scopeKey(scope);
    let at = this.index.get(key);
    if (at === undefined) {
      at = this.names.length;
      this.index.set(key, at);
      this.names.push(scope);
    }
    return at;
  }

  find(key: string): number | undefined {
    return this.index.get(key);
  }

  nameOf(at: number): string {
    return this.names[at] ?? "";
  }
}

export function scopeKey(scope: string): string {
  return scope.length > 1 && scope.endsWith("/") ? scope.slice(0, -1).toLowerCase() : scope.toLowerCase();
}

export const ELIGIBLE_FLAG = 1;
/** Grade bits of a grant (flags >> 1): 0 none, 1 high, 2 critical. */
export const GRADE_HIGH = 1;
export const GRADE_CRITICAL = 2;

const ASSIGNMENT_SUFFIX = "/providers/Microsoft.Authorization/roleAssignments/";

/** Grants: scope, principal, role facts, flags, and the id (a GUID in four numbers when ARM's id is scope + suffix + GUID). */
export class GrantTable {
  private readonly scope = new Int32List(1024);
  private readonly principal = new Int32List(1024);
  private readonly role = new Int32List(1024);
  private readonly flags = new Int32List(1024);
  private readonly words = new Int32List(4096);
  /** Ids that do not rebuild from their scope and GUID (other spelling, eligibility instances). */
  private readonly spelled = new Map<number, string>();

  get size(): number {
    return this.scope.length;
  }

  add(id: string, scope: number, scopeName: string, principal: number, role: number, flags: number): number {
    const at = this.scope.push(scope);
    this.principal.push(principal);
    this.role.push(role);
    this.flags.push(flags);
    const guid = id.slice(id.lastIndexOf("/") + 1);
    const words = guidWords(guid);
    for (const word of words ?? [0, 0, 0, 0]) this.words.push(word);
    if (!words || id !== `${scopeName}${ASSIGNMENT_SUFFIX}${guid}`) this.spelled.set(at, id);
    return at;
  }

  idOf(at: number, scopes: ScopeTable): string {
    const spelled = this.spelled.get(at);
    if (spelled !== undefined) return spelled;
    const words = [0, 1, 2, 3].map((offset) => this.words.get(at * 4 + offset));
    return `${scopes.nameOf(this.scope.get(at))}${ASSIGNMENT_SUFFIX}${guidOfWords(words)}`;
  }

  scopeOf(at: number): number {
    return this.scope.get(at);
  }
  principalOf(at: number): number {
    return this.principal.get(at);
  }
  roleOf(at: number): number {
    return this.role.get(at);
  }
  eligible(at: number): boolean {
    return (this.flags.get(at) & ELIGIBLE_FLAG) !== 0;
  }
  /** 0 none, 1 high, 2 critical. */
  gradeOf(at: number): number {
    return this.flags.get(at) >> 1;
  }
}
