import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ChildFailed, runChild } from "../../bench/processes.js";

// `npm run bench` runs every measurement in a child: one that fails (out of heap at 1M, say) must come back as a
// reason the report can show, so the run goes on to the next size and writes its report.
const dir = mkdtempSync(join(tmpdir(), "uami-bench-child-"));
const script = (name: string, text: string): string => {
  const path = join(dir, `${name}.mjs`);
  writeFileSync(path, text);
  return path;
};
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("bench child runner", () => {
  it("hands back the last JSON line a child prints", async () => {
    const path = script("ok", 'process.stdout.write("progress\\n{\\"wallMs\\":12}\\n");');
    await expect(runChild<{ wallMs: number }>("ok", [], { script: path, timeoutMs: 30_000 })).resolves.toEqual({ wallMs: 12 });
  });

  it("reports a child that runs out of heap as such, with the cap it ran under", async () => {
    const path = script("oom", "const keep = []; for (;;) keep.push(new Array(100_000).fill({ at: keep.length }));");
    const failed = await runChild("sweepChild", [], { script: path, nodeFlags: ["--max-old-space-size=16"], timeoutMs: 60_000 }).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(ChildFailed);
    expect((failed as ChildFailed).reason).toBe("ran out of heap (--max-old-space-size=16)");
    expect((failed as ChildFailed).message).toMatch(/^sweepChild ran out of heap/);
  });

  it("reports an exit code, a missing result and a timeout", async () => {
    const exits = script("exit", "process.exitCode = 3;");
    await expect(runChild("exit", [], { script: exits, timeoutMs: 30_000 })).rejects.toMatchObject({ reason: "exited with 3" });
    const silent = script("silent", 'process.stdout.write("no result\\n");');
    await expect(runChild("silent", [], { script: silent, timeoutMs: 30_000 })).rejects.toMatchObject({ reason: "printed no result" });
    const hangs = script("hang", "setInterval(() => undefined, 1000);");
    await expect(runChild("hang", [], { script: hangs, timeoutMs: 500 })).rejects.toMatchObject({ reason: "did not finish within 500 ms" });
  });
});
