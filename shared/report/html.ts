import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip, gunzipSync } from "node:zlib";
import { SEVERITIES } from "../config/policy.js";
import { CLIENT_SCRIPT, SCRIPT_HASH } from "./clientScript.js";
import { gathered, jsonParts } from "./json.js";
import type { ReportIdentity, ReportModel } from "./model.js";
import { barChart, escapeHtml, historyChart, identityGraph, type Bar } from "./svg.js";

/** The CSP hash of the page's one script (computed when it was compiled): the browser runs nothing else. */
export { SCRIPT_HASH };

/**
 * No source is allowed for anything but inline styles and the one hashed script: the page makes no
 * request (no fonts, images, frames, connections); forms and <base> are off too.
 */
export const REPORT_CSP = `default-src 'none'; style-src 'unsafe-inline'; script-src '${SCRIPT_HASH}'; base-uri 'none'; form-action 'none'`;

/** How many identity pictures the page draws; the rest of the critical and high identities are listed by name. */
export const GRAPH_LIMIT = 30;

/**
 * Above this many characters of JSON the page carries the model gzipped (base64 in the JSON block)
 * and the browser inflates it with DecompressionStream: a 10,000-identity model is ~32 MB of JSON
 * (role assignment and resource ids are long and repetitive) and ~3.3 MB packed.
 */
export const PACK_ABOVE = 2_000_000;

/** What the JSON data block holds for a large model. */
export interface PackedModel {
  packed: "gzip-base64";
  data: string;
}

/**
 * The model as the page's JSON data block: the model itself (`<` escaped, so estate text can never close the script
 * element), or for a large model `{"packed":"gzip-base64","data":…}`. Made from the model's JSON a piece at a time
 * (`jsonParts`), compressed as it is made: the whole text of a large model is never in memory, only its gzip.
 */
export async function embedJson(model: ReportModel, packAbove = PACK_ABOVE): Promise<string> {
  const parts = jsonParts(model);
  const held: string[] = [];
  let length = 0;
  for (let part = parts.next(); !part.done; part = parts.next()) {
    held.push(part.value);
    length += part.value.length;
    if (length > packAbove) return JSON.stringify({ packed: "gzip-base64", data: (await gzipParts(held, parts)).toString("base64") } satisfies PackedModel);
  }
  return held.join("").replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/** Pieces of text handed to gzip at least this long at a time: one write per piece would be one zlib round trip each. */
const GZIP_WRITE = 256 * 1024;

async function gzipParts(held: string[], rest: Iterator<string>): Promise<Buffer> {
  function* parts(): Generator<string> {
    yield* held.splice(0);
    for (let part = rest.next(); !part.done; part = rest.next()) yield part.value;
  }
  const packed: Buffer[] = [];
  await pipeline(Readable.from(gathered(parts(), GZIP_WRITE)), createGzip(), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) packed.push(chunk);
  });
  return Buffer.concat(packed);
}

/** The model back from a page's JSON data block (tests, and anyone checking a page against `--output json`). */
export function modelFromHtml(html: string): ReportModel {
  const match = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  if (!match?.[1]) throw new Error("no report data block in the page");
  const block = JSON.parse(match[1]) as ReportModel | PackedModel;
  if ("packed" in block) return JSON.parse(gunzipSync(Buffer.from(block.data, "base64")).toString("utf8")) as ReportModel;
  return block;
}

/** The report model as one self-contained HTML page (its data block compressed as it is made, hence async). */
export async function renderReportHtml(model: ReportModel, options: { packAbove?: number } = {}): Promise<string> {
  const data = await embedJson(model, options.packAbove);
  const s = model.summary;
  const title = `uami-guard access review — ${s.identities.toLocaleString("en-US")} identities, ${model.generatedAt.slice(0, 10)}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(REPORT_CSP)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header class="page-header">
<h1>Access review: user-assigned managed identities</h1>
<p class="meta">Generated ${escapeHtml(model.generatedAt)} by uami-guard · run <code>${escapeHtml(model.runId)}</code> · every number below is a count over the JSON of <code>uami-guard report --output json</code> (embedded in this page).</p>
<nav aria-label="Sections"><a href="#summary">Summary</a><a href="#fix-first">Fix first</a><a href="#history">Over time</a><a href="#graphs">Critical and high identities</a><a href="#findings">Findings</a><a href="#identities">Identities</a></nav>
</header>
<main>
${summarySection(model)}
${fixFirstSection(model)}
${historySection(model)}
${graphSection(model)}
${findingsSection(model)}
${identitiesSection(model)}
</main>
<footer><p>uami-guard · ${escapeHtml(model.schema)} · ${s.identities} identities, ${s.roleAssignments} role assignments, ${s.findings} findings</p></footer>
<script type="application/json" id="report-data">${data}</script>
<script>${CLIENT_SCRIPT}</script>
</body>
</html>
`;
}

function summarySection(model: ReportModel): string {
  const s = model.summary;
  const stats: Array<[string, number]> = [
    ["Identities", s.identities],
    ["Attached to a resource", s.attached],
    ["Holding role assignments", s.withRoleAssignments],
    ["Role assignments (all principals)", s.roleAssignments],
    ["Role assignments of these identities", s.identityRoleAssignments],
    ["With federated credentials", s.withFederatedCredentials],
    ["Findings", s.findings],
    ["Suppressed by policy", s.suppressed],
  ];
  const severityBars: Bar[] = SEVERITIES.map((severity) => ({ label: severity, value: s.bySeverity[severity], tone: severity }));
  const ruleBars: Bar[] = s.byRule.map((entry) => ({ label: entry.ruleId, value: entry.count, tone: "rule" }));
  const gradeChart = s.byGrade
    ? barChart("Identities by grade", [
        { label: "critical", value: s.byGrade.critical, tone: "critical" },
        { label: "high", value: s.byGrade.high, tone: "high" },
        { label: "not privileged", value: s.byGrade.none, tone: "none" },
      ])
    : `<figure class="chart"><figcaption>Identities by grade</figcaption><p class="muted">Not graded: this inventory carries no grade (exposure analysis not available).</p></figure>`;
  const incomplete =
    model.incomplete.length === 0
      ? `<p class="ok">Every check completed.</p>`
      : `<div class="incomplete" role="note"><h3>Incomplete checks</h3><p>These checks could not run; their absence of findings means <strong>unknown</strong>, not clean.</p><ul>${model.incomplete
          .map((entry) => `<li><code>${escapeHtml(entry.check)}</code>: ${escapeHtml(entry.reason)}${entry.affected ? ` (${entry.affected} affected)` : ""}</li>`)
          .join("")}</ul></div>`;
  return `<section id="summary" aria-labelledby="summary-title">
<h2 id="summary-title">Summary</h2>
<dl class="stats">${stats.map(([label, value]) => `<div><dt>${escapeHtml(label)}</dt><dd>${value.toLocaleString("en-US")}</dd></div>`).join("")}</dl>
${incomplete}
${driftTable(model)}
<div class="charts">
${gradeChart}
${barChart("Findings by severity", severityBars, { labelWidth: 90 })}
${barChart("Findings by rule", ruleBars, { labelWidth: 250 })}
</div>
</section>`;
}

/** Drift per desired-state source: the access review's "is what exists what the code says?". */
function driftTable(model: ReportModel): string {
  if (!model.drift || model.drift.length === 0) return "";
  const rows = model.drift
    .map((source) => {
      const counts = source.status === "read" ? [source.drift["not-in-code"], source.drift["missing-in-azure"], source.drift.changed].map((count) => `<td class="num">${count}</td>`).join("") : `<td colspan="3">not read: ${escapeHtml(source.reason ?? "")}; nothing under its scopes was compared</td>`;
      return `<tr><td><code>${escapeHtml(source.path)}</code></td><td>${escapeHtml(source.format)}</td><td>${escapeHtml(source.scopes.join(", "))}</td>${counts}</tr>`;
    })
    .join("");
  return `<h3>Drift against source control</h3><table class="drift"><thead><tr><th scope="col">Source</th><th scope="col">Format</th><th scope="col">Scopes</th><th scope="col">Not in code</th><th scope="col">Missing in Azure</th><th scope="col">Changed</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function historySection(model: ReportModel): string {
  const body =
    model.history === null
      ? `<p class="muted">No finding state was given (<code>--state</code>), so there is no history to draw.</p>`
      : model.history.length === 0
        ? `<p class="muted">The finding state holds no sweeps yet.</p>`
        : historyChart(model.history);
  return `<section id="history" aria-labelledby="history-title"><h2 id="history-title">Open findings over time</h2>${body}</section>`;
}

/** How many fixes the page lists; the JSON model has them all. */
const FIXES_SHOWN = 10;

/** docs/output.md "Fix first": the removals that clear the most findings, with the command for each. */
function fixFirstSection(model: ReportModel): string {
  const fixes = model.fixes.slice(0, FIXES_SHOWN);
  const rows = fixes
    .map((fix, at) => {
      const clears = SEVERITIES.filter((severity) => fix.clears[severity] > 0)
        .map((severity) => `<span class="badge ${severity}">${fix.clears[severity]} ${severity}</span>`)
        .join(" ");
      return `<tr><td>${at + 1}</td><td>${clears}</td><td>${escapeHtml(fix.title)}</td><td><code>${escapeHtml(fix.az)}</code></td></tr>`;
    })
    .join("\n");
  const body =
    fixes.length === 0
      ? `<p class="ok">No single removal clears a finding.</p>`
      : `<table class="data"><caption>The ${fixes.length} removals that clear the most findings${model.fixes.length > fixes.length ? ` (of ${model.fixes.length})` : ""}</caption>
<thead><tr><th scope="col">#</th><th scope="col">Clears</th><th scope="col">Fix</th><th scope="col">Command</th></tr></thead><tbody>
${rows}
</tbody></table>`;
  return `<section id="fix-first" aria-labelledby="fix-first-title"><h2 id="fix-first-title">Fix first</h2>
<p class="muted">Each is the only source of what the findings it clears need: removing it clears them, critical first.</p>
${body}</section>`;
}

/** Critical and high identities: by grade when the inventory is graded, else by their most severe finding. */
export function graphedIdentities(model: ReportModel): Array<{ identity: ReportIdentity; index: number; level: "critical" | "high" }> {
  const graded = model.summary.byGrade !== null;
  const picked: Array<{ identity: ReportIdentity; index: number; level: "critical" | "high" }> = [];
  model.identities.forEach((identity, index) => {
    const level = graded ? identity.grade : identity.worstSeverity;
    if (level === "critical" || level === "high") picked.push({ identity, index, level });
  });
  return picked.sort((a, b) => (a.level === b.level ? 0 : a.level === "critical" ? -1 : 1));
}

function graphSection(model: ReportModel): string {
  const picked = graphedIdentities(model);
  const basis =
    model.summary.byGrade !== null
      ? "Identities graded critical or high by their Azure role assignments (direct, through groups, PIM-eligible), Entra directory roles and Microsoft Graph permissions"
      : "Identities with a critical or high finding (this inventory carries no grades)";
  const shown = picked.slice(0, GRAPH_LIMIT);
  const rest = picked.slice(GRAPH_LIMIT);
  const more =
    rest.length > 0
      ? `<p>${rest.length} more: ${rest.map(({ identity }) => escapeHtml(identity.name)).slice(0, 200).join(", ")}${rest.length > 200 ? ", …" : ""} (filter the identities below by level to see their cards).</p>`
      : "";
  const body = picked.length === 0 ? `<p class="ok">None.</p>` : shown.map(({ identity, index, level }) => identityGraph(identity, index, level)).join("\n") + more;
  return `<section id="graphs" aria-labelledby="graphs-title"><h2 id="graphs-title">Critical and high identities (${picked.length})</h2>
<p class="muted">${basis}. Left: principals that can act as the identity and the right they hold; right: the resources it is attached to and the scopes of its role assignments.</p>
${body}</section>`;
}

function findingsSection(model: ReportModel): string {
  const columns: Array<[string, string]> = [
    ["severity", "Severity"],
    ["ruleId", "Rule"],
    ["subject", "Subject"],
    ["title", "Finding"],
  ];
  const severityOptions = SEVERITIES.map((severity) => `<option value="${severity}">${severity} (${model.summary.bySeverity[severity]})</option>`).join("");
  return `<section id="findings" aria-labelledby="findings-title"><h2 id="findings-title">Findings (${model.summary.findings.toLocaleString("en-US")})</h2>
<div class="controls" role="search">
<label>Severity <select id="finding-severity"><option value="">any</option>${severityOptions}</select></label>
<label>Rule <select id="finding-rule"><option value="">any</option></select></label>
<label>Search <input id="finding-search" type="search" placeholder="title, message, subject"></label>
</div>
<p id="finding-status" class="status" aria-live="polite">The findings table needs JavaScript.</p>
<table id="finding-table" class="data findings-table"><caption class="visually-hidden">Findings; select a column header to sort</caption>
<thead><tr>${columns.map(([key, label]) => `<th scope="col" data-key="${key}" aria-sort="none"><button type="button">${label}</button></th>`).join("")}<th scope="col">Remediation</th></tr></thead>
<tbody id="finding-rows"></tbody></table>
<div id="finding-pager" class="pager"></div>
</section>`;
}

function identitiesSection(model: ReportModel): string {
  return `<section id="identities" aria-labelledby="identities-title"><h2 id="identities-title">Identities (${model.summary.identities.toLocaleString("en-US")})</h2>
<div class="controls" role="search">
<label>Search <input id="identity-search" type="search" placeholder="name, client/principal/resource ID, tag, owner"></label>
<label>Show <select id="identity-level"><option value="">all identities</option><option value="findings">with findings</option><option value="critical">critical (grade or finding)</option><option value="high">high (grade or finding)</option><option value="exposed">with exposure</option></select></label>
</div>
<p id="identity-status" class="status" aria-live="polite">The identity cards need JavaScript.</p>
<div id="identity-list"></div>
<div id="identity-pager" class="pager"></div>
</section>`;
}

const CSS = `
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#fff;--panel:#f6f8fa;--accent:#0b5cad;
--critical:#b42318;--high:#c4320a;--medium:#8a6100;--low:#175cd3;--none:#59636e}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg);overflow-wrap:anywhere}
.page-header{padding:20px 32px 12px;background:#0d1b2a;color:#f0f4f8}
.page-header h1{margin:0 0 4px;font-size:22px}
.page-header .meta{margin:0 0 10px;color:#c5d1dc;font-size:12.5px}
.page-header code{color:#fff;white-space:nowrap}
nav a{color:#9cd0ff;margin-right:18px;text-decoration:none;font-weight:600}
nav a:hover,nav a:focus{text-decoration:underline}
main{padding:8px 32px 32px;max-width:1400px}
section{margin-top:22px}
h2{font-size:19px;border-bottom:2px solid var(--line);padding-bottom:4px}
h3{font-size:16px;margin:0 0 8px}
h4{font-size:13.5px;margin:14px 0 6px}
code{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
pre{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:6px 8px;margin:4px 0;white-space:pre-wrap}
.muted{color:var(--muted)}
.ok{color:#1a7f37;font-weight:600}
.warn{color:var(--high);font-weight:600}
.stats{display:flex;flex-wrap:wrap;gap:10px;margin:0}
.stats div{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:8px 14px;min-width:150px}
.stats dt{color:var(--muted);font-size:12px}
.stats dd{margin:0;font-size:24px;font-weight:700}
.charts{display:flex;flex-wrap:wrap;gap:14px 40px;margin-top:14px}
.chart{margin:0;max-width:100%}
svg{max-width:100%;height:auto}
.chart figcaption,.graph figcaption{font-weight:700;margin-bottom:4px}
svg text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:var(--fg)}
.bar rect{fill:var(--accent)}
.bar.critical rect{fill:var(--critical)}.bar.high rect{fill:var(--high)}.bar.medium rect{fill:var(--medium)}.bar.low rect{fill:var(--low)}.bar.none rect{fill:var(--none)}
.bar.rule rect{fill:#3d6b99}
.bar-value{font-weight:700}
.axis{stroke:var(--muted)}
.tick{fill:var(--muted)}
.history-line{fill:none;stroke:var(--accent);stroke-width:2}
circle{fill:var(--accent)}
.point-value{font-weight:700}
.incomplete{border-left:4px solid var(--high);background:#fff4ed;padding:6px 12px;margin:12px 0}
.graph{margin:10px 0 18px;border:1px solid var(--line);border-radius:8px;padding:10px;break-inside:avoid}
.node rect{fill:#f6f8fa;stroke:#8c959f}
.node.identity rect{fill:#fff;stroke-width:2.5}
.node.identity.critical rect{stroke:var(--critical)}.node.identity.high rect{stroke:var(--high)}
.node.holder rect{fill:#fff4ed;stroke:var(--high)}
.node.resource rect{fill:#eef6ff;stroke:var(--accent)}
.node.identity .node-label{font-weight:700}
.node-label{font-weight:600}
.edge{fill:none;stroke:#8c959f;stroke-width:1.4}
.arrow{fill:#8c959f}
.node-sub{fill:var(--muted);font-size:11px}
.column-title{fill:var(--muted);font-weight:700;text-transform:uppercase;font-size:10.5px}
.muted-text{fill:var(--muted)}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:11px;font-weight:700;color:#fff;background:var(--none);vertical-align:middle;letter-spacing:.02em}
.badge.critical{background:var(--critical)}.badge.high{background:var(--high)}.badge.medium{background:var(--medium)}.badge.low{background:var(--low)}
.controls{display:flex;flex-wrap:wrap;gap:12px;align-items:center;margin:8px 0}
.controls label{font-weight:600}
.controls input,.controls select{font:inherit;padding:4px 6px;margin-left:4px;border:1px solid #8c959f;border-radius:5px}
.controls input{width:320px}
.status{color:var(--muted);margin:6px 0}
.pager{margin:10px 0;display:flex;gap:8px;align-items:center}
button{font:inherit;padding:3px 10px;border:1px solid #8c959f;border-radius:5px;background:#fff;cursor:pointer}
button:disabled{opacity:.45;cursor:default}
table.data{border-collapse:collapse;width:100%;margin:4px 0 8px;table-layout:fixed}
table.data caption{text-align:left;color:var(--muted);font-size:12px;padding-bottom:2px}
table.data th,table.data td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
table.data th{background:var(--panel)}
.findings-table th button{border:0;background:none;padding:0;font-weight:700}
.findings-table th[aria-sort=ascending] button::after{content:" ▲"}
.findings-table th[aria-sort=descending] button::after{content:" ▼"}
.findings-table{table-layout:fixed}
.findings-table th:nth-child(1){width:112px}.findings-table th:nth-child(2){width:190px}.findings-table th:nth-child(3){width:210px}
.findings-table th:nth-child(5){width:34%}
.findings-table td{overflow-wrap:anywhere}
.findings-table td code{word-break:normal;overflow-wrap:anywhere}
.findings-table pre{margin:0;font-size:11.5px}
.message{color:var(--muted)}
.card{border:1px solid var(--line);border-radius:8px;padding:14px 18px;margin:12px 0;break-inside:avoid-page}
.ids{display:grid;grid-template-columns:minmax(0,max-content) minmax(0,1fr);gap:2px 14px;margin:0}
.ids dt{color:var(--muted);font-weight:600}
.ids dd{margin:0}
.tags{list-style:none;padding:0;margin:0;display:flex;flex-wrap:wrap;gap:4px}
.tags li{background:var(--panel);border:1px solid var(--line);border-radius:4px;padding:0 6px;min-width:0;max-width:100%}
.tag-key{font-weight:600}
.card table.data th:first-child{width:25%}
.ids-list{margin:0;padding-left:18px}
.findings{padding-left:18px}
.finding p{margin:2px 0}
.rule{color:var(--muted)}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
footer{padding:10px 32px;color:var(--muted);border-top:1px solid var(--line)}
@media print{
  body{font-size:10pt}
  .page-header{background:none;color:#000;padding:0 0 6px}
  .page-header .meta,.page-header code{color:#000}
  nav,.controls,.pager{display:none}
  main{padding:0;max-width:none}
  a{color:#000;text-decoration:none}
  .card,.graph,figure{break-inside:avoid}
  h2{break-after:avoid}
  table.data tr{break-inside:avoid}
  .badge{color:#000;background:none!important;border:1px solid #000}
}
`;
