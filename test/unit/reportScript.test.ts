import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CLIENT_MODULE, clientModule, compileClientScript } from "../../tools/reportScript.js";
import { CLIENT_SCRIPT, SCRIPT_HASH } from "../../shared/report/clientScript.js";

describe("the report page's script (shared/report/client.ts, compiled into clientScript.ts)", () => {
  it("clientScript.ts is what client.ts compiles to (else: npm run report-script)", async () => {
    expect(readFileSync(CLIENT_MODULE, "utf8")).toBe(clientModule(await compileClientScript()));
  });

  it("is a classic script (no module syntax) whose hash is the one the CSP names", () => {
    expect(CLIENT_SCRIPT).not.toMatch(/^\s*(import|export)\b/m);
    expect(CLIENT_SCRIPT).not.toMatch(/<\/script|<!--/i);
    expect(SCRIPT_HASH).toBe(`sha256-${createHash("sha256").update(CLIENT_SCRIPT).digest("base64")}`);
  });

  it("refuses a script that would end its own element", async () => {
    await expect(compileClientScript('const closing = "</script>";\n')).rejects.toThrow(/must not contain <\/script/);
  });
});
