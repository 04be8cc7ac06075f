import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { saveEstateFile, type Estate } from "../../local/emulator/estate.js";
import type { RunReport } from "../../shared/findings.js";
import { policySchema } from "../../shared/config/policy.js";
import { runSweep } from "../../shared/engine/sweep.js";
import { readDeliveryMetrics } from "../../shared/azure/deliveryMetrics.js";
import { startTarget, type TestTarget } from "../helpers/estate.js";
import { azuriteTargets } from "../helpers/azuriteTargets.js";
import { InvocationContext } from "@azure/functions";
import { onResourceEventHandler } from "../../functions/onResourceEvent.js";
import { readAppSettings } from "../../shared/config/settings.js";
import { runSweepJob } from "../../shared/engine/sweepJob.js";
import { eventDependencies, sweepJobStores } from "../../shared/composition.js";
import { replayEvents } from "../../shared/engine/replay.js";
import { seedEventStores } from "../../local/seed.js";
import { startServe, untilLogged, type ServeProcess } from "../helpers/serve.js";
import { APP, COVERED, NEUTRALISED, NOT_TAMPERING, S1, TAMPERED, TAMPERING, TOPIC, selfDefenseEstate, selfDefensePolicy, tamperingEvents } from "../helpers/selfDefense.js";

/*
 * Issue "The guard defends itself", done-when, through the compiled CLI (replay, sweep), serve and the engine:
 * each tampering operation by an approved pipeline and by a user is a critical governance-tampering, none by a
 * deployer; each neutralised event subscription is event-coverage-missing with its reason; dropped deliveries are
 * event-delivery-failing; a metrics read that fails is incomplete.
 */
const BIN = fileURLToPath(new URL("../../bin/uami-guard.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "uami-guard-self-"));
const policyFile = join(dir, "policy.json");
writeFileSync(policyFile, JSON.stringify(selfDefensePolicy()));

function estateFile(estate: Estate, name: string): string {
  const path = join(dir, name);
  saveEstateFile(path, estate);
  return path;
}

function cli(...args: string[]): { code: number | null; report: RunReport; stderr: string } {
  const run = spawnSync(process.execPath, [BIN, ...args, "--policy", policyFile, "--output", "json"], { encoding: "utf8", env: { ...process.env, UAMI_GUARD_POLICY: "" } });
  return { code: run.status, report: JSON.parse(run.stdout || "{}") as RunReport, stderr: run.stderr };
}

const keysOf = (report: RunReport, ruleId: string) => report.findings.filter((finding) => finding.ruleId === ruleId).map((finding) => [finding.subjectId, finding.severity]);

describe("self-defense: tampering, replayed through the CLI", () => {
  it("every way to switch the guard off, by an approved pipeline whose scopes contain it, is a critical governance-tampering", () => {
    const events = join(dir, "pipeline.json");
    writeFileSync(events, JSON.stringify(tamperingEvents("pipeline")));
    const { code, report, stderr } = cli("replay", "--events", events, "--estate", estateFile(selfDefenseEstate(), "estate.json"));
    expect(code, stderr).toBe(0);
    expect(keysOf(report, "governance-tampering").sort()).toEqual(TAMPERED.map((resourceUri) => [resourceUri, "critical"]).sort());
    // No related id: the contract's (ruleId, subjectId, relatedId) triple is (governance-tampering, the event's resource id, —).
    expect(report.findings.filter((finding) => finding.relatedId !== undefined)).toEqual([]);
    expect(report.incomplete).toEqual([]);
  }, 60_000);
});

describe("self-defense: tampering by a user, and by a deployer, through the same replay in-process", () => {
  const targets = azuriteTargets();

  it.each([
    ["user", TAMPERED.length],
    ["deployer", 0],
    ["self", 0],
  ] as const)("%s: %i critical governance-tampering findings", async (caller, expected) => {
    const estate = selfDefenseEstate();
    const target = await targets.start(estate);
    const policy = policySchema.parse(selfDefensePolicy());
    const deps = eventDependencies(target.clients, policy, { notify: false });
    await seedEventStores(estate, { ...deps, policy });
    const report = await replayEvents(tamperingEvents(caller), deps);
    const tampering = report.findings.filter((finding) => finding.ruleId === "governance-tampering");
    expect(tampering.map((finding) => finding.severity)).toEqual(Array(expected).fill("critical"));
    expect(report.events.processed + report.events.ignored).toBe(TAMPERING.length);
    if (expected > 0) expect(report.findings.filter((finding) => finding.ruleId === "governance-tampering").map((finding) => finding.subjectId).sort()).toEqual([...TAMPERED].sort());
  }, 60_000);

  it("a policy assignment on a management group whose ancestry cannot be read is undecided, never quietly ignored", async () => {
    const base = selfDefenseEstate();
    const estate = selfDefenseEstate({ emulator: { ...base.emulator, faults: [{ service: "resourceGraph", status: 503, rate: 1, retryAfterSeconds: 0 }] } });
    const target = await targets.start(estate);
    const policy = policySchema.parse(selfDefensePolicy());
    const deps = eventDependencies(target.clients, policy, { notify: false });
    await seedEventStores(estate, { ...deps, policy });
    const atGroup = TAMPERING.filter(([, , id]) => id.startsWith("/providers/Microsoft.Management/managementGroups/"));
    const report = await replayEvents(tamperingEvents("user", atGroup), deps);
    // Replay makes one delivery, so it is the last: event-undecided for each, with the event's resource as subject.
    expect(report.findings.map((finding) => [finding.ruleId, finding.subjectId]).sort()).toEqual(atGroup.map(([, , id]) => ["event-undecided", id]).sort());
  }, 60_000);

  it("a lock or policy assignment on a scope that holds no guard resource, a resource outside self.resources, a custom role the app does not hold: no governance-tampering, even by a user", async () => {
    const estate = selfDefenseEstate();
    const target = await targets.start(estate);
    const policy = policySchema.parse(selfDefensePolicy());
    const deps = eventDependencies(target.clients, policy, { notify: false });
    await seedEventStores(estate, { ...deps, policy });
    const report = await replayEvents(tamperingEvents("user", NOT_TAMPERING), deps);
    expect(report.findings.filter((finding) => finding.ruleId === "governance-tampering")).toEqual([]);
    expect(report.incomplete).toEqual([]);
  }, 60_000);
});

describe("self-defense: coverage and delivery health, swept through the CLI", () => {
  it("each neutralised event subscription is event-coverage-missing with its reason; the guard's own topic is covered but its dropped deliveries are event-delivery-failing", () => {
    const { code, report, stderr } = cli("sweep", "--estate", estateFile(selfDefenseEstate(), "sweep.json"));
    expect(code, stderr).toBe(0);
    const coverage = report.findings.filter((finding) => finding.ruleId === "event-coverage-missing");
    expect(coverage.map((finding) => finding.subjectId).sort()).toEqual(NEUTRALISED.map((entry) => `/subscriptions/${entry.subscription}`).sort());
    for (const entry of NEUTRALISED) {
      const finding = coverage.find((candidate) => candidate.subjectId === `/subscriptions/${entry.subscription}`);
      expect(finding?.message, entry.name).toMatch(entry.reason);
      const listed = finding?.evidence["eventSubscriptions"] as Array<{ id: string; delivers: boolean; reasons: string[] }>;
      // A subscription without a subscription system topic has no event subscription to list.
      const seen = entry.topic === null || entry.topic?.["topicType"] ? [] : [[entry.name, false]];
      expect(listed.map((subscription) => [subscription.id.split("/").pop(), subscription.delivers]), entry.name).toEqual(seen);
    }
    expect(keysOf(report, "event-delivery-failing")).toEqual([[TOPIC, "high"]]);
    expect(report.findings.filter((finding) => finding.ruleId.startsWith("event-") && finding.relatedId !== undefined)).toEqual([]);
    expect(coverage.every((finding) => finding.severity === "high")).toBe(true);
    expect(report.findings.find((finding) => finding.ruleId === "event-delivery-failing")?.evidence).toEqual({ DroppedEventCount: 5, DeadLetteredCount: 2, DeliveryAttemptFailCount: 40, lookbackHours: 24 });
    expect(report.incomplete).toEqual([]);
  }, 60_000);

  it("without self.functionAppId neither coverage nor delivery health is judged", () => {
    const policy = selfDefensePolicy() as { self: Record<string, unknown> };
    const { functionAppId: _app, ...self } = policy.self;
    const file = join(dir, "policy-no-app.json");
    writeFileSync(file, JSON.stringify({ ...policy, self }));
    const run = spawnSync(process.execPath, [BIN, "sweep", "--estate", estateFile(selfDefenseEstate(), "no-app.json"), "--policy", file, "--output", "json"], { encoding: "utf8", env: { ...process.env, UAMI_GUARD_POLICY: "" } });
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as RunReport;
    expect(report.findings.filter((finding) => finding.ruleId === "event-coverage-missing" || finding.ruleId === "event-delivery-failing")).toEqual([]);
  }, 60_000);

  it("event subscriptions that cannot be listed are incomplete per subscription, never 'missing' and never 'covered'", () => {
    const base = selfDefenseEstate();
    const faulty = selfDefenseEstate({ emulator: { ...base.emulator, faults: [{ service: "arm", status: 503, rate: 1, retryAfterSeconds: 0, pathContains: "/eventsubscriptions" }] } });
    const { code, report, stderr } = cli("sweep", "--estate", estateFile(faulty, "listing-fault.json"));
    expect(code, stderr).toBe(0);
    const withTopic = [S1, ...NEUTRALISED.filter((entry) => entry.topic !== null && !entry.topic?.["topicType"]).map((entry) => entry.subscription), ...COVERED.map((entry) => entry.subscription)];
    expect(report.incomplete.map((entry) => [entry.check, entry.affected, /could not be listed: arm: HTTP 503/.test(entry.reason)])).toEqual(withTopic.map(() => ["event-coverage", 1, true]));
    // Only the subscriptions that have no subscription topic at all are reported: nothing needed listing there.
    expect(report.findings.filter((finding) => finding.ruleId === "event-coverage-missing").map((finding) => finding.subjectId).sort()).toEqual(NEUTRALISED.filter((entry) => entry.topic === null || entry.topic?.["topicType"]).map((entry) => `/subscriptions/${entry.subscription}`).sort());
    expect(keysOf(report, "event-delivery-failing")).toEqual([]);
  }, 60_000);

  it("a metrics read that fails is incomplete, never healthy", async () => {
    const base = selfDefenseEstate();
    const target = await startTarget(selfDefenseEstate({ emulator: { ...base.emulator, faults: [{ service: "arm", status: 503, rate: 1, retryAfterSeconds: 0, pathContains: "/providers/microsoft.insights/metrics" }] } }));
    try {
      const report = await runSweep(target.clients, policySchema.parse(selfDefensePolicy()), { subscriptions: [S1, ...[...NEUTRALISED, ...COVERED].map((entry) => entry.subscription)] });
      expect(keysOf(report, "event-delivery-failing")).toEqual([]);
      // Every topic with an event subscription to the app: the guard's own and those whose subscriptions only filter badly.
      expect(report.incomplete).toEqual([expect.objectContaining({ check: "event-delivery-metrics", affected: 1 + NEUTRALISED.filter((entry) => entry.metrics !== false).length + COVERED.length, reason: expect.stringMatching(/could not be read \(first: .*evgst-uamiguard-prod: arm: HTTP 503/) })]);
    } finally {
      await target.stop();
    }
  });
});

describe("self-defense: through serve (the local Functions host)", () => {
  let serve: ServeProcess;
  beforeAll(async () => {
    serve = await startServe(["--estate", estateFile(selfDefenseEstate(), "serve.json"), "--policy", policyFile]);
  });
  afterAll(() => serve.stop());

  it("an approved pipeline stopping the Function App is a critical governance-tampering", async () => {
    const [stop] = tamperingEvents("pipeline").filter((event) => (event as { data: { operationName: string } }).data.operationName === "Microsoft.Web/sites/stop/action");
    const response = await fetch(serve.webhook(), { method: "POST", headers: { "content-type": "application/json", "aeg-event-type": "Notification" }, body: JSON.stringify([stop]) });
    expect(response.status).toBe(200);
    await untilLogged(serve, /event pipeline-1: critical governance-tampering/);
    expect(serve.stderr).toContain(`event pipeline-1: critical governance-tampering ${APP}`);
  });
});

describe("self-defense: through the exported Event Grid handler (after a sweep, as in the Function App)", () => {
  const targets = azuriteTargets();

  it("each tampering operation by an approved pipeline is critical; by a deployer, nothing", async () => {
    const target = await targets.start(selfDefenseEstate());
    const policy = policySchema.parse(selfDefensePolicy());
    const { clients } = target;
    await runSweepJob(clients, policy, sweepJobStores(clients, policy, { notify: false }), { subscriptions: [S1] });
    const handler = onResourceEventHandler(async () => ({ settings: readAppSettings({}), policy, clients }), { notify: false });
    const context = () => new InvocationContext({ functionName: "onResourceEvent", invocationId: "i", logHandler: () => undefined });
    for (const event of tamperingEvents("pipeline")) {
      const outcome = await handler(event, context());
      expect(outcome.findings.map((finding) => [finding.ruleId, finding.severity]), outcome.eventId).toContainEqual(["governance-tampering", "critical"]);
    }
    for (const event of tamperingEvents("deployer")) {
      const outcome = await handler(event, context());
      expect(outcome.findings.filter((finding) => finding.ruleId === "governance-tampering"), outcome.eventId).toEqual([]);
    }
  }, 120_000);
});

describe("self-defense: the metrics API as the emulator serves it", () => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await startTarget(selfDefenseEstate());
  });
  afterAll(() => target.stop());

  it("reads the totals through @azure/arm-monitor; a topic with no metrics in the estate has none", async () => {
    const now = new Date("2026-11-20T12:00:00Z");
    expect(await readDeliveryMetrics(target.clients, TOPIC, 24, now)).toEqual({ systemTopicId: TOPIC, DroppedEventCount: 5, DeadLetteredCount: 2, DeliveryAttemptFailCount: 40 });
    const quiet = TOPIC.replace(S1, NEUTRALISED[0]!.subscription);
    expect(await readDeliveryMetrics(target.clients, quiet, 24, now)).toMatchObject({ DroppedEventCount: 0, DeadLetteredCount: 0, DeliveryAttemptFailCount: 0 });
  });

  it("answers in the shape of Microsoft's example (azure-rest-api-specs GetMetric.json)", async () => {
    const example = JSON.parse(readFileSync(new URL("../fixtures/azure-rest-api-specs/GetMetric.json", import.meta.url), "utf8")) as { responses: { "200": { body: Record<string, unknown> } } };
    const expected = example.responses["200"].body as { value: Array<Record<string, unknown> & { timeseries: Array<Record<string, unknown> & { data: Array<Record<string, unknown>> }> }> };
    const served = await target.clients.arm
      .path(`${TOPIC}/providers/Microsoft.Insights/metrics`)
      .get({ queryParameters: { "api-version": "2024-02-01", metricnames: "DroppedEventCount", aggregation: "Total", interval: "PT1H", timespan: "2026-11-19T12:00:00Z/2026-11-20T12:00:00Z", metricnamespace: "Microsoft.EventGrid/systemTopics" } });
    const body = served.body as typeof expected;
    const keys = (value: unknown) => Object.keys(value as object).sort();
    expect(keys(body)).toEqual(keys(expected));
    expect(keys(body.value[0])).toEqual(keys(expected.value[0]));
    expect(keys(body.value[0]?.timeseries[0])).toEqual(keys(expected.value[0]?.timeseries[0]));
    expect(keys(body.value[0]?.timeseries[0]?.data[0])).toEqual(["timeStamp", "total"]);
    expect(body.value[0]?.timeseries[0]?.data).toHaveLength(24);
  });

  it("answers as Azure does what Azure refuses: an unknown resource (404), a metric the namespace lacks (400)", async () => {
    const missing = await target.clients.arm.path(`${TOPIC}-gone/providers/Microsoft.Insights/metrics`).get({ queryParameters: { "api-version": "2024-02-01", metricnames: "DroppedEventCount" } });
    expect(missing.status).toBe("404");
    const unknown = await target.clients.arm.path(`${TOPIC}/providers/Microsoft.Insights/metrics`).get({ queryParameters: { "api-version": "2024-02-01", metricnames: "Percentage CPU" } });
    expect(unknown.status).toBe("400");
    await expect(readDeliveryMetrics(target.clients, `${TOPIC}-gone`, 24, new Date())).rejects.toThrow(/404/);
  });

  it("coverage.metricsLookbackHours sets the window the metrics are read over, and the evidence says it", async () => {
    const policy = policySchema.parse({ ...selfDefensePolicy(), coverage: { metricsLookbackHours: 6 } });
    const report = await runSweep(target.clients, policy, { subscriptions: [S1] });
    expect(report.findings.filter((finding) => finding.ruleId === "event-delivery-failing").map((finding) => finding.evidence)).toEqual([{ DroppedEventCount: 5, DeadLetteredCount: 2, DeliveryAttemptFailCount: 40, lookbackHours: 6 }]);
  });

  it("the sweep reads metrics only for topics that deliver to the app", async () => {
    const policy = policySchema.parse(selfDefensePolicy());
    const before = target.emulator.requests.length;
    const report = await runSweep(target.clients, policy, { subscriptions: [S1, ...NEUTRALISED.map((entry) => entry.subscription)] });
    const metricReads = target.emulator.requests.slice(before).filter((request) => request.path.toLowerCase().endsWith("/providers/microsoft.insights/metrics"));
    // S1's topic and the provisioned topics whose event subscription still points at the app's onResourceEvent (expired, failed, filtered).
    expect(metricReads.length).toBe(1 + NEUTRALISED.filter((entry) => entry.metrics !== false).length);
    expect(report.findings.filter((finding) => finding.ruleId === "event-delivery-failing").map((finding) => finding.subjectId)).toEqual([TOPIC]);
  });
});
