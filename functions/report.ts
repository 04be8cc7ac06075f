import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { collectReport } from "../shared/engine/report.js";
import { findingStateStore } from "../shared/composition.js";
import { ReportTooLarge } from "../shared/errors.js";
import { REPORT_CSP, renderReportHtml } from "../shared/report/html.js";
import { jsonBlob } from "../shared/report/json.js";
import { appDependencies, type DependencyProvider } from "./dependencies.js";
import { errorResponse } from "./httpErrors.js";

/**
 * The most JSON `?output=json` answers: the Functions library reads a body to bytes (`toRpcHttp`: `await
 * response.arrayBuffer()`, @azure/functions 4.x) and sends them to the host over gRPC, so the instance holds it two or
 * three times over outside the heap (docs/output.md "How large a report can be").
 */
export const REPORT_JSON_MAX_BYTES = 256 * 1_048_576;

/**
 * GET /api/report: the access-review report page (the same page as `uami-guard report`), with the
 * app's finding state for the history chart. `?output=json` answers the report model instead.
 */
export function reportHandler(dependencies: DependencyProvider, options: { jsonMaxBytes?: number } = {}): HttpHandler {
  const jsonMaxBytes = options.jsonMaxBytes ?? REPORT_JSON_MAX_BYTES;
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    try {
      const { clients, settings, policy } = await dependencies();
      const requested = request.query.getAll("subscription").flatMap((value) => value.split(","));
      const subscriptions = requested.length > 0 ? requested : settings.UAMI_GUARD_SUBSCRIPTIONS;
      const model = await collectReport(clients, policy, {
        subscriptions,
        findingState: () => findingStateStore(clients),
        ...(settings.UAMI_GUARD_REPORT_MAX_IDENTITIES ? { maxIdentities: settings.UAMI_GUARD_REPORT_MAX_IDENTITIES } : {}),
      });
      context.log(`report: ${model.summary.identities} identities, ${model.summary.findings} findings`);
      if (request.query.get("output") === "json") {
        const body = jsonBlob(model, jsonMaxBytes);
        if (body) return { status: 200, headers: { "content-type": "application/json", "cache-control": "no-store" }, body };
        const megabytes = Math.round(jsonMaxBytes / 1_048_576);
        return refuse(context, `report: the JSON of ${model.summary.identities} identities is more than ${megabytes} MB, more than the worker answers from memory; the page (without ?output=json) carries it gzipped, or narrow it with ?subscription=<id>[,<id>...]`, { identities: model.summary.identities, limitBytes: jsonMaxBytes });
      }
      return {
        status: 200,
        headers: {
          "content-type": "text/html; charset=utf-8",
          "content-security-policy": REPORT_CSP,
          "x-content-type-options": "nosniff",
          "cache-control": "no-store",
        },
        body: await renderReportHtml(model),
      };
    } catch (error) {
      if (error instanceof ReportTooLarge) return tooLarge(context, error);
      return errorResponse(context, error);
    }
  };
}

/**
 * An estate larger than the worker's heap holds is the caller's to narrow, not a failure of the app: 422 with what
 * was counted, the limit and how to narrow it (docs/output.md "How large a report can be"). The worker lives on.
 */
function tooLarge(context: InvocationContext, error: ReportTooLarge): HttpResponseInit {
  const message = `${error.message}; narrow it to fewer subscriptions with ?subscription=<id>[,<id>...] (or raise UAMI_GUARD_REPORT_MAX_IDENTITIES only with the instance memory)`;
  return refuse(context, message, { identities: error.identities, limit: error.limit });
}

function refuse(context: InvocationContext, message: string, counts: Record<string, number>): HttpResponseInit {
  context.warn(message);
  return { status: 422, jsonBody: { error: { code: "ReportTooLarge", message, ...counts } } };
}

export const report = reportHandler(appDependencies);
