import { createHash } from "node:crypto";
import type { Policy } from "../config/policy.js";
import type { Finding } from "../findings.js";
import { circuitBreakerNotice } from "../notices.js";
import { ACTION_FOR_RULE, actionForRule } from "../rules/index.js";
import type { ActionKind } from "../model.js";
import type { ActionRecord, CleanupMode } from "./record.js";
import { STATUS_TAG, recordOf, type PlannedAction } from "./types.js";

export interface PlanOptions {
  /** `--enforce`: every rule that has an action is in enforce mode for this run, dry run off. */
  forceEnforce: boolean;
  /** Sweeps in a row that have seen the finding, this run included (orphan confirmations). */
  consecutive: (fingerprint: string) => number;
  /** When the finding was first seen (the date in `untagged since <date>`); absent: now. */
  firstSeen?: (fingerprint: string) => string | undefined;
  /** Role assignments the run saw: the base of `maxDeletePercent`. Unknown: no deletion passes. */
  roleAssignmentsSeen: number | undefined;
  now: Date;
  /** The run, and the finding-state partition of its findings (the sweep scope, or `events`): work items name it. */
  runId: string;
  scope: string;
  /** Why the code forbids removing this target (the desired state declares it, or cannot be read there); undefined: it does not. */
  declared?: (action: PlannedAction, scope?: string) => string | undefined;
}

export interface CircuitBreaker {
  reason: string;
  actions: number;
  deletes: number;
  roleAssignmentsSeen: number | undefined;
}

export interface CleanupPlan {
  mode: CleanupMode;
  /** Every action this run reports: deferred, skipped, blocked and (dry run) planned. */
  records: ActionRecord[];
  /** What to carry out (enforce mode, breaker closed). */
  toRun: PlannedAction[];
  breaker?: CircuitBreaker;
  /** The base of maxDeletePercent, carried to execution (the 24-hour budget is checked there). */
  roleAssignmentsSeen?: number;
  /** Where the findings of the plan are kept in the finding state (a work item's executor checks them there). */
  scope: string;
}

/** The planner's answer: the plan, and the critical notice a tripped breaker raises in enforce mode. */
export interface Planned {
  plan: CleanupPlan;
  breakerNotice?: Finding;
}

function enforced(policy: Policy, ruleId: string, options: PlanOptions): boolean {
  return options.forceEnforce || policy.rules[ruleId]?.mode === "enforce";
}

export function cleanupMode(policy: Policy, forceEnforce: boolean): CleanupMode {
  if (forceEnforce) return "enforce";
  const anyEnforced = Object.keys(ACTION_FOR_RULE).some((ruleId) => policy.rules[ruleId]?.mode === "enforce");
  if (!anyEnforced) return "off";
  return policy.cleanup.dryRun ? "dry-run" : "enforce";
}

export function actionIdOf(kind: string, targetId: string, relatedId = ""): string {
  return createHash("sha256").update(`${kind}\n${targetId.toLowerCase()}\n${relatedId.toLowerCase()}`).digest("hex").slice(0, 24);
}

/** At or below a protected scope, at a segment boundary, case-insensitively. */
export function protectedScopeOf(policy: Policy, ids: Array<string | undefined>): string | undefined {
  for (const scope of policy.protected.scopes) {
    const prefix = scope.toLowerCase().replace(/\/+$/, "");
    for (const id of ids) {
      if (!id) continue;
      const candidate = id.toLowerCase();
      if (prefix === "" || candidate === prefix || candidate.startsWith(`${prefix}/`)) return scope;
    }
  }
  return undefined;
}

export function isProtectedPrincipal(policy: Policy, principalId: string | undefined): boolean {
  if (!principalId) return false;
  const wanted = principalId.replace(/-/g, "").toLowerCase();
  return policy.protected.principals.some((principal) => principal.replace(/-/g, "").toLowerCase() === wanted);
}

/** Why this action must not touch its target (protected scope or principal), judged on what is known. */
export function protectionOf(policy: Policy, action: PlannedAction, extra: { scope?: string; principalIds?: string[] } = {}): string | undefined {
  const scope = protectedScopeOf(policy, [action.targetId, action.identityId, extra.scope]);
  if (scope) return `protected scope ${scope}`;
  for (const principal of [action.principalId, ...(extra.principalIds ?? [])]) {
    if (isProtectedPrincipal(policy, principal)) return `protected principal ${principal ?? ""}`;
  }
  return undefined;
}

function plannedActionFor(finding: Finding, kind: ActionKind, options: PlanOptions): PlannedAction {
  const base = {
    kind,
    targetId: finding.subjectId,
    finding: {
      ruleId: finding.ruleId,
      severity: finding.severity,
      subjectId: finding.subjectId,
      ...(finding.relatedId !== undefined ? { relatedId: finding.relatedId } : {}),
      fingerprint: finding.fingerprint,
      title: finding.title,
      evidence: finding.evidence,
    },
  };
  switch (kind) {
    case "delete-role-assignment": {
      const principalId = typeof finding.evidence["principalId"] === "string" ? finding.evidence["principalId"] : undefined;
      return { ...base, actionId: actionIdOf(kind, finding.subjectId), ...(principalId ? { principalId } : {}) };
    }
    case "detach-identity":
      return { ...base, actionId: actionIdOf(kind, finding.subjectId, finding.relatedId), identityId: finding.relatedId ?? "" };
    case "tag-identity": {
      const since = (options.firstSeen?.(finding.fingerprint) ?? options.now.toISOString()).slice(0, 10);
      const principalId = typeof finding.evidence["principalId"] === "string" ? finding.evidence["principalId"] : undefined;
      return { ...base, actionId: actionIdOf(kind, finding.subjectId), tagValue: `untagged since ${since}`, ...(principalId ? { principalId } : {}) };
    }
  }
}

function alreadyMarked(finding: Finding): boolean {
  const tags = finding.evidence["tags"];
  return typeof tags === "object" && tags !== null && Object.keys(tags).some((key) => key.toLowerCase() === STATUS_TAG);
}

/**
 * The one cleanup planner. docs/guarantees.md "Cleanup actions", decided on findings alone (pure: the findings and the
 * report are not touched): which findings lead to a change, which wait for confirmations, which are
 * protected, and whether the circuit breaker holds the whole run. The breaker notice is raised only
 * when the run was going to act (enforce mode); the caller adds it to its findings.
 */
export function planCleanup(findings: Finding[], policy: Policy, options: PlanOptions): Planned {
  const decided = { ...decide(findings, policy, options), scope: options.scope };
  const plan = options.roleAssignmentsSeen === undefined || decided.toRun.length === 0 ? decided : { ...decided, roleAssignmentsSeen: options.roleAssignmentsSeen };
  const breakerNotice = plan.breaker && plan.mode === "enforce" ? runBreakerNotice(plan.breaker, policy, options) : undefined;
  return { plan, ...(breakerNotice ? { breakerNotice } : {}) };
}

function decide(findings: Finding[], policy: Policy, options: PlanOptions): Omit<CleanupPlan, "scope"> {
  const mode = cleanupMode(policy, options.forceEnforce);
  if (mode === "off") return { mode, records: [], toRun: [] };
  const records: ActionRecord[] = [];
  const candidates: PlannedAction[] = [];
  const seen = new Set<string>();
  for (const finding of findings) {
    const kind = actionForRule(finding.ruleId);
    if (!kind || !enforced(policy, finding.ruleId, options)) continue;
    const action = plannedActionFor(finding, kind, options);
    if (seen.has(action.actionId)) continue;
    seen.add(action.actionId);
    const scope = typeof finding.evidence["scope"] === "string" ? finding.evidence["scope"] : undefined;
    const protection = protectionOf(policy, action, scope ? { scope } : {});
    if (protection) {
      records.push(recordOf(action, "skipped", protection));
      continue;
    }
    const declared = options.declared?.(action, scope);
    if (declared) {
      records.push(recordOf(action, "skipped", declared));
      continue;
    }
    // docs/guarantees.md "Order does not matter": the approved write that absorbed the identity may have attached it itself.
    if (action.kind === "detach-identity" && typeof finding.evidence["absorbedBy"] === "object" && finding.evidence["absorbedBy"] !== null) {
      records.push(recordOf(action, "skipped", "report only: an approved write read it back after this write, so it may have attached the identity itself"));
      continue;
    }
    if (action.kind === "tag-identity" && alreadyMarked(finding)) {
      records.push(recordOf(action, "skipped", `already tagged ${STATUS_TAG}`));
      continue;
    }
    if (finding.ruleId === "orphaned-role-assignment") {
      const sightings = options.consecutive(finding.fingerprint);
      if (sightings < policy.orphans.confirmations) {
        records.push(recordOf(action, "deferred", `seen orphaned on ${sightings} of ${policy.orphans.confirmations} consecutive sweeps`));
        continue;
      }
    }
    candidates.push(action);
  }
  const breaker = circuitBreaker(candidates, policy, options.roleAssignmentsSeen);
  if (breaker) {
    for (const action of candidates) records.push(recordOf(action, "blocked", `circuit breaker: ${breaker.reason}`));
    return { mode, records, toRun: [], breaker };
  }
  if (mode === "dry-run") {
    for (const action of candidates) records.push(recordOf(action, "planned", "dry run (cleanup.dryRun is true)"));
    return { mode, records, toRun: [] };
  }
  return { mode, records, toRun: candidates };
}

function circuitBreaker(candidates: PlannedAction[], policy: Policy, seen: number | undefined): CircuitBreaker | undefined {
  const deletes = candidates.filter((action) => action.kind === "delete-role-assignment").length;
  const { maxActionsPerRun, maxDeletePercent } = policy.cleanup;
  const trip = (reason: string): CircuitBreaker => ({ reason, actions: candidates.length, deletes, roleAssignmentsSeen: seen });
  if (candidates.length > maxActionsPerRun) return trip(`${candidates.length} actions exceed cleanup.maxActionsPerRun ${maxActionsPerRun}`);
  if (deletes === 0) return undefined;
  if (seen === undefined || seen === 0) return trip(`${deletes} deletions, but how many role assignments there are is unknown`);
  const percent = (deletes * 100) / seen;
  if (percent > maxDeletePercent) {
    return trip(`${deletes} of ${seen} role assignments (${percent.toFixed(2)}%) exceed cleanup.maxDeletePercent ${maxDeletePercent}`);
  }
  return undefined;
}

/** The critical notice a tripped breaker raises (a finding, so it reaches every sink): the run is its window. */
export function runBreakerNotice(breaker: CircuitBreaker, policy: Policy, options: Pick<PlanOptions, "runId" | "now" | "scope">): Finding {
  return circuitBreakerNotice({
    budget: "run",
    runId: options.runId,
    window: { start: options.now, end: options.now },
    reason: `would have made ${breaker.actions} changes (${breaker.deletes} role assignment deletions): ${breaker.reason}`,
    evidence: {
      scope: options.scope,
      actions: breaker.actions,
      deletes: breaker.deletes,
      roleAssignmentsSeen: breaker.roleAssignmentsSeen ?? null,
      maxActionsPerRun: policy.cleanup.maxActionsPerRun,
      maxDeletePercent: policy.cleanup.maxDeletePercent,
    },
  });
}
