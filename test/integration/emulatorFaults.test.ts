import { request } from "node:https";
import { afterEach, describe, expect, it } from "vitest";
import { parseEstate, type Estate } from "../../local/emulator/estate.js";
import { startEmulator, type RunningEmulator } from "../../local/emulator/server.js";
import { IDS, cleanupEstate } from "../helpers/cleanupEstate.js";

/**
 * docs/estate-format.md `emulator.faults`: `method`, `pathContains` (case-insensitive), `status` with
 * `afterApply`, `reset` (optionally after applying), `hangMs`. Raw HTTPS here, so what the emulator
 * does is seen without an SDK's retries in between.
 */
const started: RunningEmulator[] = [];
afterEach(async () => {
  for (const emulator of started.splice(0)) await emulator.stop();
});

async function emulatorWith(faults: unknown[]): Promise<RunningEmulator> {
  const base: Estate = cleanupEstate();
  const emulator = await startEmulator(parseEstate({ ...base, emulator: { ...base.emulator, faults } }, "faulty estate"));
  started.push(emulator);
  return emulator;
}

type Answer = { status: number; body: string } | { reset: true } | { timedOut: true };

function call(emulator: RunningEmulator, method: string, path: string, options: { body?: unknown; timeoutMs?: number } = {}): Promise<Answer> {
  return new Promise((resolve) => {
    const url = new URL(path, emulator.url);
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = request(
      url,
      { method, ca: emulator.ca, agent: false, headers: { authorization: "Bearer t", ...(payload ? { "content-type": "application/json" } : {}) } },
      (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", () => resolve({ reset: true }));
    if (options.timeoutMs !== undefined) {
      req.setTimeout(options.timeoutMs, () => {
        resolve({ timedOut: true });
        req.destroy();
      });
    }
    req.end(payload);
  });
}

const ASSIGNMENT = `${IDS.orphan}?api-version=2022-04-01`;
const VM = `${IDS.vm}?api-version=2024-07-01`;
const exists = (emulator: RunningEmulator): boolean => emulator.store.roleAssignments.has(IDS.orphan.toLowerCase());

describe("emulator fault effects", () => {
  it("`method` and case-insensitive `pathContains` pick the requests a fault applies to", async () => {
    const emulator = await emulatorWith([{ service: "arm", status: 503, method: "DELETE", pathContains: "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS", retryAfterSeconds: 0 }]);
    expect(await call(emulator, "GET", ASSIGNMENT)).toMatchObject({ status: 200 });
    expect(await call(emulator, "GET", VM)).toMatchObject({ status: 200 });
    expect(await call(emulator, "DELETE", ASSIGNMENT)).toMatchObject({ status: 503 });
    expect(exists(emulator)).toBe(true);
  });

  it("`status` alone answers instead of doing the request; with `afterApply` the change happens first", async () => {
    const instead = await emulatorWith([{ service: "arm", status: 500, method: "DELETE", count: 1 }]);
    expect(await call(instead, "DELETE", ASSIGNMENT)).toMatchObject({ status: 500 });
    expect(exists(instead)).toBe(true);

    const after = await emulatorWith([{ service: "arm", status: 500, method: "DELETE", count: 1, afterApply: true }]);
    expect(await call(after, "DELETE", ASSIGNMENT)).toMatchObject({ status: 500 });
    expect(exists(after)).toBe(false);
    // count: 1 — the retry sees the real state: ARM answers 204 for a role assignment already gone.
    expect(await call(after, "DELETE", ASSIGNMENT)).toMatchObject({ status: 204 });
  });

  it("`reset` destroys the connection without an answer, before or after applying", async () => {
    const before = await emulatorWith([{ service: "arm", reset: true, method: "DELETE", count: 1 }]);
    expect(await call(before, "DELETE", ASSIGNMENT)).toEqual({ reset: true });
    expect(exists(before)).toBe(true);

    const after = await emulatorWith([{ service: "arm", reset: true, afterApply: true, method: "PATCH", count: 1 }]);
    const detach = { identity: { type: "SystemAssigned, UserAssigned", userAssignedIdentities: { [IDS.extra]: null } } };
    expect(await call(after, "PATCH", VM, { body: detach })).toEqual({ reset: true });
    const vm = after.store.snapshot().resources.find((resource) => resource.id.toLowerCase() === IDS.vm.toLowerCase());
    expect(Object.keys((vm?.identity as { userAssignedIdentities?: object }).userAssignedIdentities ?? {}).map((key) => key.toLowerCase())).not.toContain(IDS.extra.toLowerCase());
  });

  it("`hangMs` answers late; a client that gives up first has nothing applied", async () => {
    const late = await emulatorWith([{ service: "arm", hangMs: 300, method: "GET", count: 1 }]);
    const started = Date.now();
    expect(await call(late, "GET", ASSIGNMENT)).toMatchObject({ status: 200 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);

    const stalled = await emulatorWith([{ service: "arm", hangMs: 60_000, method: "DELETE", count: 1 }]);
    expect(await call(stalled, "DELETE", ASSIGNMENT, { timeoutMs: 200 })).toEqual({ timedOut: true });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(exists(stalled)).toBe(true);
  });

  it("rejects a fault without an effect, and afterApply without status or reset", () => {
    const base = cleanupEstate();
    expect(() => parseEstate({ ...base, emulator: { faults: [{ service: "arm" }] } }, "e")).toThrow(/one effect/);
    expect(() => parseEstate({ ...base, emulator: { faults: [{ service: "arm", hangMs: 5, afterApply: true }] } }, "e")).toThrow(/afterApply/);
  });
});
