import { describe, expect, it } from "vitest";
import { defaultPolicy } from "../../shared/config/policy.js";
import { runSweep } from "../../shared/engine/sweep.js";
import { collectReport } from "../../shared/engine/report.js";
import { eventDependencies } from "../../shared/composition.js";
import { handleResourceEvent } from "../../shared/engine/eventProcessor.js";
import { seedEventStores } from "../../local/seed.js";
import { azuriteTargets } from "../helpers/azuriteTargets.js";
import { IDS, cleanupEstate, systemEvent } from "../helpers/cleanupEstate.js";
import { loadFixture } from "../helpers/estate.js";

/** Reads once: the report reads the estate once, and a delete event asks the catalog, not the tenant. */
const targets = azuriteTargets();
const count = (requests: Array<{ service: string; path: string }>, service: string, pathContains = "") => requests.filter((request) => request.service === service && request.path.toLowerCase().includes(pathContains)).length;

describe("reads once", () => {
  it("the access-review report pages Resource Graph and lists credentials once, as one sweep does", async () => {
    const target = await targets.start(loadFixture("small-estate.json"));
    const policy = defaultPolicy();
    await runSweep(target.clients, policy);
    const sweepGraph = count(target.emulator.requests, "resourceGraph");
    const sweepCredentials = count(target.emulator.requests, "arm", "federatedidentitycredentials");
    target.emulator.requests.length = 0;
    const model = await collectReport(target.clients, policy);
    expect(model).toBeDefined();
    expect(count(target.emulator.requests, "resourceGraph")).toBe(sweepGraph);
    expect(count(target.emulator.requests, "arm", "federatedidentitycredentials")).toBe(sweepCredentials);
  });

  it("an identity-delete event asks the identity catalog who used it and re-reads those resources: no page of the tenant's attachments", async () => {
    const estate = cleanupEstate();
    const target = await targets.start(estate);
    const deps = eventDependencies(target.clients, defaultPolicy());
    await seedEventStores(estate, deps);
    estate.resources.splice(estate.resources.findIndex((resource) => resource.id === IDS.extra), 1);
    target.emulator.store.resources.delete(IDS.extra.toLowerCase());
    target.emulator.requests.length = 0;
    const outcome = await handleResourceEvent({ ...systemEvent("delete-extra", IDS.extra, "Microsoft.ManagedIdentity/userAssignedIdentities/delete"), eventType: "Microsoft.Resources.ResourceDeleteSuccess" }, deps);
    expect(outcome.findings.map((finding) => finding.ruleId)).toContain("identity-deleted-while-in-use");
    expect(outcome.findings.find((finding) => finding.ruleId === "identity-deleted-while-in-use")?.evidence["resources"]).toEqual([IDS.vm]);
    expect(count(target.emulator.requests, "resourceGraph")).toBe(0);
  });
});
