import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { runSelfCheck } from "../shared/azure/selfCheck.js";
import { CLEANUP_QUEUE, sinkEndpointsFor, TABLES } from "../shared/composition.js";
import { appDependencies, type DependencyProvider } from "./dependencies.js";
import { errorResponse } from "./httpErrors.js";

/**
 * GET /api/health: liveness. GET /api/health?deep=1: the self-check — Resource Graph per governed
 * subscription, Graph getByIds, the tables and the cleanup queue, each sink's endpoint — `ok` or
 * `failed: <reason>` each; 503 when any failed. The function key is required: a deep check spends
 * the app's quota and shows what it can reach.
 */
export function healthHandler(dependencies: DependencyProvider): HttpHandler {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    if (request.query.get("deep") !== "1") return { status: 200, jsonBody: { status: "ok" } };
    try {
      const { clients, policy, settings } = await dependencies();
      const report = await runSelfCheck(clients, {
        subscriptions: settings.UAMI_GUARD_SUBSCRIPTIONS,
        tables: Object.values(TABLES),
        queue: CLEANUP_QUEUE,
        sinks: sinkEndpointsFor(clients.origin),
        ...(policy.self.objectId ? { selfObjectId: policy.self.objectId } : {}),
      });
      for (const [check, result] of Object.entries(report.checks)) if (result !== "ok") context.warn(`health: ${check}: ${result}`);
      return { status: report.status === "ok" ? 200 : 503, jsonBody: report };
    } catch (error) {
      return errorResponse(context, error);
    }
  };
}

export const health = healthHandler(appDependencies);
