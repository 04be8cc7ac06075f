import { TableStore, keyFor, quoted } from "./tableStore.js";
import { idKey, roleDefinitionGuid } from "../model.js";

const PARTITION = "self-role-assignment";

/** One of the guard's own role assignments: its id and the role it grants. */
export interface SelfRoleAssignment {
  id: string;
  roleDefinitionId: string;
}

/**
 * The guard's own role assignments (principal `self.objectId`) as the last sweep saw them. A
 * delete event cannot be read back — the assignment is gone — and Azure refuses to delete a custom
 * role that is still assigned, so governance-tampering asks here for both. Kept in the identities
 * table, in a partition of its own.
 */
export class SelfRoleAssignmentStore extends TableStore {
  async has(roleAssignmentId: string): Promise<boolean> {
    await this.ensure();
    return (await this.find(PARTITION, keyFor(idKey(roleAssignmentId)))) !== undefined;
  }

  /** Whether an assignment of this role definition (by its GUID, unique in the tenant) was the guard's. */
  async holdsRole(roleDefinitionId: string): Promise<boolean> {
    await this.ensure();
    const filter = `PartitionKey eq ${quoted(PARTITION)} and roleDefinitionGuid eq ${quoted(roleDefinitionGuid(roleDefinitionId))}`;
    return this.call(async () => {
      for await (const _ of this.table.listEntities({ queryOptions: { filter, select: ["RowKey"] } })) return true;
      return false;
    });
  }

  /** Adds what the sweep saw; an assignment seen once stays known (its delete is what matters). */
  async putMany(assignments: SelfRoleAssignment[], seenAt: Date): Promise<void> {
    if (assignments.length === 0) return;
    await this.ensure();
    await this.transact(
      assignments.map((assignment) => [
        "upsert",
        {
          partitionKey: PARTITION,
          rowKey: keyFor(idKey(assignment.id)),
          roleAssignmentId: assignment.id,
          roleDefinitionGuid: roleDefinitionGuid(assignment.roleDefinitionId),
          seenAt: seenAt.toISOString(),
        },
        "Replace",
      ]),
    );
  }
}
