/**
 * The project's own error types. Adapters translate SDK errors (RestError.statusCode) into these so
 * the engine decides on meaning ("unknown", "bad input") rather than on HTTP details.
 */

/** Bad input or configuration: the CLI exits 2 with this one-line message. */
export class InputError extends Error {
  override readonly name = "InputError";
  constructor(message: string) {
    super(message);
  }
}

/**
 * The access-review report refused an estate larger than the heap of this process can hold
 * (docs/output.md "How large a report can be"): refused as the estate is read, before the role assignments stream, so
 * the worker lives.
 * Each host says how to narrow it (the CLI `--subscription`, the HTTP endpoint `?subscription=`).
 */
export class ReportTooLarge extends Error {
  override readonly name = "ReportTooLarge";
  constructor(
    readonly identities: number,
    readonly limit: number,
  ) {
    super(`report: ${identities} identities in scope, above the limit of ${limit} this process can hold in its heap`);
  }
}

/** A call to an Azure service failed; what we asked about is unknown, never assumed absent. */
export class ServiceCallFailed extends Error {
  override readonly name: string = "ServiceCallFailed";
  constructor(
    readonly service: string,
    readonly statusCode: number | undefined,
    message: string,
    /** The service's error code (ARM's `error.code`, e.g. PrincipalNotFound), when it sent one. */
    readonly code?: string,
  ) {
    super(message);
  }
}

/** A Microsoft Graph getByIds batch failed: its ids are unknown, not deleted. */
export class DirectoryLookupFailed extends ServiceCallFailed {
  override readonly name = "DirectoryLookupFailed";
  constructor(statusCode: number | undefined, message: string) {
    super("graph", statusCode, message);
  }
}

/** ARM answered 404 for a resource we asked for by id. */
export class ResourceNotFound extends ServiceCallFailed {
  override readonly name = "ResourceNotFound";
  constructor(readonly resourceId: string) {
    super("arm", 404, `not found: ${resourceId}`);
  }
}

interface RestErrorLike {
  statusCode?: number;
  code?: string;
  message: string;
}

function isRestErrorLike(error: unknown): error is RestErrorLike {
  return typeof error === "object" && error !== null && "message" in error;
}

/** Turns an SDK error into a ServiceCallFailed with a short message that never carries secrets. */
export function toServiceCallFailed(service: string, error: unknown): ServiceCallFailed {
  if (error instanceof ServiceCallFailed) return error;
  if (isRestErrorLike(error)) {
    const status = typeof error.statusCode === "number" ? error.statusCode : undefined;
    const what = status !== undefined ? `HTTP ${status}` : (error.code ?? "request failed");
    return new ServiceCallFailed(service, status, `${service}: ${what}: ${firstLine(error.message)}`, error.code);
  }
  return new ServiceCallFailed(service, undefined, `${service}: ${String(error)}`);
}

/** The HTTP status of an SDK error (RestError.statusCode), if it has one. */
export function statusCodeOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === "number" ? status : undefined;
}

export function firstLine(text: string): string {
  const line = text.split("\n", 1)[0] ?? "";
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
