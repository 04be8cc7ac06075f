import pLimit from "p-limit";
import type { DirectoryObject, Incomplete, RoleAssignment } from "../model.js";
import type { PrincipalStatus } from "../rules/types.js";
import { errorMessage } from "../errors.js";
import { StringPool } from "../azure/estateReader.js";

export type DirectoryLookup = (ids: string[]) => Promise<DirectoryObject[]>;
export type AssignmentCallback = (assignment: RoleAssignment, principal: PrincipalStatus) => void;

const UNKNOWN: PrincipalStatus = { state: "unknown" };
const MISSING: PrincipalStatus = { state: "missing" };

/**
 * Resolves role-assignment principals against the directory while role assignments stream in.
 * New principals are batched 1,000 at a time (so a sweep makes ceil(distinct/1,000) calls), batches
 * run with bounded concurrency, and an assignment waits only until its principal's batch answers.
 * A failed batch marks its principals unknown: their assignments are evaluated with `unknown`.
 */
export class DirectoryResolver {
  private readonly known = new Map<string, PrincipalStatus>();
  private readonly waiting = new Map<string, RoleAssignment[]>();
  private batch: string[] = [];
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly failures: Array<{ reason: string; principals: number; assignments: number }> = [];
  private batches = 0;
  private readonly strings = new StringPool();

  constructor(
    private readonly lookup: DirectoryLookup,
    private readonly onResolved: AssignmentCallback,
    private readonly options: { batchSize: number; concurrency: number },
  ) {
    this.limit = pLimit(options.concurrency);
  }

  /** Queue one assignment; resolves at once when its principal is already known. */
  async submit(assignment: RoleAssignment): Promise<void> {
    const key = assignment.principalId.toLowerCase();
    const status = this.known.get(key);
    if (status) {
      this.onResolved(assignment, status);
      return;
    }
    const queue = this.waiting.get(key);
    if (queue) {
      queue.push(assignment);
      return;
    }
    this.waiting.set(key, [assignment]);
    this.batch.push(key);
    if (this.batch.length >= this.options.batchSize) await this.dispatch();
  }

  /**
   * Sends the last partial batch and waits for every lookup. The resolver is done then: it forgets
   * the principals it resolved, so the rest of the sweep does not carry them (a million assignments
   * name ~200k).
   */
  async flush(): Promise<void> {
    if (this.batch.length > 0) await this.dispatch();
    await Promise.all(this.inFlight);
    this.known.clear();
  }

  get lookups(): number {
    return this.batches;
  }

  incomplete(): Incomplete[] {
    if (this.failures.length === 0) return [];
    const reasons = [...new Set(this.failures.map((failure) => failure.reason))].join("; ");
    return [
      {
        check: "directory-lookup",
        reason: `Microsoft Graph lookup failed for ${this.failures.length} of ${this.batches} batch(es): ${reasons}. Their principals are unknown, not deleted.`,
        affected: this.failures.reduce((sum, failure) => sum + failure.assignments, 0),
      },
    ];
  }

  private async dispatch(): Promise<void> {
    const ids = this.batch;
    this.batch = [];
    this.batches += 1;
    // Back-pressure: never more than `concurrency` batches queued behind the running ones, so the
    // role-assignment stream cannot run ahead and pile up waiting assignments.
    while (this.inFlight.size >= this.options.concurrency * 2) await Promise.race(this.inFlight);
    const task = this.limit(() => this.resolve(ids)).finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }

  /**
   * A sweep remembers every principal it looked up (a million assignments name ~200k): keep one copy
   * of the few distinct type strings and reuse the map key when Graph spells the id the same way.
   */
  private compact(object: DirectoryObject, key: string): DirectoryObject {
    // One literal with every field: properties added one by one afterwards would each cost a
    // separate property array per principal.
    return {
      id: object.id === key ? key : object.id,
      odataType: this.strings.of(object.odataType),
      displayName: object.displayName,
      servicePrincipalType: object.servicePrincipalType === undefined ? undefined : this.strings.of(object.servicePrincipalType),
      appId: object.appId,
    };
  }

  private async resolve(ids: string[]): Promise<void> {
    let found: Map<string, DirectoryObject> | undefined;
    try {
      const objects = await this.lookup(ids);
      found = new Map(objects.map((object) => [object.id.toLowerCase(), object]));
    } catch (error) {
      const assignments = ids.reduce((sum, id) => sum + (this.waiting.get(id)?.length ?? 0), 0);
      this.failures.push({ reason: errorMessage(error), principals: ids.length, assignments });
    }
    for (const id of ids) {
      const object = found?.get(id);
      const status: PrincipalStatus = !found ? UNKNOWN : object ? { state: "found", object: this.compact(object, id) } : MISSING;
      this.known.set(id, status);
      const queue = this.waiting.get(id) ?? [];
      this.waiting.delete(id);
      for (const assignment of queue) this.onResolved(assignment, status);
    }
  }
}
