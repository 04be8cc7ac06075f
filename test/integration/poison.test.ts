import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { saveEstateFile } from "../../local/emulator/estate.js";
import { InvocationContext } from "@azure/functions";
import { defaultPolicy, policySchema } from "../../shared/config/policy.js";
import { readAppSettings } from "../../shared/config/settings.js";
import { onResourceEventHandler } from "../../functions/onResourceEvent.js";
import { handleResourceEvent } from "../../shared/engine/eventProcessor.js";
import { eventDependencies } from "../../shared/composition.js";
import { parseEstate } from "../../local/emulator/estate.js";
import { azuriteTargets } from "../helpers/azuriteTargets.js";
import { IDS, cleanupEstate, cleanupEvents, systemEvent } from "../helpers/cleanupEstate.js";
import { poisonCorpus } from "../helpers/fuzz.js";
import { startServe, type ServeProcess } from "../helpers/serve.js";

/** docs/guarantees.md "Poison never loops": acknowledged and logged, never a crash, never a redelivery. */
const BIN = fileURLToPath(new URL("../../bin/uami-guard.js", import.meta.url));
const CORPUS = 10_000;
const targets = azuriteTargets();

describe("poison events are acknowledged, not redelivered", () => {
  it("a permanent ARM answer (400/404/431) for the event's resource is acknowledged; 429/5xx still fail for redelivery", async () => {
    for (const status of [400, 431]) {
      const base = cleanupEstate();
      const target = await targets.start(parseEstate({ ...base, emulator: { ...base.emulator, faults: [{ service: "arm", method: "GET", pathContains: "virtualMachines/vm-1", status }] } }, "e"));
      const outcome = await handleResourceEvent(cleanupEvents()[0], eventDependencies(target.clients, defaultPolicy(), { notify: false }));
      expect(outcome.status, String(status)).toBe("malformed");
      expect(outcome.reason).toMatch(new RegExp(`permanent.*${status}`));
    }
    const base = cleanupEstate();
    const busy = await targets.start(parseEstate({ ...base, emulator: { ...base.emulator, faults: [{ service: "arm", method: "GET", status: 429, retryAfterSeconds: 0 }] } }, "e"));
    expect((await handleResourceEvent(cleanupEvents()[0], eventDependencies(busy.clients, defaultPolicy(), { notify: false, delivery: { maxAttempts: 10, ttlMinutes: 1440 } }))).status).toBe("failed");
  });

  it("an identity-delete event with a 32K-character id is dropped without touching the dedupe table", async () => {
    const target = await targets.start(cleanupEstate());
    const original = cleanupEvents()[0] as { data: Record<string, unknown> };
    const event = { ...original, id: "x".repeat(32 * 1024), data: { ...original.data, operationName: "Microsoft.ManagedIdentity/userAssignedIdentities/delete", resourceUri: IDS.app } };
    const outcome = await handleResourceEvent(event, eventDependencies(target.clients, defaultPolicy(), { notify: false }));
    expect(outcome.status).toBe("malformed");
  });

  it("a read-back of another resource than the event names is not trusted: no finding, no baseline rewrite", async () => {
    const target = await targets.start(cleanupEstate());
    const deps = eventDependencies(target.clients, defaultPolicy(), { notify: false });
    // ARM answers for vm-1 with another subscription's id, as a normalised `..` path would.
    const resource = target.emulator.store.resources.get(IDS.vm.toLowerCase());
    if (resource) resource.id = `/subscriptions/33333333-3333-3333-3333-333333333333/resourceGroups/rg-x/providers/Microsoft.Compute/virtualMachines/vm-1`;
    const outcome = await handleResourceEvent(cleanupEvents()[0], deps);
    expect(outcome.findings).toEqual([]);
    expect(outcome.incomplete.map((entry) => entry.reason).join(" ")).toMatch(/not trusted/);
    expect(await deps.baseline.get(resource?.id ?? "")).toBeUndefined();
  });
});

describe(`a ${CORPUS.toLocaleString("en")}-event fuzz corpus`, () => {
  let dir: string;
  let estate: string;
  it("through the exported handler: an id that a scope prefix would approve only by its .., %2e or empty segment is malformed and acknowledged, never approved", async () => {
    const target = await targets.start(cleanupEstate());
    const scope = IDS.vm.split("/providers/")[0] ?? "";
    const policy = policySchema.parse({ approvedPipelines: [{ name: "app-team", appId: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", scopes: [scope] }] });
    const handler = onResourceEventHandler(async () => ({ settings: readAppSettings({}), policy, clients: target.clients }), { notify: false });
    const lines: string[] = [];
    const context = () => new InvocationContext({ functionName: "onResourceEvent", invocationId: "c", logHandler: (_level, ...args) => lines.push(args.join(" ")) });
    const escaping = [`${scope}/../rg-prod/providers/Microsoft.Compute/virtualMachines/vm-1`, `${scope}/%2e%2e/rg-prod/providers/Microsoft.Compute/virtualMachines/vm-1`, `${scope}//providers/Microsoft.Compute/virtualMachines/vm-1`, `${scope}/providers/Microsoft.Compute/virtualMachines/vm-1\u0000`];
    for (const [index, uri] of escaping.entries()) {
      const outcome = await handler(systemEvent(`escape-${index}`, uri, "Microsoft.Compute/virtualMachines/write"), context());
      expect(outcome.status, uri).toBe("malformed");
      expect(outcome.findings).toEqual([]);
    }
    expect(lines.filter((line) => /malformed, dropped/.test(line))).toHaveLength(escaping.length);
    expect(target.emulator.requests.filter((request) => request.service === "arm")).toHaveLength(0);
  });

  let corpus: string[];
  let serve: ServeProcess;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "uami-guard-fuzz-"));
    estate = join(dir, "estate.json");
    saveEstateFile(estate, cleanupEstate());
    corpus = poisonCorpus(CORPUS);
    writeFileSync(join(dir, "events.json"), `[${corpus.join(",")}]`);
    serve = await startServe(["--estate", estate, "--quiet"]);
  }, 60_000);
  afterAll(() => serve?.stop());

  it("through replay: no crash, a report, every event counted, none failed", () => {
    const result = spawnSync(process.execPath, [BIN, "replay", "--events", join(dir, "events.json"), "--estate", estate, "--output", "json"], {
      encoding: "utf8",
      env: { ...process.env, UAMI_GUARD_POLICY: "" },
      maxBuffer: 256 * 1024 * 1024,
    });
    expect(result.status, result.stderr.slice(-2000)).toBe(0);
    const report = JSON.parse(result.stdout) as { events: Record<string, number> };
    expect(report.events["received"]).toBe(CORPUS);
    expect(report.events["failed"]).toBe(0);
    expect(report.events["malformed"]).toBeGreaterThan(CORPUS / 2);
  }, 240_000);

  it("through the webhook: every delivery answered 2xx", async () => {
    const statuses = new Map<number, number>();
    for (let start = 0; start < corpus.length; start += 250) {
      const response = await fetch(serve.webhook(), { method: "POST", headers: serve.eventHeaders, body: `[${corpus.slice(start, start + 250).join(",")}]` });
      await response.arrayBuffer();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    }
    expect([...statuses.keys()]).toEqual([200]);
    // Single events too, as Event Grid delivers with a batch size of 1.
    for (const body of corpus.slice(0, 100)) {
      const response = await fetch(serve.webhook(), { method: "POST", headers: serve.eventHeaders, body });
      await response.arrayBuffer();
      expect(response.status).toBe(200);
    }
  }, 240_000);
});
