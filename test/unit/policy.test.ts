import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultPolicy, loadPolicy } from "../../shared/config/policy.js";
import { readAppSettings } from "../../shared/config/settings.js";
import { InputError } from "../../shared/errors.js";

const RULES = ["orphaned-role-assignment", "untagged-identity"];

function failure(source: string): string {
  try {
    loadPolicy(source, RULES);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as Error).message;
  }
  throw new Error("expected the policy to be rejected");
}

describe("policy", () => {
  it("applies the docs/policy.md defaults when empty", () => {
    const policy = defaultPolicy();
    expect(policy.requiredTags).toEqual(["owner", "environment"]);
    expect(policy.orphans).toEqual({ minAgeMinutes: 60, confirmations: 2 });
    // cleanup.maxActionsPerHour is new (issue 13, docs/guarantees.md "One budget across runs").
    expect(policy.cleanup).toEqual({ dryRun: true, maxActionsPerRun: 50, maxDeletePercent: 5, maxActionsPerHour: 100 });
    expect(policy.notify).toEqual({ minSeverity: "medium", renotifyAfterHours: 168, maxAttempts: 10 });
    expect(policy.sprawl.maxResourceGroups).toBe(3);
    expect(policy.naming.pattern).toBeNull();
    expect(policy.signInLogs).toEqual({ workspaceId: null, lookbackDays: 90 });
  });

  it("fills defaults inside a partly given section", () => {
    const policy = loadPolicy('{"orphans":{"confirmations":3}}', RULES);
    expect(policy.orphans).toEqual({ minAgeMinutes: 60, confirmations: 3 });
  });

  it.each([
    ['{"orphan":{}}', /unknown key "orphan"/],
    ['{"orphans":{"minAge":5}}', /unknown key "orphans.minAge"/],
    ['{"orphans":{"minAgeMinutes":-5}}', /orphans\.minAgeMinutes = -5: .*>=\s*0/],
    ['{"notify":{"minSeverity":"urgent"}}', /notify\.minSeverity = "urgent": .*critical.*high.*medium.*low/],
    ['{"naming":{"pattern":"(unclosed"}}', /naming\.pattern = "\(unclosed": must be a valid regular expression/],
    ['{"approvedPipelines":[{"name":"x","appId":"not-a-guid"}]}', /approvedPipelines\[0\]\.appId = "not-a-guid": must be a GUID/],
    ['{"approvedPipelines":[{"name":"x"}]}', /approvedPipelines\[0\].*needs an appId or an objectId/],
    ['{"rules":{"no-such-rule":{"enabled":false}}}', /rules\.no-such-rule: unknown rule id/],
    ['{"suppressions":[{"ruleId":"nope","subjectId":"*","reason":"x"}]}', /suppressions\[0\]\.ruleId = "nope": unknown rule id/],
    ["{not json", /not valid JSON/],
    ['{"desiredState":{"sources":[{"path":"http://example.com/state.json"}]}}', /desiredState\.sources\[0\]\.path .*Azure Blob Storage URL/],
    ['{"desiredState":{"sources":[{"path":"https://evil.example/state.json"}]}}', /desiredState\.sources\[0\]\.path .*Azure Blob Storage URL/],
    ['{"desiredState":{"sources":[{"path":"https://st.blob.core.windows.net.evil.example/c"}]}}', /desiredState\.sources\[0\]\.path .*Azure Blob Storage URL/],
    ['{"desiredState":{"sources":[{"path":"s.json","format":"bicep"}]}}', /desiredState\.sources\[0\]\.format = "bicep"/],
    ['{"desiredState":{"sources":[{"path":"s.json","scopes":["subscriptions/x"]}]}}', /desiredState\.sources\[0\]\.scopes\[0\].*must be an ARM scope/],
    ['{"desiredState":{"sources":[{"path":"s.json","scopes":[]}]}}', /desiredState\.sources\[0\]\.scopes/],
  ])("rejects %s naming the key", (source, message) => {
    expect(failure(source)).toMatch(message);
  });

  it("desiredState: scopes default to everything; a relative path is read beside the policy file when it is there", () => {
    const directory = mkdtempSync(join(tmpdir(), "uami-guard-policy-"));
    writeFileSync(join(directory, "state.json"), "{}");
    const file = join(directory, "policy.json");
    writeFileSync(file, JSON.stringify({ desiredState: { sources: [{ path: "state.json" }, { path: "elsewhere.json" }, { path: "https://stuamiguard.blob.core.windows.net/desired-state" }] } }));
    const policy = loadPolicy(file, RULES);
    expect(policy.desiredState.sources).toEqual([
      { path: join(directory, "state.json"), scopes: ["/"] },
      { path: "elsewhere.json", scopes: ["/"] },
      { path: "https://stuamiguard.blob.core.windows.net/desired-state", scopes: ["/"] },
    ]);
    expect(policy.desiredState.approves).toBe(false);
  });

  it("names the file when it cannot be read", () => {
    expect(failure("/nonexistent/policy.json")).toMatch(/^policy \/nonexistent\/policy\.json: cannot read file/);
  });
});

describe("app settings", () => {
  it("reads defaults and lists", () => {
    const settings = readAppSettings({
      UAMI_GUARD_SUBSCRIPTIONS: "11111111-1111-1111-1111-111111111111, 33333333-3333-3333-3333-333333333333",
    });
    expect(settings.UAMI_GUARD_SUBSCRIPTIONS).toHaveLength(2);
    expect(settings.SWEEP_SCHEDULE).toBe("0 0 */6 * * *");
    expect(settings.LOGS_INGESTION_STREAM).toBe("Custom-UamiGuardFindings");
  });

  it("names a bad setting and its value", () => {
    expect(() => readAppSettings({ SWEEP_SCHEDULE: "every hour" })).toThrow(/app setting: SWEEP_SCHEDULE = "every hour": must be a six-field NCRONTAB/);
    expect(() => readAppSettings({ TEAMS_WEBHOOK_URL: "http://example.test/hook" })).toThrow(/TEAMS_WEBHOOK_URL.*https/);
  });

  it("SWEEP_SCHEDULE is parsed as NCRONTAB: six fields, each in range", () => {
    for (const schedule of ["0 */5 * * * *", "0 30 9 * * Mon-Fri", "0 0 0 1 1,7 *"]) expect(readAppSettings({ SWEEP_SCHEDULE: schedule }).SWEEP_SCHEDULE).toBe(schedule);
    for (const schedule of ["61 0 * * * *", "0 0 25 * * *", "*/5 * * * *", "0 0 */6 * * * *", "a b c d e f"]) {
      expect(() => readAppSettings({ SWEEP_SCHEDULE: schedule }), schedule).toThrow(/SWEEP_SCHEDULE .*must be a six-field NCRONTAB/);
    }
  });
});
