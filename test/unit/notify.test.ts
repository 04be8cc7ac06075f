import { describe, expect, it } from "vitest";
import { defaultPolicy, policySchema } from "../../shared/config/policy.js";
import { applyRun, type FindingRecord } from "../../shared/engine/findingLifecycle.js";
import { fingerprintOf, type Finding, type RunReport } from "../../shared/findings.js";
import { dispatchDue, outboxDrafts, planNotifications, payloadsFor } from "../../shared/notify/dispatcher.js";
import { ENQUEUE_CHUNK, Notifier } from "../../shared/notify/notifier.js";
import type { NotificationOutbox, OutboxDraft, OutboxEntry } from "../../shared/state/outbox.js";
import { digestCard, escapeText, findingCard, TEAMS_MESSAGE_LIMIT } from "../../shared/notify/teamsCard.js";
import { sentinelRow } from "../../shared/notify/sentinelRow.js";
import { findingCloudEvent } from "../../shared/notify/cloudEvent.js";
import type { Notice } from "../../shared/notify/notification.js";
import { redactUrl, type Sink } from "../../shared/notify/sinks.js";

function finding(n: number, severity: Finding["severity"] = "high", extra: Partial<Finding> = {}): Finding {
  const subjectId = `/subscriptions/s1/resourceGroups/rg-${n}/providers/Microsoft.Compute/virtualMachines/vm-${n}`;
  return {
    ruleId: "attachment-outside-pipeline", severity, subjectId, relatedId: `/id/${n}`, fingerprint: fingerprintOf("attachment-outside-pipeline", subjectId, `/id/${n}`),
    title: `title ${n}`, message: `message ${n}`, evidence: { caller: { upn: "someone@contoso.example" } }, remediation: { summary: "detach", cli: ["az vm identity remove --ids x --identities y"] },
    ...extra,
  };
}
const notice = (f: Finding, status: Notice["status"] = "new"): Notice => ({ status, finding: f, runId: "run-1", mode: "sweep", at: "2026-11-20T10:00:00.000Z" });
const size = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

describe("Teams cards", () => {
  it("escape markdown and links in user-controlled text", () => {
    const escaped = escapeText("[click me](https://evil.example) **bold** <b>x</b> _i_ # h www.evil.example");
    expect(escaped).not.toMatch(/(^|[^\\])\[/);
    expect(escaped).not.toMatch(/(^|[^\\])\*\*/);
    expect(escaped).not.toContain("https://");
    expect(escaped).not.toMatch(/(^|[^\\])</);
  });

  it("a finding card says who, what, where, why and how to fix it, without injected markdown", () => {
    const evil = finding(1, "critical", { title: "vm [pwn](https://x.test)", evidence: { caller: { upn: "[admin](https://phish.test)" } } });
    const card = findingCard(notice(evil));
    const text = JSON.stringify(card);
    expect(text).toContain("Who");
    expect(text).toContain("Subscription");
    expect(text).toContain("Why it matters");
    expect(text).toContain("Remediation");
    // The card links the rule's page, as its manifest names it.
    expect(text).toContain("Rule page");
    expect(text).toContain(`"title":"Rule page","value":"docs/rules/${evil.ruleId}.md"`);
    expect(text).not.toContain("](https://");
    expect(card).toMatchObject({ type: "message", attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", content: { type: "AdaptiveCard", version: "1.4" } }] });
  });

  it("stay under 28 KB with hundreds of findings or a huge message", () => {
    const notices = Array.from({ length: 800 }, (_, n) => notice(finding(n, "high", { title: `a long title ${"x".repeat(300)}` })));
    const digest = digestCard({ runId: "r", at: "t", counts: { critical: 0, high: 800, medium: 0, low: 0 }, notices, resolved: 3, incomplete: [] });
    expect(size(digest)).toBeLessThanOrEqual(TEAMS_MESSAGE_LIMIT);
    expect(JSON.stringify(digest)).toMatch(/and \d+ more/);
    // The digest names the pages of the rules it shows.
    expect(JSON.stringify(digest)).toContain("Rule pages: docs/rules/attachment-outside-pipeline.md");
    const huge = findingCard(notice(finding(1, "high", { message: "m".repeat(100_000), remediation: { summary: "s", cli: Array.from({ length: 2000 }, () => "az role assignment delete --ids /x") } })));
    expect(size(huge)).toBeLessThanOrEqual(TEAMS_MESSAGE_LIMIT);
  });
});

describe("Sentinel rows and CloudEvents", () => {
  it("use the documented schema", () => {
    const row = sentinelRow(notice(finding(1)));
    expect(Object.keys(row).sort()).toEqual(["Caller", "Evidence", "Fingerprint", "Message", "Mode", "RelatedId", "RuleId", "RulePage", "RunId", "Severity", "Status", "SubjectId", "SubscriptionId", "TimeGenerated", "Title"]);
    expect(row.RulePage).toBe("docs/rules/attachment-outside-pipeline.md");
    expect(row).toMatchObject({ Status: "new", SubscriptionId: "s1", Caller: "someone@contoso.example" });
    expect(sentinelRow(notice(finding(1), "resolved")).Status).toBe("resolved");
    const event = findingCloudEvent(notice(finding(1)));
    expect(event).toMatchObject({ type: "UamiGuard.Finding.attachment-outside-pipeline", source: "/uami-guard", subject: finding(1).subjectId });
    expect(findingCloudEvent(notice(finding(1), "resolved")).type).toBe("UamiGuard.FindingResolved.attachment-outside-pipeline");
    // The event names the rule's page as the Sentinel row does; a rule the registry does not know has none.
    expect(event.data).toMatchObject({ ruleDocs: "docs/rules/attachment-outside-pipeline.md" });
    expect(findingCloudEvent(notice(finding(1, "high", { ruleId: "no-such-rule" }))).data).not.toHaveProperty("ruleDocs");
  });

  it("reminders go to Teams only", () => {
    const notices = [notice(finding(1)), notice(finding(2), "reminder")];
    expect(payloadsFor("sentinel", notices, undefined)).toHaveLength(1);
    expect(payloadsFor("eventgrid", notices, undefined)).toHaveLength(1);
    expect(payloadsFor("teams", notices, undefined)).toHaveLength(2);
  });

  it("webhook URLs are redacted from errors", () => {
    expect(redactUrl("POST https://prod-00.logic.azure.com/workflows/abc/triggers?sig=SECRET failed")).toBe("POST https://prod-00.logic.azure.com/… failed");
  });
});

describe("planNotifications", () => {
  const at = new Date("2026-11-20T10:00:00Z");
  it("sends new findings at or above minSeverity, resolutions of notified ones, and reminders after renotifyAfterHours", () => {
    const low = finding(1, "low");
    const high = finding(2, "high");
    const first = applyRun(new Map(), [low, high], { now: at, unknownRules: new Set() });
    const plan = planNotifications(first, defaultPolicy(), { at, runId: "r1", mode: "sweep" });
    expect(plan.notices.map((n) => [n.status, n.finding.severity])).toEqual([["new", "high"]]);

    const state = new Map<string, FindingRecord>(first.changed.map((record) => [record.fingerprint, record.fingerprint === high.fingerprint ? { ...record, lastNotifiedAt: at.toISOString() } : record]));
    const later = new Date(at.getTime() + 200 * 3_600_000);
    const still = applyRun(state, [low, high], { now: later, unknownRules: new Set() });
    expect(planNotifications(still, defaultPolicy(), { at: later, runId: "r2", mode: "sweep" }).notices.map((n) => n.status)).toEqual(["reminder"]);
    expect(planNotifications(still, policySchema.parse({ notify: { renotifyAfterHours: 0 } }), { at: later, runId: "r2", mode: "sweep" }).notices).toEqual([]);

    const gone = applyRun(state, [], { now: later, unknownRules: new Set() });
    expect(planNotifications(gone, defaultPolicy(), { at: later, runId: "r3", mode: "sweep" }).notices.map((n) => [n.status, n.finding.fingerprint])).toEqual([["resolved", high.fingerprint]]);
  });
});

describe("a sweep's notices are written to the outbox a part at a time", () => {
  it("the same entries as made at once, in the same order, the digest once, no part over ENQUEUE_CHUNK notices", async () => {
    const opened = Array.from({ length: 2 * ENQUEUE_CHUNK + 7 }, (_, n) => finding(n, n % 2 === 0 ? "critical" : "high"));
    const lifecycle = applyRun(new Map(), opened, { now: new Date("2026-11-20T10:00:00Z"), unknownRules: new Set() });
    const parts: OutboxDraft[][] = [];
    const outbox = { enqueue: async (drafts: OutboxDraft[]) => void parts.push(drafts) } as unknown as NotificationOutbox;
    const sinks: Sink[] = (["teams", "sentinel", "eventgrid"] as const).map((name) => ({ name, batchLimit: 10, deliver: async () => [] }));
    const notifier = new Notifier(sinks, outbox);
    const report = { summary: { bySeverity: { critical: 504, high: 503, medium: 0, low: 0 } }, incomplete: [] } as unknown as RunReport;
    const planned = notifier.plan(lifecycle, defaultPolicy(), { runId: "run-1", now: new Date("2026-11-20T10:00:00Z"), mode: "sweep", report, engineNotices: new Set() });
    await notifier.enqueue(planned, new Date("2026-11-20T10:00:00Z"));
    const whole = outboxDrafts(sinks, planned.notices, planned.digest, { runWide: planned.runWide });
    expect(parts.length).toBe(3);
    for (const part of parts) expect(part.filter((draft) => draft.sink === "sentinel").length).toBeLessThanOrEqual(ENQUEUE_CHUNK);
    const written = parts.flat();
    expect(written.map((draft) => draft.key).sort()).toEqual(whole.map((draft) => draft.key).sort());
    expect(written.filter((draft) => draft.sink === "teams")).toHaveLength(1);
    expect(written.filter((draft) => draft.sink === "sentinel").map((draft) => draft.fingerprint)).toEqual(opened.map((f) => f.fingerprint));
  });
});

describe("the outbox lane of each notice", () => {
  it("a sweep's notice per finding waits in the bulk lane; an event's, a replay's, a work item's, the engine's and a sweep's digest in the prompt lane", () => {
    const sinks: Sink[] = (["teams", "sentinel", "eventgrid"] as const).map((name) => ({ name, batchLimit: 10, deliver: async () => [] }));
    const engine = finding(9, "critical", { ruleId: "notification-dead-lettered" });
    const sweep = [notice(finding(1)), notice(finding(2), "resolved"), notice(finding(3), "reminder"), notice(engine)];
    const digest = { runId: "run-1", at: "2026-11-20T10:00:00.000Z", counts: { critical: 0, high: 2, medium: 0, low: 0 }, notices: sweep.slice(0, 1), resolved: 1, incomplete: [] };
    const lanes = (drafts: OutboxDraft[]) => drafts.map((draft) => `${draft.sink} ${draft.title.startsWith("sweep") ? "digest" : (draft.fingerprint === engine.fingerprint ? "engine" : draft.title.split(":")[0])} ${draft.lane}`);
    expect(lanes(outboxDrafts(sinks, sweep, digest, { runWide: new Set(["notification-dead-lettered"]) })).sort()).toEqual(
      ["teams digest prompt", "teams engine prompt", "sentinel new bulk", "sentinel resolved bulk", "sentinel engine prompt", "eventgrid new bulk", "eventgrid resolved bulk", "eventgrid engine prompt"].sort(),
    );
    for (const mode of ["event", "replay", "work-item"] as const) {
      expect(outboxDrafts(sinks, [{ ...notice(finding(4)), mode }], undefined).map((draft) => draft.lane)).toEqual(["prompt", "prompt", "prompt"]);
    }
  });
});

describe("a dispatch's Table calls", () => {
  it("claims and settles a batch a bounded number at a time, in the batch's order, the errors in that order too", async () => {
    const entries: OutboxEntry[] = Array.from({ length: 60 }, (_, n) => ({ sink: "sentinel", key: `k${n}`, partition: "sentinel-bulk", payload: n, runId: "r", title: "t", attempts: 0, createdAt: "", etag: "e" }));
    let inFlight = 0;
    let most = 0;
    const call = async <T>(value: T): Promise<T> => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      inFlight -= 1;
      return value;
    };
    const outbox = {
      due: async () => entries,
      claim: (entry: OutboxEntry) => call(entry.key === "k1" ? undefined : entry),
      delivered: () => call(undefined),
      retryLater: () => call(undefined),
    } as unknown as NotificationOutbox;
    const sent: unknown[] = [];
    const sink: Sink = {
      name: "sentinel",
      batchLimit: 60,
      deliver: async (payloads) => {
        sent.push(...payloads);
        return payloads.map((payload) => (Number(payload) % 2 === 0 ? { status: "delivered" as const } : { status: "failed" as const, error: `503 for ${String(payload)}`, permanent: false }));
      },
    };
    const { result } = await dispatchDue([sink], outbox, 5, new Date());
    expect(sent).toEqual(entries.map((entry) => entry.payload).filter((payload) => payload !== 1));
    expect(result.delivered.sentinel).toBe(30);
    expect(result.pending.sentinel).toBe(29);
    expect(result.errors.slice(0, 2)).toEqual(["sentinel: 503 for 3", "sentinel: 503 for 5"]);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(16);
  });
});
