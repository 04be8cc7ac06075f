import { describe, expect, it } from "vitest";
import { InvocationContext, type Timer } from "@azure/functions";
import { sweepHandler } from "../../functions/sweep.js";
import { cleanupHandler } from "../../functions/cleanup.js";
import { onResourceEventHandler } from "../../functions/onResourceEvent.js";
import { policySchema, type Policy } from "../../shared/config/policy.js";
import { readAppSettings } from "../../shared/config/settings.js";
import { CLEANUP_POISON_QUEUE, CLEANUP_QUEUE, eventDependencies, findingStateStore, TABLES } from "../../shared/composition.js";
import { TableJournal } from "../../shared/state/journalTable.js";
import { sealWorkItem, type WorkItem } from "../../shared/cleanup/workItem.js";
import { seedEventStores } from "../../local/seed.js";
import type { TestTarget } from "../helpers/estate.js";
import { azuriteTargets } from "../helpers/azuriteTargets.js";
import { IDS, PROTECTED, cleanupEstate, cleanupEvents } from "../helpers/cleanupEstate.js";

const targets = azuriteTargets();
const timer: Timer = { isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: { last: "", next: "", lastUpdated: "" } };

const ENFORCING: Policy = policySchema.parse({
  protected: PROTECTED,
  orphans: { confirmations: 1 },
  cleanup: { dryRun: false },
  rules: {
    "orphaned-role-assignment": { mode: "enforce" },
    "untagged-identity": { mode: "enforce" },
    "role-assignment-outside-pipeline": { mode: "enforce" },
    "attachment-outside-pipeline": { mode: "enforce" },
  },
});

function logs() {
  const lines: string[] = [];
  const context = (functionName: string) => new InvocationContext({ functionName, invocationId: `inv-${lines.length}`, logHandler: (_level, ...args) => lines.push(args.join(" ")) });
  return { lines, context };
}

/** What the Functions host hands the queue trigger: the base64 message decoded (and JSON parsed). */
async function drainQueue(target: TestTarget): Promise<unknown[]> {
  const queue = target.clients.queue(CLEANUP_QUEUE);
  const items: unknown[] = [];
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
    if (receivedMessageItems.length === 0) return items;
    for (const message of receivedMessageItems) {
      items.push(JSON.parse(Buffer.from(message.messageText, "base64").toString("utf8")));
      await queue.deleteMessage(message.messageId, message.popReceipt);
    }
  }
}

async function start(policy: Policy) {
  const target = await targets.start(cleanupEstate());
  await target.clients.queue(CLEANUP_QUEUE).createIfNotExists();
  await target.clients.queue(CLEANUP_QUEUE).clearMessages();
  await target.clients.queue(CLEANUP_POISON_QUEUE).createIfNotExists();
  await target.clients.queue(CLEANUP_POISON_QUEUE).clearMessages();
  const dependencies = async () => ({ settings: readAppSettings({}), policy, clients: target.clients });
  return { target, dependencies };
}

describe("cleanup in the Functions app: work items on the queue, the queue trigger carries them out", () => {
  it("the sweep timer queues the enforced actions; the cleanup function journals and applies each", async () => {
    const { target, dependencies } = await start(ENFORCING);
    const log = logs();
    await sweepHandler(dependencies, { notify: false })(timer, log.context("sweep"));
    expect(log.lines.some((line) => /cleanup \(enforce\): .*2 queued/.test(line))).toBe(true);
    const items = await drainQueue(target);
    expect(items.map((item) => (item as { action: { targetId: string } }).action.targetId.toLowerCase()).sort()).toEqual([IDS.orphan, IDS.untagged].map((id) => id.toLowerCase()).sort());
    // Nothing changed yet: the sweep only queued.
    expect(target.emulator.store.roleAssignments.has(IDS.orphan.toLowerCase())).toBe(true);

    const handle = cleanupHandler(dependencies);
    const records = [];
    for (const item of items) records.push(await handle(item, log.context("cleanup")));
    expect(records.map((record) => record?.status)).toEqual(["done", "done"]);
    expect(target.emulator.store.roleAssignments.has(IDS.orphan.toLowerCase())).toBe(false);
    const journal = new TableJournal(target.clients.table(TABLES.journal));
    const runId = (items[0] as { runId: string }).runId;
    expect((await journal.entries({ runId })).map((entry) => entry.status)).toEqual(["done", "done"]);

    // A redelivered item (the host retries at least once) finds its entry and does nothing again.
    const again = await handle(items[0], log.context("cleanup"));
    expect(again?.status).toBe("done");
    expect(target.emulator.requests.filter((request) => request.method === "DELETE")).toHaveLength(1);
  });

  it("refuses malformed, unsealed, forged and no-longer-enforced work items: poison queue, a critical notice each, nothing changed", async () => {
    const { target, dependencies } = await start(ENFORCING);
    const log = logs();
    await sweepHandler(dependencies, { notify: false })(timer, log.context("sweep"));
    const [item] = (await drainQueue(target)) as Array<{ action: Record<string, unknown>; seal: string }>;
    if (!item) throw new Error("the sweep queued nothing");
    const handle = cleanupHandler(dependencies, { notify: false });
    expect(await handle("not json", log.context("cleanup"))).toBeUndefined();
    // An item made by someone who can write to the queue, without the app's key: the Owner grant outside a pipeline.
    const forged = { version: 2, runId: "r", caller: "c", scope: "events", action: { ...item.action, targetId: IDS.outside, kind: "delete-role-assignment" }, seal: item.seal };
    expect(await handle(forged, log.context("cleanup"))).toBeUndefined();
    // A sealed item of a rule whose action is not its kind never gets as far as the seal being enough.
    const audit = cleanupHandler(async () => ({ ...(await dependencies()), policy: policySchema.parse({}) }), { notify: false });
    expect(await audit(item, log.context("cleanup"))).toBeUndefined();
    expect(log.lines.filter((line) => /rejected and moved to uamiguard-cleanup-poison/.test(line))).toHaveLength(3);
    expect(log.lines.some((line) => /not in enforce mode now/.test(line))).toBe(true);
    expect(log.lines.some((line) => /seal is not the app's/.test(line))).toBe(true);
    expect(target.emulator.requests.filter((request) => request.method !== "GET" && request.service === "arm")).toHaveLength(0);
    const poison = await target.clients.queue(CLEANUP_POISON_QUEUE).peekMessages({ numberOfMessages: 32 });
    expect(poison.peekedMessageItems).toHaveLength(3);
    const notices = [...(await findingStateStore(target.clients).load("notices")).values()];
    expect(notices.filter((record) => record.ruleId === "cleanup-work-item-rejected" && record.severity === "critical")).toHaveLength(3);
    expect(notices.map((record) => record.subjectId)).toContain(IDS.outside);
  });

  it("refuses sealed items that the policy and the finding state do not back: another rule's action kind, a target that is no open finding's subject, a finding that was resolved", async () => {
    const key = Buffer.alloc(32, 3);
    const { target, dependencies } = await start(ENFORCING);
    const withKey = async () => ({ ...(await dependencies()), workItemKey: key });
    const log = logs();
    await sweepHandler(withKey, { notify: false })(timer, log.context("sweep"));
    const orphan = ((await drainQueue(target)) as WorkItem[]).find((item) => item.action.kind === "delete-role-assignment");
    if (!orphan) throw new Error("the sweep queued no deletion");
    const { seal: _seal, ...bare } = orphan;
    const handle = cleanupHandler(withKey, { notify: false });
    const wrongKind = sealWorkItem({ ...bare, action: { ...bare.action, kind: "detach-identity", identityId: IDS.app } }, key);
    const otherTarget = sealWorkItem({ ...bare, action: { ...bare.action, targetId: IDS.outside } }, key);
    expect(await handle(wrongKind, log.context("cleanup"))).toBeUndefined();
    expect(await handle(otherTarget, log.context("cleanup"))).toBeUndefined();
    // The finding resolved since (a later sweep no longer saw it): the item that was queued for it is refused too.
    const store = findingStateStore(target.clients);
    const scope = orphan.scope;
    const record = (await store.load(scope)).get(orphan.action.finding.fingerprint);
    if (!record) throw new Error("the orphan finding is not in the finding state");
    await store.save(scope, [{ ...record, status: "resolved", resolvedAt: new Date().toISOString() }]);
    expect(await handle(sealWorkItem(bare, key), log.context("cleanup"))).toBeUndefined();
    const rejected = log.lines.filter((line) => /rejected and moved to uamiguard-cleanup-poison/.test(line));
    expect(rejected).toHaveLength(3);
    expect(rejected[0]).toMatch(/detach-identity is not the action of orphaned-role-assignment \(delete-role-assignment\)/);
    expect(rejected[1]).toMatch(/is not the subject of an open orphaned-role-assignment finding/);
    expect(rejected[2]).toMatch(/is not the subject of an open orphaned-role-assignment finding/);
    expect(target.emulator.requests.filter((request) => request.method !== "GET" && request.service === "arm")).toHaveLength(0);
    const notices = [...(await store.load("notices")).values()].filter((notice) => notice.ruleId === "cleanup-work-item-rejected");
    // One notice per message (its hash is the notice's related id), each naming the target it asked for.
    expect(notices.map((notice) => notice.severity)).toEqual(["critical", "critical", "critical"]);
    expect(notices.map((notice) => notice.subjectId.toLowerCase()).sort()).toEqual([IDS.orphan, IDS.orphan, IDS.outside].map((id) => id.toLowerCase()).sort());
  });

  it("a work item without roleAssignmentsSeen never skips the 24-hour delete cap: forged → rejected; sealed → counted against the last sweep, or deferred when there is none", async () => {
    const key = Buffer.alloc(32, 7);
    const { target, dependencies } = await start(ENFORCING);
    const withKey = (policy: Policy) => async () => ({ ...(await dependencies()), policy, workItemKey: key });
    const log = logs();
    await sweepHandler(withKey(ENFORCING), { notify: false })(timer, log.context("sweep"));
    const queued = (await drainQueue(target)) as WorkItem[];
    const orphan = queued.find((item) => item.action.kind === "delete-role-assignment");
    if (!orphan) throw new Error("the sweep queued no deletion");
    expect(orphan.roleAssignmentsSeen).toBeGreaterThan(100);
    const { seal: _seal, roleAssignmentsSeen: _seen, ...bare } = orphan;
    const deletes = () => target.emulator.requests.filter((request) => request.method === "DELETE" && request.service === "arm");

    // Forged: the count taken out without the app's key (the seal no longer matches) — refused, never carried out.
    const forged = { ...bare, seal: orphan.seal };
    expect(await cleanupHandler(withKey(ENFORCING), { notify: false })(forged, log.context("cleanup"))).toBeUndefined();
    expect(log.lines.some((line) => /rejected and moved to uamiguard-cleanup-poison: its seal is not the app's/.test(line))).toBe(true);
    expect(deletes()).toHaveLength(0);

    // Sealed by the app but without the count: the last complete sweep's count is the base. One deletion of
    // its ~106 role assignments is over 0.5%: deferred, queued again, nothing deleted.
    const sealed = sealWorkItem(bare, key);
    const strict = policySchema.parse({ ...ENFORCING, cleanup: { ...ENFORCING.cleanup, maxDeletePercent: 0.5 } });
    const capped = await cleanupHandler(withKey(strict), { notify: false })(sealed, log.context("cleanup"));
    expect(capped?.status).toBe("deferred");
    expect(capped?.reason).toMatch(/maxDeletePercent 0.5 over 24 hours reached: 0 of 10\d role assignments/);
    expect(deletes()).toHaveLength(0);

    // No complete sweep and no count in the item: how many there are is unknown, so no deletion passes.
    await target.clients.table(TABLES.identities).deleteEntity("sweep", "last-complete");
    const unknown = await cleanupHandler(withKey(ENFORCING), { notify: false })({ ...sealed }, log.context("cleanup"));
    expect(unknown?.status).toBe("deferred");
    expect(unknown?.reason).toMatch(/how many role assignments there are is unknown/);
    expect(deletes()).toHaveLength(0);
    expect(target.emulator.store.roleAssignments.has(IDS.orphan.toLowerCase())).toBe(true);
  });

  it("an event trigger with enforced event rules queues the detach and the delete", async () => {
    const { target, dependencies } = await start(ENFORCING);
    await seedEventStores(cleanupEstate(), eventDependencies(target.clients, ENFORCING));
    const log = logs();
    const handle = onResourceEventHandler(dependencies, { notify: false });
    const outcomes = [];
    for (const event of cleanupEvents()) outcomes.push(await handle(event, log.context("onResourceEvent")));
    expect(outcomes.flatMap((outcome) => outcome.actions ?? []).map((action) => `${action.action} ${action.status}`).sort()).toEqual(["delete-role-assignment queued", "detach-identity queued"]);
    const items = await drainQueue(target);
    const cleanup = cleanupHandler(dependencies);
    for (const item of items) expect((await cleanup(item, log.context("cleanup")))?.status).toBe("done");
    const vm = target.emulator.store.resources.get(IDS.vm.toLowerCase());
    expect(Object.keys(vm?.identity?.userAssignedIdentities ?? {}).map((id) => id.toLowerCase())).toEqual([IDS.app.toLowerCase()]);
    expect(target.emulator.store.roleAssignments.has(IDS.outside.toLowerCase())).toBe(false);
  });
});
