import { mkdtempSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveState } from "../../cli/preflight.js";

/**
 * `--state` connection strings are checked before any work, with the storage SDK's own parser
 * (@azure/data-tables `TableClient.fromConnectionString`, which makes no request) and what it lets
 * through but a request would fail on. Learn, "Configure Azure Storage connection strings":
 * https://learn.microsoft.com/azure/storage/common/storage-configure-connection-string
 */
describe("--state connection strings", () => {
  const KEY = "bm90YmFzZTY0";
  it.each([
    ["an endpoint that is not a URL", `AccountName=x;AccountKey=${KEY};TableEndpoint=ftp:/bad`, /TableEndpoint is not an http\(s\) URL/],
    ["an account key that is not base64", "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=not base64!!;EndpointSuffix=core.windows.net", /AccountKey is not base64/],
    ["an account key without a protocol", `AccountName=x;AccountKey=${KEY};TableEndpoint=https://x.table.core.windows.net`, /needs DefaultEndpointsProtocol/],
    ["no endpoint suffix and no endpoint (the SDK's parser)", `DefaultEndpointsProtocol=https;AccountName=x;AccountKey=${KEY}`, /Invalid EndpointSuffix/],
    ["a protocol other than http(s)", `DefaultEndpointsProtocol=ftp;AccountName=x;AccountKey=${KEY};EndpointSuffix=core.windows.net`, /DefaultEndpointsProtocol must be https or http/],
    ["a SAS without a table endpoint", "BlobEndpoint=https://x.blob.core.windows.net;SharedAccessSignature=sv=2022&sig=x", /needs TableEndpoint/],
  ])("%s is refused naming the key, never the value", (_name, state, message) => {
    let error: Error | undefined;
    try {
      resolveState(state);
    } catch (caught) {
      error = caught as Error;
    }
    expect(error?.message).toMatch(/^--state: connection string is not usable: /);
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toContain(KEY);
    expect(error?.message).not.toContain("sig=x");
  });

  it.each([
    "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=abc==;EndpointSuffix=core.windows.net",
    "UseDevelopmentStorage=true",
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;",
    "TableEndpoint=https://st.table.core.windows.net/;SharedAccessSignature=sv=2022&sig=x",
  ])("%s is taken", (state) => {
    expect(resolveState(state)).toEqual({ kind: "connection", connectionString: state });
  });

  it("a name with ';' or '=' that is no directory yet is a typo, not a new directory; an existing one is taken", () => {
    const base = mkdtempSync(join(tmpdir(), "uami-guard-state-"));
    expect(() => resolveState(join(base, "typo;;"))).toThrow(/neither a directory nor a storage connection string/);
    const existing = join(base, "a=b");
    mkdirSync(existing);
    expect(resolveState(existing)).toEqual({ kind: "directory", directory: existing });
  });
});
