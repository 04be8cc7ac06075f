import { createAzureClients } from "../shared/azure/clients.js";
import { defaultPolicy } from "../shared/config/policy.js";
import { collectReport } from "../shared/engine/report.js";
import { renderReportHtml } from "../shared/report/html.js";
import { jsonBlob } from "../shared/report/json.js";
import { measuring } from "./childMeasure.js";

/**
 * The access-review report in a fresh process (`collectReport` and the page or its JSON, as `GET /api/report` makes
 * them), so its peak RSS is the report path's own. Input: env UAMI_BENCH_TARGET = {"url","ca"}; UAMI_BENCH_OUTPUT =
 * html (default) or json; UAMI_BENCH_MAX_IDENTITIES: the report's limit (default: what the heap holds); UAMI_BENCH_SUBSCRIPTIONS: a comma-separated
 * list to narrow it to, as `?subscription=` does. Output: one JSON line on stdout.
 */
async function main(): Promise<void> {
  const raw = process.env["UAMI_BENCH_TARGET"];
  if (!raw) throw new Error("UAMI_BENCH_TARGET is not set");
  const target = JSON.parse(raw) as { url: string; ca: string };
  const clients = createAzureClients({ kind: "emulator", url: target.url, ca: target.ca });
  const clock = measuring();
  const limit = Number(process.env["UAMI_BENCH_MAX_IDENTITIES"] ?? 0);
  const subscriptions = (process.env["UAMI_BENCH_SUBSCRIPTIONS"] ?? "").split(",").filter(Boolean);
  const model = await collectReport(clients, defaultPolicy(), { ...(limit > 0 ? { maxIdentities: limit } : {}), ...(subscriptions.length > 0 ? { subscriptions } : {}) });
  const output = process.env["UAMI_BENCH_OUTPUT"] === "json" ? await (jsonBlob(model) ?? new Blob([])).arrayBuffer() : await renderReportHtml(model);
  clock.stop();
  process.stdout.write(`${JSON.stringify({ ...clock.result(), identities: model.summary.identities, roleAssignments: model.summary.roleAssignments, findings: model.summary.findings, outputBytes: typeof output === "string" ? Buffer.byteLength(output) : output.byteLength })}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`report child: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
