import { randomUUID } from "node:crypto";
import type { EstateStore } from "./store.js";
import type { EmulatorSettings, EstateResource } from "./estate.js";
import { armError, json, type EmulatorResponse } from "./http.js";

/**
 * Compute's asynchronous writes, when the estate says `"emulator": {"asyncArm": true}`. As recorded in
 * azure-cli vm/tests/latest/recordings/test_vm_explicit_msi.yaml: the PATCH answers 200 with
 * `properties.provisioningState: "Updating"`, an `Azure-AsyncOperation` header
 * (`/subscriptions/{s}/providers/Microsoft.Compute/locations/{location}/operations/{id}?p=…&api-version=…`)
 * and `Azure-AsyncNotification: Enabled`; a newly assigned identity's entry is `{}` until the operation
 * is done; the operation answers `{startTime, status: "InProgress", name}` and then
 * `{startTime, endTime, status: "Succeeded", name}`. A write while one is running answers 409.
 * Operations finish `operationMs` after they start (default 200 ms); `outcome: "Failed"` ends them
 * failed, the identity block as it was before.
 */

const ASYNC_TYPES = new Set(["microsoft.compute/virtualmachines", "microsoft.compute/virtualmachinescalesets"]);
const DEFAULT_OPERATION_MS = 200;

interface Operation {
  id: string;
  resourceKey: string;
  resource: EstateResource;
  startTime: Date;
  dueAt: number;
  outcome: "Succeeded" | "Failed";
  priorIdentity: EstateResource["identity"];
  /** Entries the write added, with what they hold once the operation is done. */
  pending: Map<string, { principalId: string; clientId: string }>;
  endTime?: Date;
}

type AsyncSettings = NonNullable<EmulatorSettings["asyncArm"]>;

export class AsyncOperations {
  private readonly operations = new Map<string, Operation>();
  private readonly running = new Map<string, Operation>();

  constructor(private readonly store: EstateStore, private readonly settings: AsyncSettings | undefined) {}

  /** Whether a write to this resource runs asynchronously. */
  appliesTo(resource: EstateResource): boolean {
    return Boolean(this.settings) && ASYNC_TYPES.has(resource.type.toLowerCase());
  }

  /**
   * 409 while an operation on the resource runs (Compute serializes writes to one VM). The code is the one Compute
   * gives a VM update its state does not allow (`OperationNotAllowed`, "Operation 'Update VM' is not allowed on VM …",
   * quoted in Azure/azure-sdk-for-python#2702); the message for this case is the emulator's own wording.
   */
  conflict(resourceKey: string): EmulatorResponse | undefined {
    this.settle();
    if (!this.running.has(resourceKey)) return undefined;
    return armError(409, "OperationNotAllowed", "Operation is not allowed since the virtual machine is being updated by another operation; retry after it completes.");
  }

  /**
   * The write has been applied to `resource`: mark it Updating, empty the entries it added until the
   * operation is done, and give the headers of the answer.
   */
  start(resourceKey: string, resource: EstateResource, priorIdentity: EstateResource["identity"], origin: string, apiVersion: string): Record<string, string> {
    const pending = new Map<string, { principalId: string; clientId: string }>();
    const before = new Set(Object.keys(priorIdentity?.userAssignedIdentities ?? {}).map((key) => key.toLowerCase()));
    const entries = resource.identity?.userAssignedIdentities ?? {};
    for (const [key, entry] of Object.entries(entries)) {
      if (before.has(key.toLowerCase()) || !entry) continue;
      pending.set(key, { principalId: String(entry.principalId ?? ""), clientId: String(entry.clientId ?? "") });
      entries[key] = {};
    }
    const settings = typeof this.settings === "object" ? this.settings : {};
    const operation: Operation = {
      id: randomUUID(),
      resourceKey,
      resource,
      startTime: new Date(),
      dueAt: Date.now() + (settings.operationMs ?? DEFAULT_OPERATION_MS),
      outcome: settings.outcome ?? "Succeeded",
      priorIdentity: priorIdentity ? structuredClone(priorIdentity) : priorIdentity,
      pending,
    };
    resource.properties = { ...(resource.properties ?? {}), provisioningState: "Updating" };
    this.operations.set(operation.id, operation);
    this.running.set(resourceKey, operation);
    const subscription = /^\/subscriptions\/([^/]+)/i.exec(resource.id)?.[1] ?? "";
    const location = resource.location ?? "westus";
    return {
      "azure-asyncoperation": `${origin}/subscriptions/${subscription}/providers/Microsoft.Compute/locations/${location}/operations/${operation.id}?p=${randomUUID()}&api-version=${encodeURIComponent(apiVersion)}`,
      "azure-asyncnotification": "Enabled",
    };
  }

  /** Finishes every operation whose time has come. */
  settle(now = Date.now()): void {
    for (const operation of this.running.values()) {
      if (operation.dueAt > now) continue;
      this.running.delete(operation.resourceKey);
      operation.endTime = new Date(now);
      const resource = this.store.resources.get(operation.resourceKey);
      if (resource !== operation.resource) continue;
      if (operation.outcome === "Succeeded") {
        const entries = resource.identity?.userAssignedIdentities ?? {};
        for (const [key, value] of operation.pending) if (key in entries) entries[key] = value;
      } else {
        resource.identity = operation.priorIdentity;
      }
      resource.properties = { ...(resource.properties ?? {}), provisioningState: operation.outcome };
      // Recorded: the VM's ETag after the operation is the one the PATCH answered with.
      this.store.touch();
    }
  }

  /** GET of an operation's status URL. */
  status(operationId: string): EmulatorResponse {
    this.settle();
    const operation = this.operations.get(operationId);
    if (!operation) return armError(404, "NotFound", `The operation '${operationId}' was not found.`);
    const base = { startTime: operation.startTime.toISOString() };
    if (!operation.endTime) return json(200, { ...base, status: "InProgress", name: operation.id });
    const ended = { ...base, endTime: operation.endTime.toISOString(), status: operation.outcome };
    // A failed operation's error is Compute's transient one, "An internal execution error occurred. Please retry
    // later." (code InternalExecutionError; the message as quoted in MicrosoftDocs/azure-docs#126758,
    // articles/update-manager/troubleshoot.md).
    return json(
      200,
      operation.outcome === "Failed"
        ? { ...ended, error: { code: "InternalExecutionError", message: "An internal execution error occurred. Please retry later." }, name: operation.id }
        : { ...ended, name: operation.id },
    );
  }
}
