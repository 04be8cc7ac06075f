import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { collectReport } from "../shared/engine/report.js";
import { findingStateStore } from "../shared/composition.js";
import { REPORT_CSP, renderReportHtml } from "../shared/report/html.js";
import { appDependencies, type DependencyProvider } from "./dependencies.js";
import { errorResponse } from "./httpErrors.js";

/**
 * GET /api/report: the access-review report page (the same page as `uami-guard report`), with the
 * app's finding state for the history chart. `?output=json` answers the report model instead.
 */
export function reportHandler(dependencies: DependencyProvider): HttpHandler {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    try {
      const { clients, settings, policy } = await dependencies();
      const requested = request.query.getAll("subscription").flatMap((value) => value.split(","));
      const subscriptions = requested.length > 0 ? requested : settings.UAMI_GUARD_SUBSCRIPTIONS;
      const model = await collectReport(clients, policy, { subscriptions, findingState: () => findingStateStore(clients) });
      context.log(`report: ${model.summary.identities} identities, ${model.summary.findings} findings`);
      if (request.query.get("output") === "json") return { status: 200, jsonBody: model };
      return {
        status: 200,
        headers: {
          "content-type": "text/html; charset=utf-8",
          "content-security-policy": REPORT_CSP,
          "x-content-type-options": "nosniff",
          "cache-control": "no-store",
        },
        body: renderReportHtml(model),
      };
    } catch (error) {
      return errorResponse(context, error);
    }
  };
}

export const report = reportHandler(appDependencies);
