import { showInvisible } from "../displayText.js";
import { resourceTypeOf, scopeLevel } from "../model.js";
import type { HistoryPoint, ReportIdentity } from "./model.js";

/**
 * Escapes text for HTML and SVG element content and double-quoted attribute values; control,
 * bidirectional and invisible characters are shown as escapes (`\u202e`), as the CLI shows them, so a
 * name can neither reorder the page around it nor hide text.
 */
export function escapeHtml(text: string): string {
  return showInvisible(text).replace(/[&<>"']/g, (character) => ESCAPES[character] ?? character);
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export interface Bar {
  label: string;
  value: number;
  /** A CSS class that colours the bar; the label and the number say the same in text. */
  tone: string;
}

const BAR_ROW = 26;

/** A horizontal bar chart: label, bar and the number as text on every row. */
export function barChart(title: string, bars: Bar[], options: { labelWidth?: number } = {}): string {
  const labelWidth = options.labelWidth ?? 170;
  const barWidth = 300;
  const width = labelWidth + barWidth + 70;
  const height = Math.max(1, bars.length) * BAR_ROW + 8;
  const max = Math.max(1, ...bars.map((bar) => bar.value));
  const id = `chart-${slug(title)}`;
  const rows = bars.map((bar, index) => {
    const y = 4 + index * BAR_ROW;
    const length = bar.value === 0 ? 0 : Math.max(2, Math.round((bar.value / max) * barWidth));
    return (
      `<g class="bar ${escapeHtml(bar.tone)}"><text x="${labelWidth - 8}" y="${y + 17}" text-anchor="end" class="bar-label">${escapeHtml(bar.label)}</text>` +
      `<rect x="${labelWidth}" y="${y + 3}" width="${length}" height="${BAR_ROW - 8}" rx="3"><title>${escapeHtml(`${bar.label}: ${bar.value}`)}</title></rect>` +
      `<text x="${labelWidth + length + 6}" y="${y + 17}" class="bar-value">${bar.value.toLocaleString("en-US")}</text></g>`
    );
  });
  const empty = bars.length === 0 ? `<text x="8" y="20" class="bar-label">none</text>` : "";
  return (
    `<figure class="chart"><figcaption id="${id}">${escapeHtml(title)}</figcaption>` +
    `<svg role="img" aria-labelledby="${id}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">${rows.join("")}${empty}</svg></figure>`
  );
}

/** Open findings after each recorded sweep, as a line with the count written at the first, the last and the highest point. */
export function historyChart(points: HistoryPoint[]): string {
  const width = 640;
  const height = 200;
  const left = 44;
  const right = 16;
  const top = 18;
  const bottom = 40;
  const max = niceCeiling(Math.max(1, ...points.map((point) => point.open)) * 1.1);
  const times = points.map((point) => Date.parse(point.at));
  const first = times[0] ?? 0;
  const last = times[times.length - 1] ?? first;
  const span = Math.max(1, last - first);
  const x = (time: number): number => (points.length === 1 ? left + (width - left - right) / 2 : left + ((time - first) / span) * (width - left - right));
  const y = (value: number): number => top + (1 - value / max) * (height - top - bottom);
  const path = points.map((point, index) => `${index === 0 ? "M" : "L"}${x(times[index] ?? first).toFixed(1)},${y(point.open).toFixed(1)}`).join(" ");
  const peak = points.reduce((best, point, index) => (point.open > (points[best]?.open ?? -1) ? index : best), 0);
  const labelled = new Set([0, points.length - 1, peak]);
  const dots = points
    .map((point, index) => {
      const cx = x(times[index] ?? first).toFixed(1);
      const cy = y(point.open).toFixed(1);
      const label = labelled.has(index) ? `<text x="${cx}" y="${(Number(cy) - 7).toFixed(1)}" text-anchor="middle" class="point-value">${point.open}</text>` : "";
      return `<circle cx="${cx}" cy="${cy}" r="3.5"><title>${escapeHtml(`${point.at}${point.current ? " (this report)" : ""}: ${point.open} open`)}</title></circle>${label}`;
    })
    .join("");
  const axis =
    `<line x1="${left}" y1="${height - bottom}" x2="${width - right}" y2="${height - bottom}" class="axis"/>` +
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${height - bottom}" class="axis"/>` +
    `<text x="${left - 6}" y="${top + 4}" text-anchor="end" class="tick">${max}</text>` +
    `<text x="${left - 6}" y="${height - bottom + 4}" text-anchor="end" class="tick">0</text>` +
    `<text x="${left}" y="${height - bottom + 18}" class="tick">${escapeHtml(points[0]?.at.slice(0, 19).replace("T", " ") ?? "")}</text>` +
    `<text x="${width - right}" y="${height - bottom + 18}" text-anchor="end" class="tick">${escapeHtml(points[points.length - 1]?.at.slice(0, 19).replace("T", " ") ?? "")}</text>` +
    `<text x="${(width + left) / 2}" y="${height - 6}" text-anchor="middle" class="tick">sweep time (UTC)</text>`;
  return (
    `<figure class="chart"><figcaption id="chart-history">${escapeHtml(historyCaption(points))}</figcaption>` +
    `<svg role="img" aria-labelledby="chart-history" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">${axis}<path d="${path}" class="history-line"/>${dots}</svg></figure>`
  );
}

/** Says what the points are: times the finding state recorded, and (last) this report's own sweep. */
export function historyCaption(points: HistoryPoint[]): string {
  const recorded = points.filter((point) => !point.current).length;
  const times = `${recorded} time${recorded === 1 ? "" : "s"} recorded in the finding state`;
  return `Open findings over time: ${times}${points.some((point) => point.current) ? ", then this report's sweep" : ""}`;
}

interface GraphNode {
  label: string;
  /** A second, smaller line: the right a holder has, the roles held at a scope, a resource's type. */
  sub: string;
  detail: string;
}

const COLUMN_LIMIT = 8;
const NODE_HEIGHT = 40;
const NODE_GAP = 10;

/**
 * One identity as a picture: the principals that can act as it on the left (with the right they
 * hold), the identity in the middle, the resources it is attached to and the scopes its roles reach
 * (roles grouped per scope) on the right. Long columns end in a "+N more" node; the card lists everything.
 */
export function identityGraph(identity: ReportIdentity, index: number, level: string): string {
  const holders: GraphNode[] = groupBy(identity.exposure ?? [], (entry) => entry.principalId).map(([principalId, entries]) => ({
    label: principalId,
    sub: `${entries[0]?.principalType ?? ""}: ${unique(entries.map((entry) => entry.right)).join(", ")}`,
    detail: entries.map((entry) => `${entry.principalType} ${entry.principalId}: ${entry.right} via ${entry.roleName} at ${entry.scope}${entry.resourceId ? ` on ${entry.resourceId}` : ""}`).join("\n"),
  }));
  const resources: GraphNode[] = identity.attachedTo.map((resourceId) => ({
    label: lastSegment(resourceId),
    sub: `attached: ${resourceTypeOf(resourceId)?.split("/").slice(1).join("/") ?? "resource"}`,
    detail: resourceId,
  }));
  const scopes: GraphNode[] = groupBy(identity.roleAssignments, (assignment) => assignment.scope.toLowerCase()).map(([, assignments]) => {
    const scope = assignments[0]?.scope ?? "";
    const roles = unique(assignments.map((assignment) => assignment.roleName ?? "custom role"));
    return { label: scopeLabel(scope), sub: roles.join(", "), detail: `${roles.join(", ")} at ${scope}` };
  });
  const left = capped(holders, "holders", COLUMN_LIMIT);
  const rightResources = capped(resources, "resources", Math.max(2, COLUMN_LIMIT - Math.min(scopes.length, COLUMN_LIMIT / 2)));
  const right = [...rightResources, ...capped(scopes, "scopes", COLUMN_LIMIT - rightResources.length)];
  const rows = Math.max(1, left.length, right.length);
  const height = rows * (NODE_HEIGHT + NODE_GAP) + 34;
  const width = 900;
  const nodeWidth = 250;
  const leftX = 4;
  const middleX = (width - nodeWidth) / 2;
  const rightX = width - nodeWidth - 4;
  const centreY = 28 + (rows * (NODE_HEIGHT + NODE_GAP) - NODE_GAP) / 2;
  const rowY = (position: number, count: number): number => 28 + (rows - count) * ((NODE_HEIGHT + NODE_GAP) / 2) + position * (NODE_HEIGHT + NODE_GAP);
  const marker = `arrow-${index}`;
  const parts: string[] = [
    `<defs><marker id="${marker}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrow"/></marker></defs>`,
    `<text x="${leftX}" y="14" class="column-title">who can act as it</text>`,
    `<text x="${middleX}" y="14" class="column-title">identity</text>`,
    `<text x="${rightX}" y="14" class="column-title">attached to · role scopes</text>`,
  ];
  left.forEach((node, position) => {
    const y = rowY(position, left.length);
    parts.push(edge(leftX + nodeWidth, y + NODE_HEIGHT / 2, middleX, centreY, marker));
    parts.push(box(leftX, y, nodeWidth, node, "holder"));
  });
  right.forEach((node, position) => {
    const y = rowY(position, right.length);
    parts.push(edge(middleX + nodeWidth, centreY, rightX, y + NODE_HEIGHT / 2, marker));
    parts.push(box(rightX, y, nodeWidth, node, node.sub.startsWith("attached") ? "resource" : "scope"));
  });
  if (left.length === 0) {
    const note = identity.exposure === undefined ? "exposure not analysed" : "no other principal can act as it";
    parts.push(`<text x="${leftX}" y="${centreY + 4}" class="muted-text">${note}</text>`);
  }
  parts.push(box(middleX, centreY - NODE_HEIGHT / 2, nodeWidth, { label: identity.name, sub: `${level} · ${identity.roleAssignments.length} roles · ${identity.attachedTo.length} attached`, detail: identity.id }, `identity ${level}`));
  const titleId = `graph-${index}-title`;
  return (
    `<figure class="graph"><figcaption id="${titleId}">${escapeHtml(identity.name)} <span class="badge ${level}">${escapeHtml(level.toUpperCase())}</span></figcaption>` +
    `<svg role="img" aria-labelledby="${titleId}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">${parts.join("")}</svg></figure>`
  );
}

function capped(nodes: GraphNode[], what: string, limit: number): GraphNode[] {
  if (nodes.length <= limit) return nodes;
  const shown = nodes.slice(0, Math.max(0, limit - 1));
  const rest = nodes.length - shown.length;
  return [...shown, { label: `+${rest} more ${what}`, sub: "listed in the identity's card", detail: `${rest} more ${what}: see the identity's card` }];
}

function box(x: number, y: number, width: number, node: GraphNode, kind: string): string {
  return (
    `<g class="node ${kind}"><title>${escapeHtml(node.detail)}</title><rect x="${x}" y="${y}" width="${width}" height="${NODE_HEIGHT}" rx="6"/>` +
    `<text x="${x + 10}" y="${y + 17}" class="node-label">${escapeHtml(truncate(node.label, 31))}</text>` +
    `<text x="${x + 10}" y="${y + 32}" class="node-sub">${escapeHtml(truncate(node.sub, 40))}</text></g>`
  );
}

function edge(x1: number, y1: number, x2: number, y2: number, marker: string): string {
  const middle = (x1 + x2) / 2;
  return `<path d="M${x1},${y1} C${middle},${y1} ${middle},${y2} ${x2},${y2}" class="edge" marker-end="url(#${marker})"/>`;
}

function groupBy<T>(items: T[], key: (item: T) => string): Array<[string, T[]]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const name = key(item);
    const group = groups.get(name) ?? [];
    group.push(item);
    groups.set(name, group);
  }
  return [...groups.entries()];
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

export function lastSegment(id: string): string {
  const parts = id.split("/").filter((part) => part.length > 0);
  return parts[parts.length - 1] ?? id;
}

function scopeLabel(scope: string): string {
  const level = scopeLevel(scope);
  if (level === "subscription") return `subscription ${lastSegment(scope)}`;
  if (level === "resourceGroup") return `rg ${lastSegment(scope)}`;
  if (level === "managementGroup") return `mg ${lastSegment(scope)}`;
  if (level === "root") return "/ (root)";
  return lastSegment(scope);
}

export function truncate(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

/** The smallest 1, 2 or 5 times a power of ten at or above the value (an axis maximum). */
function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(1, value)));
  for (const step of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (step * power >= value) return Math.round(step * power);
  return 10 * power;
}
