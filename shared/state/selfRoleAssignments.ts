import { TableStore, keyFor } from "./tableStore.js";
import { idKey } from "../model.js";

const PARTITION = "self-role-assignment";

/**
 * The guard's own role assignments (principal `self.objectId`) as the last sweep saw them. A
 * delete event cannot be read back — the assignment is gone — so governance-tampering asks here.
 * Kept in the identities table, in a partition of its own.
 */
export class SelfRoleAssignmentStore extends TableStore {
  async has(roleAssignmentId: string): Promise<boolean> {
    await this.ensure();
    return (await this.find(PARTITION, keyFor(idKey(roleAssignmentId)))) !== undefined;
  }

  /** Adds what the sweep saw; an assignment seen once stays known (its delete is what matters). */
  async putMany(roleAssignmentIds: string[], seenAt: Date): Promise<void> {
    if (roleAssignmentIds.length === 0) return;
    await this.ensure();
    await this.transact(roleAssignmentIds.map((id) => ["upsert", { partitionKey: PARTITION, rowKey: keyFor(idKey(id)), roleAssignmentId: id, seenAt: seenAt.toISOString() }, "Replace"]));
  }
}
