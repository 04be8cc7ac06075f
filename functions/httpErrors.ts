import type { HttpResponseInit, InvocationContext } from "@azure/functions";
import { InputError, ServiceCallFailed, errorMessage } from "../shared/errors.js";

/** Maps the project's errors to HTTP: bad input 400, an Azure dependency failing 502, anything else 500. */
export function errorResponse(context: InvocationContext, error: unknown): HttpResponseInit {
  if (error instanceof InputError) {
    context.warn(error.message);
    return { status: 400, jsonBody: { error: { code: "BadRequest", message: error.message } } };
  }
  if (error instanceof ServiceCallFailed) {
    context.error(error.message);
    return { status: 502, jsonBody: { error: { code: "DependencyFailed", message: error.message } } };
  }
  context.error(`internal error: ${errorMessage(error)}`);
  return { status: 500, jsonBody: { error: { code: "InternalError", message: "internal error; see the function logs" } } };
}
