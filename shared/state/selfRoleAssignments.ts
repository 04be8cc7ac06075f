import type { TransactionAction } from "@azure/data-tables";
import { TableStore } from "./tableStore.js";
import { rowKeyFor } from "./eventStores.js";
import { statusCodeOf, toServiceCallFailed } from "../errors.js";
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
    try {
      await this.table.getEntity(PARTITION, rowKeyFor(idKey(roleAssignmentId)));
      return true;
    } catch (error) {
      if (statusCodeOf(error) === 404) return false;
      throw toServiceCallFailed("tableStorage", error);
    }
  }

  /** Adds what the sweep saw; an assignment seen once stays known (its delete is what matters). */
  async putMany(roleAssignmentIds: string[], seenAt: Date): Promise<void> {
    if (roleAssignmentIds.length === 0) return;
    await this.ensure();
    for (let start = 0; start < roleAssignmentIds.length; start += 100) {
      const actions = roleAssignmentIds
        .slice(start, start + 100)
        .map((id): TransactionAction => ["upsert", { partitionKey: PARTITION, rowKey: rowKeyFor(idKey(id)), roleAssignmentId: id, seenAt: seenAt.toISOString() }, "Replace"]);
      try {
        await this.table.submitTransaction(actions);
      } catch (error) {
        throw toServiceCallFailed("tableStorage", error);
      }
    }
  }
}
