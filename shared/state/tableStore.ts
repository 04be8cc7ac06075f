import type { TableClient } from "@azure/data-tables";
import { toServiceCallFailed } from "../errors.js";

/** A store on one table, created on first use (once per process, retried if creation failed). */
export abstract class TableStore {
  private ready: Promise<void> | undefined;

  constructor(protected readonly table: TableClient) {}

  protected ensure(): Promise<void> {
    this.ready ??= this.table.createTable().catch((error: unknown) => {
      this.ready = undefined;
      throw toServiceCallFailed("tableStorage", error);
    });
    return this.ready;
  }
}
