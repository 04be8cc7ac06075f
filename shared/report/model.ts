import type { DriftSourceSummary } from "../desiredState/compare.js";
import { SEVERITIES, severityRank, type Severity } from "../config/policy.js";
import type { Finding, Fix, RunReport } from "../findings.js";
import type { InventoryIdentity } from "../inventoryBuilder.js";
import type { FindingRecord } from "../engine/findingLifecycle.js";
import type { Incomplete } from "../model.js";
import type { ExposureEntry, GradeReason } from "../rules/lib/exposure.js";
import { idKey } from "../model.js";

/**
 * The access-review report as data: what `uami-guard report --output json` prints and what the HTML
 * page embeds and draws. Every number on the page is a count over this model (or a field of it).
 */
export const REPORT_SCHEMA = "uami-guard.report/v1";

export type Grade = "critical" | "high";

export type { ExposureEntry };

/**
 * An inventory identity. Grade and exposure are optional here so that an inventory read without the
 * exposure analysis (an older `inventory --output json`) still makes a report, one that says so.
 */
export type InventoryIdentityInput = Omit<InventoryIdentity, "grade" | "exposure" | "gradeReasons"> & { grade?: Grade | null; gradeReasons?: GradeReason[]; exposure?: ExposureEntry[] };

/** An inventory identity as the report shows it. */
export interface ReportIdentity extends Omit<InventoryIdentityInput, "grade" | "exposure"> {
  /** The `owner` tag (matched case-insensitively), null when the identity has none. */
  owner: string | null;
  /** Absent when the inventory carried no grade (exposure analysis not available); null = not privileged. */
  grade?: Grade | null;
  /** Absent when the inventory carried no exposure. */
  exposure?: ExposureEntry[];
  /** Indexes into `findings` of the findings about this identity. */
  findings: number[];
  /** The most severe of those findings, null when it has none. */
  worstSeverity: Severity | null;
}

/** A sweep finding, with the identity it is about. */
export interface ReportFinding extends Finding {
  /** Index into `identities` of the identity it is about, null when it is about no inventoried identity. */
  identity: number | null;
  /** The rule's page (its manifest's docs.url), null for a rule the registry does not know. */
  rulePage: string | null;
}

export interface HistoryPoint {
  at: string;
  open: number;
  /** This report's own sweep (applied to the finding state in memory), not one the state recorded. */
  current?: true;
}

export interface ReportModel {
  schema: typeof REPORT_SCHEMA;
  generatedAt: string;
  runId: string;
  summary: {
    identities: number;
    attached: number;
    withRoleAssignments: number;
    withFederatedCredentials: number;
    /** Every role assignment the sweep read (all principals): the sweep JSON's `summary.roleAssignments`. */
    roleAssignments: number;
    /** Of those, the ones held by the inventoried identities themselves. */
    identityRoleAssignments: number;
    federatedCredentials: number;
    findings: number;
    suppressed: number;
    bySeverity: Record<Severity, number>;
    byRule: Array<{ ruleId: string; count: number }>;
    /** Identities per grade; null when the inventory carried no grades. */
    byGrade: { critical: number; high: number; none: number } | null;
  };
  incomplete: Incomplete[];
  /** The sweep's "Fix first" list (docs/output.md "Fix first"): the removals that clear the most findings. */
  fixes: Fix[];
  /** Per desired-state source: read or not, what it declares, its drift; null when the policy names none. */
  drift: DriftSourceSummary[] | null;
  /** Open findings after each recorded sweep; null when no finding state was given. */
  history: HistoryPoint[] | null;
  identities: ReportIdentity[];
  findings: ReportFinding[];
}

export interface ReportInput {
  inventory: { identities: InventoryIdentityInput[] };
  sweep: RunReport;
  /** Finding state records (after this run), for the open-findings-over-time chart. */
  findingState?: FindingRecord[];
  /**
   * The records as the store held them before this run: their times are the recorded sweeps (this
   * run's in-memory update would overwrite the last sweep's lastSeen). With them, the chart is the
   * recorded sweeps, then this run as its own point.
   */
  findingStateBefore?: FindingRecord[];
  now?: Date;
  /** A rule's page (the registry's rulePageOf): each finding row links to it. */
  rulePage?: (ruleId: string) => string | undefined;
}

/** Pure: joins the inventory with the sweep's findings into the report model. */
export function buildReportModel(input: ReportInput): ReportModel {
  const inventoryIdentities = input.inventory.identities;
  const byIdentityId = new Map<string, number>();
  const byAssignmentId = new Map<string, number>();
  inventoryIdentities.forEach((identity, index) => {
    byIdentityId.set(idKey(identity.id), index);
    for (const assignment of identity.roleAssignments) byAssignmentId.set(idKey(assignment.id), index);
  });

  const findings: ReportFinding[] = input.sweep.findings.map((finding) => ({ ...finding, identity: identityOf(finding, byIdentityId, byAssignmentId), rulePage: input.rulePage?.(finding.ruleId) ?? null }));

  const findingsOf = new Map<number, number[]>();
  findings.forEach((finding, index) => {
    if (finding.identity === null) return;
    const list = findingsOf.get(finding.identity) ?? [];
    list.push(index);
    findingsOf.set(finding.identity, list);
  });

  const hasGrades = inventoryIdentities.some((identity) => identity.grade !== undefined);
  const identities: ReportIdentity[] = inventoryIdentities.map((identity, index) => {
    const own = findingsOf.get(index) ?? [];
    let worst: Severity | null = null;
    for (const position of own) {
      const severity = findings[position]?.severity;
      if (severity && (worst === null || severityRank(severity) > severityRank(worst))) worst = severity;
    }
    const { grade, exposure, ...fields } = identity;
    return {
      ...fields,
      owner: ownerOf(identity.tags),
      ...(grade !== undefined ? { grade } : hasGrades ? { grade: null } : {}),
      ...(exposure !== undefined ? { exposure } : {}),
      findings: own,
      worstSeverity: worst,
    };
  });

  const bySeverity = Object.fromEntries(SEVERITIES.map((severity) => [severity, 0])) as Record<Severity, number>;
  const byRule = new Map<string, number>();
  for (const finding of findings) {
    bySeverity[finding.severity] += 1;
    byRule.set(finding.ruleId, (byRule.get(finding.ruleId) ?? 0) + 1);
  }
  const byGrade = hasGrades
    ? {
        critical: identities.filter((identity) => identity.grade === "critical").length,
        high: identities.filter((identity) => identity.grade === "high").length,
        none: identities.filter((identity) => !identity.grade).length,
      }
    : null;

  return {
    schema: REPORT_SCHEMA,
    generatedAt: (input.now ?? new Date()).toISOString(),
    runId: input.sweep.runId,
    summary: {
      identities: identities.length,
      attached: identities.filter((identity) => identity.attachedTo.length > 0).length,
      withRoleAssignments: identities.filter((identity) => identity.roleAssignments.length > 0).length,
      withFederatedCredentials: identities.filter((identity) => identity.federatedCredentials.length > 0).length,
      roleAssignments: input.sweep.summary.roleAssignments,
      identityRoleAssignments: identities.reduce((sum, identity) => sum + identity.roleAssignments.length, 0),
      federatedCredentials: identities.reduce((sum, identity) => sum + identity.federatedCredentials.length, 0),
      findings: findings.length,
      suppressed: input.sweep.summary.suppressed,
      bySeverity,
      byRule: [...byRule.entries()]
        .map(([ruleId, count]) => ({ ruleId, count }))
        .sort((a, b) => b.count - a.count || a.ruleId.localeCompare(b.ruleId)),
      byGrade,
    },
    incomplete: input.sweep.incomplete,
    fixes: input.sweep.fixes ?? [],
    drift: input.sweep.drift ?? null,
    history: input.findingState ? historyWithCurrent(input.findingState, input.findingStateBefore, input.now) : null,
    identities,
    findings,
  };
}

/** The identity a finding is about: its subject, else its related id, else the holder of the role assignment it names. */
function identityOf(finding: Finding, byIdentityId: Map<string, number>, byAssignmentId: Map<string, number>): number | null {
  const subject = idKey(finding.subjectId);
  const related = finding.relatedId !== undefined ? idKey(finding.relatedId) : undefined;
  return byIdentityId.get(subject) ?? (related !== undefined ? byIdentityId.get(related) : undefined) ?? byAssignmentId.get(subject) ?? null;
}

function ownerOf(tags: Record<string, string>): string | null {
  for (const [key, value] of Object.entries(tags)) if (key.toLowerCase() === "owner" && value.trim() !== "") return value;
  return null;
}

const HISTORY_POINTS = 60;

/** The recorded sweeps (from the state as stored), then this run's own point (from the state after it). */
function historyWithCurrent(after: FindingRecord[], before: FindingRecord[] | undefined, now: Date | undefined): HistoryPoint[] {
  const current = historyOf(after, now).find((point) => point.current);
  if (!before || !current) return historyOf(after, now);
  return [...historyOf(before).filter((point) => Date.parse(point.at) < Date.parse(current.at)).slice(-(HISTORY_POINTS - 1)), current];
}

/**
 * Open findings at each time the finding state remembers. A record is open from its firstSeen until
 * its resolvedAt; the times are the distinct times at which records were first seen, last seen or
 * resolved (a sweep whose every finding was seen again later leaves no time of its own). A finding
 * that was resolved and came back keeps only its latest firstSeen (the state store keeps one record
 * per finding), so earlier open periods of such findings are not counted. The point at `now` (this
 * report's own sweep, applied in memory) is marked `current`.
 */
export function historyOf(records: FindingRecord[], now?: Date): HistoryPoint[] {
  const times = new Set<string>();
  for (const record of records) {
    times.add(record.firstSeen);
    times.add(record.lastSeen);
    if (record.resolvedAt) times.add(record.resolvedAt);
  }
  const sorted = [...times].filter((time) => !Number.isNaN(Date.parse(time))).sort((a, b) => Date.parse(a) - Date.parse(b)).slice(-HISTORY_POINTS);
  const opened = records.map((record) => Date.parse(record.firstSeen)).sort((a, b) => a - b);
  const closed = records.flatMap((record) => (record.status === "resolved" && record.resolvedAt ? [Date.parse(record.resolvedAt)] : [])).sort((a, b) => a - b);
  const current = now?.getTime();
  return sorted.map((at) => {
    const time = Date.parse(at);
    return { at, open: countAtMost(opened, time) - countAtMost(closed, time), ...(time === current ? { current: true as const } : {}) };
  });
}

/** How many of the sorted values are ≤ limit (binary search). */
function countAtMost(sorted: number[], limit: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] ?? Infinity) <= limit) low = middle + 1;
    else high = middle;
  }
  return low;
}
