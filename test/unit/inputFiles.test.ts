import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readJsonFile } from "../../shared/config/validation.js";
import { isConnectionString } from "../../cli/runtime.js";

/** Issue 13 point 11: input files and --state values taken as what they are. */
describe("input files", () => {
  it("reads a JSON file saved with a UTF-8 byte-order mark", () => {
    const path = join(mkdtempSync(join(tmpdir(), "uami-guard-bom-")), "estate.json");
    writeFileSync(path, `\uFEFF${JSON.stringify({ tenantId: "t" })}`);
    expect(readJsonFile(path, "estate")).toEqual({ tenantId: "t" });
  });

  it("refuses a device instead of reading it without bound", () => {
    expect(() => readJsonFile("/dev/zero", "estate /dev/zero")).toThrow(/estate \/dev\/zero: not a regular file/);
  });
});

describe("--state", () => {
  it.each([
    ["DefaultEndpointsProtocol=https;AccountName=st;AccountKey=abc==;EndpointSuffix=core.windows.net", true],
    ["UseDevelopmentStorage=true", true],
    ["BlobEndpoint=https://st.blob.core.windows.net/;TableEndpoint=https://st.table.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=t&sig=abc", true],
    ["TableEndpoint=https://st.table.core.windows.net/;SharedAccessSignature=sv=2022&sig=x", true],
    [".uami-guard", false],
    ["/var/lib/uami-guard/state", false],
  ])("%s is a connection string: %s", (state, expected) => {
    expect(isConnectionString(state)).toBe(expected);
  });
});

describe("bad app settings", () => {
  it("name the setting without echoing a secret in its value", async () => {
    const { readAppSettings } = await import("../../shared/config/settings.js");
    const secret = "s3cr3tSignature";
    let message = "";
    try {
      readAppSettings({ TEAMS_WEBHOOK_URL: `http://x.logic.azure.com/w?sig=${secret}` });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/TEAMS_WEBHOOK_URL/);
    expect(message).not.toContain(secret);
  });
});
