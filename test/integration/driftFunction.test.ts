import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import { InvocationContext, type Timer } from "@azure/functions";
import { describe, expect, it } from "vitest";
import { sweepHandler } from "../../functions/sweep.js";
import { policySchema } from "../../shared/config/policy.js";
import { readAppSettings } from "../../shared/config/settings.js";
import { findingStateStore } from "../../shared/composition.js";
import { sweepScopeKey } from "../../shared/state/findingStateTable.js";
import { fixturePath, loadFixture } from "../helpers/estate.js";
import { azuriteTargets } from "../helpers/azuriteTargets.js";

/**
 * Drift in the Function App: the sweep timer reads its desired-state sources from a blob container with the app's
 * own storage clients (docs/rules/drift-not-in-code.md), and commits exactly the drift findings the CLI reports for
 * the same estate (test/fixtures/desired-state); a blob that is cut short is an incomplete source, silent below it.
 */
const DIR = fixturePath("desired-state");
const S1 = "/subscriptions/11111111-1111-4111-8111-111111111111";
const timer: Timer = { isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: { last: "", next: "", lastUpdated: "" } };
const targets = azuriteTargets();

describe("drift through the exported sweep timer, sources in a blob container", () => {
  it("commits the drift findings of the state's scope; a corrupt blob is incomplete, reports nothing under its scope and resolves nothing", async () => {
    const azurite = targets.azurite();
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("desired-state");
    await container.createIfNotExists();
    await container.getBlockBlobClient("prod/terraform-show.json").uploadData(readFileSync(join(DIR, "tfstate", "prod.json")));
    await container.getBlockBlobClient("s3/terraform-show.json").uploadData(readFileSync(join(DIR, "corrupt-s3.json")));
    const policy = policySchema.parse({
      requiredTags: [],
      desiredState: {
        sources: [
          { path: `${azurite.blobEndpoint}/desired-state/prod/terraform-show.json`, format: "terraform", scopes: [S1] },
          { path: `${azurite.blobEndpoint}/desired-state/s3/terraform-show.json`, format: "terraform", scopes: ["/subscriptions/33333333-3333-4333-8333-333333333333"] },
        ],
      },
    });
    const target = await targets.start(loadFixture("desired-state/estate.json"));
    const lines: string[] = [];
    const context = new InvocationContext({ functionName: "sweep", invocationId: "drift-1", logHandler: (_level, ...args) => lines.push(args.join(" ")) });
    await sweepHandler(async () => ({ settings: readAppSettings({}), policy, clients: target.clients }), { notify: false })(timer, context);
    const records = [...(await findingStateStore(target.clients).load(sweepScopeKey([]))).values()].filter((record) => record.ruleId.startsWith("drift-"));
    const expected = (JSON.parse(readFileSync(join(DIR, "expected-findings.json"), "utf8")) as Array<[string, string, string | null]>).filter(([, subject]) => subject.toLowerCase().startsWith(S1.toLowerCase()));
    const key = (ruleId: string, subjectId: string, relatedId?: string | null) => `${ruleId} ${subjectId.toLowerCase()} ${(relatedId ?? "").toLowerCase()}`;
    expect(records.map((record) => key(record.ruleId, record.subjectId, record.relatedId)).sort()).toEqual(expected.map(([ruleId, subjectId, relatedId]) => key(ruleId, subjectId, relatedId)).sort());
    expect(records.every((record) => record.status === "open")).toBe(true);
    expect(lines.filter((line) => /incomplete desired-state: .*s3\/terraform-show\.json/.test(line))).toHaveLength(1);

    // The state's blob is cut short by a publish step that died: the next sweep resolves none of its drift findings.
    await container.getBlockBlobClient("prod/terraform-show.json").uploadData(readFileSync(join(DIR, "corrupt-s3.json")));
    await sweepHandler(async () => ({ settings: readAppSettings({}), policy, clients: target.clients }), { notify: false })(timer, context);
    const after = [...(await findingStateStore(target.clients).load(sweepScopeKey([]))).values()].filter((record) => record.ruleId.startsWith("drift-"));
    expect(after.map((record) => [record.fingerprint, record.status]).sort()).toEqual(records.map((record) => [record.fingerprint, "open"]).sort());
    expect(lines.filter((line) => /incomplete desired-state: .*prod\/terraform-show\.json/.test(line))).toHaveLength(1);
  }, 120_000);
});
