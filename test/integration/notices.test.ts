import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { InvocationContext } from "@azure/functions";
import { parseEstate, saveEstateFile } from "../../local/emulator/estate.js";
import { seedEventStores } from "../../local/seed.js";
import { onResourceEventHandler } from "../../functions/onResourceEvent.js";
import { cleanupHandler } from "../../functions/cleanup.js";
import { policySchema } from "../../shared/config/policy.js";
import { readAppSettings } from "../../shared/config/settings.js";
import { CLEANUP_QUEUE, eventDependencies, findingStateStore, sweepJobStores } from "../../shared/composition.js";
import { runSweepJob } from "../../shared/engine/sweepJob.js";
import { budgetNotices } from "../../shared/engine/runCommit.js";
import type { ActionRecord } from "../../shared/cleanup/record.js";
import { sealWorkItem, type WorkItem } from "../../shared/cleanup/workItem.js";
import { azuriteTargets } from "../helpers/azuriteTargets.js";
import { P, PROTECTED, cleanupEstate, grantId, grantsEstate, systemEvent } from "../helpers/cleanupEstate.js";
import { guid, identityResource } from "../helpers/estate.js";
import { startServe, untilLogged } from "../helpers/serve.js";

/** docs/guarantees.md "Notices are findings" and "Deferred is not dropped", and a failed federated-credential listing resolving nothing. */
const targets = azuriteTargets();
const BIN = fileURLToPath(new URL("../../bin/uami-guard.js", import.meta.url));
const context = (lines: string[], name: string) => new InvocationContext({ functionName: name, invocationId: `${name}-${lines.length}`, logHandler: (_level, ...args) => lines.push(args.join(" ")) });

describe("notices are findings, reaching every sink in every host", () => {
  it("the Function App: a budget across runs defers the second work item, keeps it queued, and its window's critical notice reaches Teams, Sentinel and Event Grid", async () => {
    const estate = grantsEstate(2, 20);
    const target = await targets.start(estate);
    const policy = policySchema.parse({ protected: PROTECTED, cleanup: { dryRun: false, maxActionsPerHour: 1, maxDeletePercent: 100 }, rules: { "role-assignment-outside-pipeline": { mode: "enforce" } } });
    await seedEventStores(estate, eventDependencies(target.clients, policy));
    const queue = target.clients.queue(CLEANUP_QUEUE);
    await queue.createIfNotExists();
    await queue.clearMessages();
    const dependencies = async () => ({ settings: readAppSettings({}), policy, clients: target.clients });
    const lines: string[] = [];
    const events = onResourceEventHandler(dependencies, { notify: false });
    for (const index of [0, 1]) await events(systemEvent(`budget-${index}`, grantId(index), "Microsoft.Authorization/roleAssignments/write"), context(lines, "onResourceEvent"));
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
    expect(receivedMessageItems).toHaveLength(2);
    const cleanup = cleanupHandler(dependencies, { notify: true });
    const records: Array<ActionRecord | undefined> = [];
    for (const message of receivedMessageItems) {
      records.push(await cleanup(JSON.parse(Buffer.from(message.messageText, "base64").toString("utf8")), context(lines, "cleanup")));
      await queue.deleteMessage(message.messageId, message.popReceipt);
    }
    expect(records.map((record) => record?.status)).toEqual(["done", "deferred"]);
    // Deferred is not dropped: the item is back on the queue, invisible until the hour has room.
    expect((await queue.getProperties()).approximateMessagesCount).toBe(1);
    expect((await queue.peekMessages()).peekedMessageItems).toHaveLength(0);
    const received = target.emulator.capture.received;
    expect(JSON.stringify(received["teams"])).toContain("Cleanup circuit breaker");
    const rows = (received["sentinel"]?.flat() ?? []) as Array<{ RuleId: string; SubjectId: string; Severity: string }>;
    expect(rows.filter((row) => row.RuleId === "cleanup-circuit-breaker").map((row) => [row.Severity, row.SubjectId.replace(/\d{4}-.*$/, "<hour>")])).toEqual([["critical", "cleanup-budget/hour/<hour>"]]);
    expect(JSON.stringify(received["eventgrid"])).toContain("UamiGuard.Finding.cleanup-circuit-breaker");
    expect(lines.some((line) => /critical cleanup-circuit-breaker cleanup-budget\/hour\//.test(line))).toBe(true);

    // When the window has room (here: the budget raised), the deferred item — the requeued copy carries the same
    // run and action — is carried out after the executor re-checks it, not answered from its deferral.
    const deferred = JSON.parse(Buffer.from(receivedMessageItems[1]?.messageText ?? "", "base64").toString("utf8")) as { action: { targetId: string } };
    const roomy = policySchema.parse({ ...policy, cleanup: { ...policy.cleanup, maxActionsPerHour: 2 } });
    const later = await cleanupHandler(async () => ({ ...(await dependencies()), policy: roomy }), { notify: false })(deferred, context(lines, "cleanup"));
    expect(later?.status).toBe("done");
    expect(target.emulator.store.roleAssignments.has(deferred.action.targetId.toLowerCase())).toBe(false);
  });

  it("a work item still deferred after 24 hours expires with a critical notice and is not queued again; the window's notice resolves at the next sweep after the window closes", async () => {
    const estate = grantsEstate(2, 20);
    const target = await targets.start(estate);
    const key = Buffer.alloc(32, 9);
    const policy = policySchema.parse({ protected: PROTECTED, cleanup: { dryRun: false, maxActionsPerHour: 1, maxDeletePercent: 100 }, rules: { "role-assignment-outside-pipeline": { mode: "enforce" } } });
    await seedEventStores(estate, eventDependencies(target.clients, policy));
    const queue = target.clients.queue(CLEANUP_QUEUE);
    await queue.createIfNotExists();
    await queue.clearMessages();
    const dependencies = async () => ({ settings: readAppSettings({}), policy, clients: target.clients, workItemKey: key });
    const lines: string[] = [];
    const events = onResourceEventHandler(dependencies, { notify: false });
    for (const index of [0, 1]) await events(systemEvent(`expire-${index}`, grantId(index), "Microsoft.Authorization/roleAssignments/write"), context(lines, "onResourceEvent"));
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
    const items = receivedMessageItems.map((message) => JSON.parse(Buffer.from(message.messageText, "base64").toString("utf8")) as WorkItem);
    for (const message of receivedMessageItems) await queue.deleteMessage(message.messageId, message.popReceipt);
    const cleanup = cleanupHandler(dependencies, { notify: false });
    expect((await cleanup(items[0], context(lines, "cleanup")))?.status).toBe("done");
    // The second item as the queue gives it back a day later: deferred since 25 hours ago, the hour still full.
    const { seal: _seal, ...second } = items[1] as WorkItem;
    const stale = sealWorkItem({ ...second, deferredSince: new Date(Date.now() - 25 * 3_600_000).toISOString() }, key);
    expect((await cleanup(stale, context(lines, "cleanup")))?.status).toBe("deferred");
    expect((await queue.getProperties()).approximateMessagesCount).toBe(0);
    expect(target.emulator.store.roleAssignments.has(grantId(1).toLowerCase())).toBe(true);
    const notices = [...(await findingStateStore(target.clients).load("notices")).values()];
    expect(notices.filter((record) => record.subjectId.startsWith("cleanup-budget/expired/")).map((record) => [record.ruleId, record.severity, record.status])).toEqual([["cleanup-circuit-breaker", "critical", "open"]]);
    expect(lines.some((line) => /critical cleanup-circuit-breaker: .* expired after 24 hours deferred/.test(line))).toBe(true);

    // The hour's notice belongs to a window that has closed by the next sweep (two hours on): resolved then.
    const hourly = notices.find((record) => record.subjectId.startsWith("cleanup-budget/hour/"));
    expect(hourly?.status).toBe("open");
    await runSweepJob(target.clients, policy, sweepJobStores(target.clients, policy, { notify: false }), { now: new Date(Date.now() + 2 * 3_600_000) });
    const after = await findingStateStore(target.clients).load("notices");
    expect(after.get(hourly?.fingerprint ?? "")?.status).toBe("resolved");
  });

  it("serve --notify: the hour's breaker notice of a deferred work item reaches Teams, Sentinel and Event Grid", async () => {
    const dir = mkdtempSync(join(tmpdir(), "uami-guard-notices-serve-"));
    const estatePath = join(dir, "estate.json");
    saveEstateFile(estatePath, grantsEstate(2, 20));
    const policyPath = join(dir, "policy.json");
    writeFileSync(policyPath, JSON.stringify({ protected: PROTECTED, cleanup: { dryRun: false, maxActionsPerHour: 1, maxDeletePercent: 100 }, rules: { "role-assignment-outside-pipeline": { mode: "enforce" } } }));
    const capture = join(dir, "capture");
    const serve = await startServe(["--estate", estatePath, "--policy", policyPath, "--notify", "--capture", capture]);
    try {
      for (const index of [0, 1]) {
        const response = await fetch(serve.webhook(), { method: "POST", headers: serve.eventHeaders, body: JSON.stringify([systemEvent(`serve-budget-${index}`, grantId(index), "Microsoft.Authorization/roleAssignments/write")]) });
        expect(response.status).toBe(200);
      }
      await untilLogged(serve, /critical cleanup-circuit-breaker cleanup-budget\/hour\//);
    } finally {
      await serve.stop();
    }
    const sink = (name: string) => readFileSync(join(capture, `${name}.json`), "utf8");
    expect(sink("teams")).toContain("Cleanup circuit breaker");
    expect(sink("sentinel")).toMatch(/"RuleId": ?"cleanup-circuit-breaker"/);
    expect(sink("eventgrid")).toContain("UamiGuard.Finding.cleanup-circuit-breaker");
  }, 60_000);

  it("a trip in a new window is a new finding; one in the same window is the same one", () => {
    const deferred = (name: "hour" | "day"): ActionRecord => ({ actionId: "a", action: "delete-role-assignment", ruleId: "r", fingerprint: "f", subjectId: "s", target: "t", change: "c", status: "deferred", budget: { name, reason: "why", roomAt: "2026-11-20T11:00:00Z", raise: true } });
    const at = (iso: string) => budgetNotices([deferred("hour")], "run", new Date(iso))[0]?.subjectId;
    expect(at("2026-11-20T10:05:00Z")).toBe("cleanup-budget/hour/2026-11-20T10:00:00.000Z");
    expect(at("2026-11-20T10:55:00Z")).toBe(at("2026-11-20T10:05:00Z"));
    expect(at("2026-12-20T10:05:00Z")).not.toBe(at("2026-11-20T10:05:00Z"));
    expect(budgetNotices([deferred("day")], "run", new Date("2026-11-20T10:05:00Z"))[0]?.subjectId).toBe("cleanup-budget/day/2026-11-20T00:00:00.000Z");
  });

  it("sweep --enforce --notify: the run's breaker notice is committed and sent to every sink, not only listed", () => {
    const dir = mkdtempSync(join(tmpdir(), "uami-guard-notices-"));
    const estatePath = join(dir, "estate.json");
    saveEstateFile(estatePath, cleanupEstate());
    const policyPath = join(dir, "policy.json");
    writeFileSync(policyPath, JSON.stringify({ protected: PROTECTED, orphans: { confirmations: 1 }, cleanup: { maxActionsPerRun: 0 } }));
    const capture = join(dir, "capture");
    const result = spawnSync(process.execPath, [BIN, "sweep", "--estate", estatePath, "--policy", policyPath, "--enforce", "--journal", join(dir, "j.jsonl"), "--notify", "--capture", capture, "-o", "json"], {
      encoding: "utf8",
      env: { ...process.env, UAMI_GUARD_POLICY: "" },
    });
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { findings: Array<{ ruleId: string; subjectId: string }> };
    const notice = report.findings.find((finding) => finding.ruleId === "cleanup-circuit-breaker");
    expect(notice?.subjectId).toMatch(/^cleanup-budget\/run\/sweep-/);
    const sentinel = JSON.parse(readFileSync(join(capture, "sentinel.json"), "utf8")) as unknown[];
    expect(JSON.stringify(sentinel)).toContain(notice?.subjectId ?? "none");
    expect(readFileSync(join(capture, "teams.json"), "utf8")).toContain("Cleanup circuit breaker");
    expect(readFileSync(join(capture, "eventgrid.json"), "utf8")).toContain("UamiGuard.Finding.cleanup-circuit-breaker");
  }, 60_000);
});

describe("a check that failed resolves nothing that needs it", () => {
  it("a federated-credential listing that fails leaves the federated-credential findings open: no Resolved notice", async () => {
    const base = cleanupEstate();
    const identity = identityResource("id-app", P.app, guid(11, "c"), { owner: "team", environment: "prod" });
    const estate = parseEstate(
      {
        ...base,
        emulator: { ...base.emulator, faults: [] },
        federatedCredentials: [{ id: `${identity.id}/federatedIdentityCredentials/evil`, name: "evil", properties: { issuer: "https://issuer.evil.example", subject: "x", audiences: ["api://AzureADTokenExchange"] } }],
      },
      "federated estate",
    );
    const target = await targets.start(estate);
    const policy = policySchema.parse({});
    const stores = sweepJobStores(target.clients, policy, { notify: true });
    const first = await runSweepJob(target.clients, policy, stores);
    expect(first.report.findings.map((finding) => finding.ruleId)).toContain("federated-credential-untrusted-issuer");
    // The emulator reads its faults as it answers: from now on ARM fails every listing of credentials.
    estate.emulator.faults.push({ service: "arm", pathContains: "federatedIdentityCredentials", status: 500, rate: 1, retryAfterSeconds: 0 });
    const blind = await runSweepJob(target.clients, policy, stores, { now: new Date(Date.now() + 60_000) });
    expect(blind.report.incomplete.map((entry) => entry.check)).toContain("federated-credentials");
    expect(blind.lifecycle.resolved.map((record) => record.ruleId)).toEqual([]);
    const open = [...(await findingStateStore(target.clients).load("sweep-all")).values()].filter((record) => record.ruleId === "federated-credential-untrusted-issuer");
    expect(open.map((record) => record.status)).toEqual(["open"]);
    const rows = (target.emulator.capture.received["sentinel"]?.flat() ?? []) as Array<{ RuleId: string; Status: string }>;
    expect(rows.filter((row) => row.Status === "resolved")).toEqual([]);
  });
});
