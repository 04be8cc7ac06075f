import { afterEach, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import type { AccessToken, GetTokenOptions } from "@azure/core-auth";
import type { Estate } from "../../local/emulator/estate.js";
import { createAzureClients, type AzureClients } from "../../shared/azure/clients.js";
import { withRunDeadline } from "../../shared/azure/deadline.js";
import { listRoleEligibilities } from "../../shared/azure/eligibility.js";
import { listFederatedCredentials } from "../../shared/azure/federatedCredentials.js";
import { listInWorker, workerEntry } from "../../shared/azure/federatedCredentialsThread.js";
import type { Identity } from "../../shared/model.js";
import { emptyEstate, guid, identityResource, startTarget, SUB, TENANT, type TestTarget } from "../helpers/estate.js";
import { ROOT } from "../helpers/sources.js";

/**
 * The federated credential listing runs in a worker thread (shared/azure/federatedCredentialsThread.ts): the
 * worker started from the build (dist/, as `npm test` builds it first), its calls through the SDK's pipeline to
 * the emulator, while the credential and the run's deadline stay on the main thread.
 */
let target: TestTarget | undefined;
let scratch: string | undefined;
let child: ChildProcess | undefined;
afterEach(async () => {
  await target?.stop();
  target = undefined;
  child?.kill();
  child = undefined;
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

const identityId = (name: string): string => `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
const resources = (count: number): Estate["resources"] =>
  Array.from({ length: count }, (_, n) => identityResource(`id-${n}`, guid(n, "aaaa"), guid(n, "cccc"))) as Estate["resources"];
const identities = (count: number): Identity[] =>
  Array.from({ length: count }, (_, n) => ({
    id: identityId(`id-${n}`),
    name: `id-${n}`,
    subscriptionId: SUB,
    resourceGroup: "rg-app",
    location: "uksouth",
    tags: {},
    principalId: guid(n, "aaaa"),
    clientId: guid(n, "cccc"),
    tenantId: TENANT,
  }));
const ficOf = (n: number) => ({
  id: `${identityId(`id-${n}`)}/federatedIdentityCredentials/github-${n}`,
  name: `github-${n}`,
  type: "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
  properties: { issuer: "https://token.actions.githubusercontent.com", subject: `repo:org/app-${n}:environment:prod`, audiences: ["api://AzureADTokenExchange"] },
});

/** A stand-in worker entry (an ES module file): what a worker that dies or misbehaves does. */
function fakeWorker(source: string): URL {
  scratch ??= mkdtempSync(join(tmpdir(), "uami-guard-fic-worker-"));
  const file = join(scratch, `worker-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, `import { parentPort, workerData } from "node:worker_threads";\n${source}\n`);
  return pathToFileURL(file);
}

describe("the federated credential listing's worker thread", () => {
  it("is started from the build, which the tests run against", () => {
    expect(workerEntry().pathname).toBe(pathToFileURL(join(ROOT, "dist/shared/azure/federatedCredentialsWorker.js")).pathname);
  });

  it("makes the calls while the main thread is busy: the emulator (another process) answers them while this thread is blocked", async () => {
    scratch = mkdtempSync(join(tmpdir(), "uami-guard-fic-worker-"));
    const estateFile = join(scratch, "estate.json");
    writeFileSync(estateFile, JSON.stringify({ tenantId: TENANT, subscriptions: [{ subscriptionId: SUB, displayName: "prod" }], resources: resources(200), federatedCredentials: [ficOf(7)] }));
    // 20 ms an answer, 8 at a time: the listing takes about half a second.
    child = spawn(process.execPath, [join(ROOT, "dist/local/emulator/main.js"), "--estate", estateFile, "--no-warm", "--latency", "20"], { stdio: ["ignore", "pipe", "inherit"] });
    const first = await new Promise<string>((resolve) => createInterface({ input: child!.stdout! }).once("line", resolve));
    const { url, ca, control } = JSON.parse(first) as { url: string; ca: string; control: string };
    const clients = createAzureClients({ kind: "emulator", url, ca });
    let blockedFrom = 0;
    let blockedUntil = 0;
    const listing = listFederatedCredentials(clients, identities(200), {
      onIdentity: () => {
        if (blockedFrom > 0) return;
        // At the first identity listed, nothing of this thread runs for 3 s: no timer, no socket, no message.
        blockedFrom = Date.now();
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3_000);
        blockedUntil = Date.now();
      },
    });
    const { credentials, failed } = await listing;
    expect(failed).toEqual([]);
    expect(credentials.map((credential) => credential.name)).toEqual(["github-7"]);
    const timeline = (await (await fetch(`${control}/timeline`)).json()) as Array<[number, number, string]>;
    const whileBlocked = timeline.filter(([at, status, service]) => service === "arm" && status === 200 && at > blockedFrom && at < blockedUntil);
    // Listed on this thread, not one call could have been sent before it was free again.
    expect(whileBlocked.length).toBeGreaterThanOrEqual(100);
  });

  it("asks the main thread's credential for its tokens, for ARM's scope only", async () => {
    target = await startTarget(emptyEstate({ resources: resources(3), federatedCredentials: [ficOf(1)] } as Partial<Estate>));
    const asked: string[][] = [];
    // Tokens about to expire: the worker cannot keep the first and must ask again.
    const credential = {
      getToken: async (scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> => {
        asked.push(typeof scopes === "string" ? [scopes] : [...scopes]);
        return { token: `main-thread-token-${asked.length}`, expiresOnTimestamp: Date.now() + 60_000 };
      },
    };
    const clients: AzureClients = { ...target.clients, credential };
    const { credentials, failed } = await listFederatedCredentials(clients, identities(3));
    expect(failed).toEqual([]);
    expect(credentials.map((c) => c.name)).toEqual(["github-1"]);
    expect(asked.length).toBeGreaterThanOrEqual(2);
    for (const scopes of asked) expect(scopes).toEqual(target.clients.armGetSettings.scopes);
    // A worker asking for any other scope is refused.
    const refused = await listInWorker(
      clients,
      identities(1),
      {},
      fakeWorker(`
        const { tokens } = workerData;
        tokens.on("message", (reply) => {
          parentPort.postMessage({ type: "listed", results: [[0, { failed: "error" in reply ? reply.error : "a token: " + reply.token.token }]] });
          parentPort.postMessage({ type: "done" });
        });
        tokens.postMessage({ id: 1, scopes: ["https://graph.microsoft.com/.default"] });
      `),
    );
    expect(refused.failed).toEqual([{ identityId: identityId("id-0"), reason: expect.stringMatching(/refused/) }]);
  });

  it("fails safe when the worker dies: what it listed stands, every other identity is failed (unknown), never 'no credentials'", async () => {
    target = await startTarget(emptyEstate({ resources: resources(3) } as Partial<Estate>));
    let progress = 0;
    const died = await listInWorker(
      target.clients,
      identities(3),
      { onIdentity: () => (progress += 1) },
      fakeWorker(`parentPort.postMessage({ type: "listed", results: [[1, []]] }); setTimeout(() => { throw new Error("worker crashed"); }, 20);`),
    );
    expect(died.credentials).toEqual([]);
    expect(died.failed).toEqual([
      { identityId: identityId("id-0"), reason: expect.stringMatching(/not listed: the listing's worker thread stopped \(worker crashed\)/) },
      { identityId: identityId("id-2"), reason: expect.stringMatching(/worker crashed/) },
    ]);
    expect(progress).toBe(3);
    const exited = await listInWorker(target.clients, identities(2), {}, fakeWorker(`process.exit(3);`));
    expect(exited.failed.map((entry) => entry.reason)).toEqual([expect.stringMatching(/exit code 3/), expect.stringMatching(/exit code 3/)]);
  });

  it("fails safe when the worker cannot start", async () => {
    target = await startTarget(emptyEstate({ resources: resources(2) } as Partial<Estate>));
    const listing = await listInWorker(target.clients, identities(2), {}, pathToFileURL(join(tmpdir(), "no-such-dir", "worker.js")));
    expect(listing.credentials).toEqual([]);
    expect(listing.failed.map((entry) => entry.identityId)).toEqual([identityId("id-0"), identityId("id-1")]);
    expect(listing.failed[0]?.reason).toMatch(/not listed: the listing's worker thread/);
  });

  it("stops on the sweep's signal and on the run's deadline, each identity not listed failed with why", async () => {
    target = await startTarget(emptyEstate({ resources: resources(40), emulator: { latencyMs: 150, seed: 1, faults: [] } } as Partial<Estate>));
    const controller = new AbortController();
    let listed = 0;
    const started = Date.now();
    const aborted = await listFederatedCredentials(target.clients, identities(40), {
      concurrencyPerSubscription: 2,
      signal: controller.signal,
      onIdentity: () => {
        listed += 1;
        controller.abort();
      },
    });
    expect(Date.now() - started).toBeLessThan(40 * 150);
    expect(aborted.failed.length).toBeGreaterThan(30);
    for (const { reason } of aborted.failed) expect(reason).toMatch(/abort/i);
    expect(listed).toBe(40);
    const calls = target.emulator.requests.filter((request) => /\/federatedIdentityCredentials$/i.test(request.path));
    expect(calls.length).toBeLessThan(10);

    const late = await withRunDeadline(600, () => listFederatedCredentials(target!.clients, identities(40), { concurrencyPerSubscription: 2 }));
    expect(late.failed.length).toBeGreaterThan(20);
    expect(late.failed.every(({ reason }) => /the run's 600 ms deadline passed \(outcome unknown\)/.test(reason))).toBe(true);
  });

  it("stays inside the subscription's read bucket while the main thread reads the same subscription (no 429)", async () => {
    // The worker's pacers and the main thread's spend from one estimate of the subscription's bucket (20, refill
    // 25/s here), shared memory between the threads (armPacer.ts).
    target = await startTarget(emptyEstate({ resources: resources(200), emulator: { latencyMs: 0, seed: 1, faults: [], armQuota: { reads: [20, 25] } } } as Partial<Estate>));
    const listing = listFederatedCredentials(target.clients, identities(200));
    let mainReads = 0;
    const reader = async (): Promise<void> => {
      for (let n = 0; n < 30; n += 1) {
        await listRoleEligibilities(target!.clients, `/subscriptions/${SUB}`, new Date());
        mainReads += 1;
      }
    };
    const [{ failed }] = await Promise.all([listing, reader(), reader()]);
    expect(failed).toEqual([]);
    expect(mainReads).toBe(60);
    const arm = target.emulator.requests.filter((request) => request.service === "arm");
    expect(arm.filter((request) => /\/federatedIdentityCredentials$/i.test(request.path))).toHaveLength(200);
    expect(arm.filter((request) => request.status === 429)).toEqual([]);
  });
});
