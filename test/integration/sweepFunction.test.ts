import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvocationContext, type Timer } from "@azure/functions";
import { sweepHandler } from "../../functions/sweep.js";
import { TABLES } from "../../shared/composition.js";
import { startAzurite, type RunningAzurite } from "../../local/azurite.js";
import { defaultPolicy } from "../../shared/config/policy.js";
import { readAppSettings } from "../../shared/config/settings.js";
import { TableFindingStateStore, sweepScopeKey } from "../../shared/state/findingStateTable.js";
import { startTarget, type TestTarget } from "../helpers/estate.js";
import { principalsEstate } from "../helpers/synthetic.js";

let azurite: RunningAzurite;
let target: TestTarget;
beforeAll(async () => {
  azurite = await startAzurite();
  target = await startTarget(principalsEstate(30, 10).estate, azurite.connectionString);
});
afterAll(async () => {
  await target.stop();
  await azurite.stop();
});

const timer: Timer = { isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: { last: "", next: "", lastUpdated: "" } };

describe("sweep timer function with finding state on Azurite", () => {
  it("records sightings across invocations and resolves a finding that disappears", async () => {
    const handler = sweepHandler(async () => ({ settings: readAppSettings({}), policy: defaultPolicy(), clients: target.clients }));
    const logs: string[] = [];
    const context = () => new InvocationContext({ functionName: "sweep", invocationId: "inv", logHandler: (_level, ...args) => logs.push(args.join(" ")) });
    await handler(timer, context());
    await handler(timer, context());
    const store = new TableFindingStateStore(target.clients.table(TABLES.findings));
    let records = await store.load(sweepScopeKey([]));
    const orphans = [...records.values()].filter((record) => record.ruleId === "orphaned-role-assignment");
    expect(orphans).toHaveLength(3);
    for (const record of orphans) expect(record).toMatchObject({ status: "open", timesSeen: 2, consecutive: 2 });

    // Someone deletes one orphaned assignment: the next sweep resolves its finding.
    const gone = orphans[0];
    target.emulator.store.roleAssignments.delete(gone?.subjectId.toLowerCase() ?? "");
    target.emulator.store.touch();
    await handler(timer, context());
    records = await store.load(sweepScopeKey([]));
    expect(records.get(gone?.fingerprint ?? "")).toMatchObject({ status: "resolved" });
    expect(logs.some((line) => /1 resolved/.test(line))).toBe(true);
  });
});
