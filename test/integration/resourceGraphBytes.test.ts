import { request } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EstateStore } from "../../local/emulator/store.js";
import { ResourceGraphRoute } from "../../local/emulator/routes/resourceGraph.js";
import { jsonBytesOf, type EmulatorRequest } from "../../local/emulator/http.js";
import { startEmulator, type RunningEmulator } from "../../local/emulator/server.js";
import { QUERIES } from "../../shared/azure/queries.js";
import { emptyEstate, guid, identityResource } from "../helpers/estate.js";

/**
 * Resource Graph pages are answered from the rows' JSON kept with the cached result, not by
 * stringifying each page: the bytes must stay exactly those of JSON.stringify(the page's body), for
 * strings that need escapes or are not ASCII, for both result formats, and for pages that start and
 * end anywhere (the rows are kept in chunks of 1,000).
 */

const AWKWARD = ["é", "日本語", "😀", '"quoted"', "back\\slash", "line\nbreak", "tab\t", "\u0001", "\u2028", "\ud800", "</script>"];

function estate() {
  const resources = Array.from({ length: 2345 }, (_, n) => {
    const odd = AWKWARD[n % AWKWARD.length] as string;
    return identityResource(`id-${n}-${odd.length}`, guid(n, "aaaa"), guid(n, "cccc"), n % 3 === 0 ? {} : { owner: `team ${odd}`, [`k${odd}`]: odd, "10": "index-like key" });
  });
  return emptyEstate({ resources });
}

function post(query: string, options: Record<string, unknown>): EmulatorRequest {
  const url = new URL("https://127.0.0.1/providers/Microsoft.ResourceGraph/resources?api-version=2022-10-01");
  return { method: "POST", url, path: url.pathname.toLowerCase(), headers: {}, body: { query, options }, rawBody: Buffer.alloc(0) };
}

const UNPAGED = "resources | project name, tags";
const CASES: Array<[string, Record<string, unknown>]> = [
  [QUERIES.identities, {}],
  [QUERIES.identities, { $top: 1000, $skip: 1000 }],
  [QUERIES.identities, { $top: 2, $skip: 999 }],
  [QUERIES.identities, { $top: 1000, $skip: 650 }],
  [QUERIES.identities, { $top: 1000, $skip: 2000 }],
  [QUERIES.identities, { $top: 7, $skip: 5000 }],
  [QUERIES.identities, { $top: 1 }],
  [QUERIES.identities, { $top: 1000, $skip: 1500, resultFormat: "table" }],
  [QUERIES.identities, { $top: 3, $skip: 998, resultFormat: "table" }],
  [UNPAGED, { $top: 5 }],
  [UNPAGED, { $top: 5, resultFormat: "table" }],
  [QUERIES.roleAssignmentCount, {}],
];

describe("Resource Graph pages from the kept JSON of the rows", () => {
  it("are byte for byte JSON.stringify of the page's body, before and after every row is serialized", () => {
    const route = new ResourceGraphRoute(new EstateStore(estate()));
    for (const round of ["lazily", "all at once"]) {
      if (round === "all at once") route.serializeCached();
      for (const [query, options] of CASES) {
        const response = route.handle(post(query, options));
        expect(response.status).toBe(200);
        const bytes = jsonBytesOf(response.body);
        expect(bytes.equals(Buffer.from(JSON.stringify(response.body))), `${round}: ${query.slice(0, 30)} ${JSON.stringify(options)}`).toBe(true);
      }
    }
  });

  it("keeps the body a fault or a test sees, and a copy of it is serialized afresh", () => {
    const route = new ResourceGraphRoute(new EstateStore(estate()));
    const body = route.handle(post(QUERIES.identities, { $top: 2 })).body as { count: number; data: Array<{ name: string }> };
    expect(body.count).toBe(2);
    expect(body.data.map((row) => row.name)).toEqual(["id-0-1", "id-1-3"]);
    expect(Object.keys(body)).toEqual(["totalRecords", "count", "resultTruncated", "$skipToken", "data", "facets"]);
    const copy = { ...body, count: 99 };
    expect(jsonBytesOf(copy).toString("utf8")).toBe(JSON.stringify(copy));
  });

  describe("over HTTPS", () => {
    let emulator: RunningEmulator;
    beforeAll(async () => {
      emulator = await startEmulator(estate());
    });
    afterAll(async () => {
      await emulator.stop();
    });

    it("sends exactly the bytes a fresh JSON.stringify of the same answer makes, with their length", async () => {
      const reference = new ResourceGraphRoute(new EstateStore(estate()));
      for (const [query, options] of CASES) {
        const { status, length, bytes } = await send(emulator, { query, options });
        expect(status).toBe(200);
        const expected = Buffer.from(JSON.stringify(reference.handle(post(query, options)).body));
        expect(bytes.equals(expected), `${query.slice(0, 30)} ${JSON.stringify(options)}`).toBe(true);
        expect(length).toBe(String(bytes.length));
      }
    });
  });
});

function send(emulator: RunningEmulator, body: unknown): Promise<{ status: number; length: string | undefined; bytes: Buffer }> {
  const text = JSON.stringify(body);
  const url = new URL("/providers/Microsoft.ResourceGraph/resources?api-version=2022-10-01", emulator.url);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: "POST", ca: emulator.ca, headers: { authorization: "Bearer test", "content-type": "application/json", "content-length": Buffer.byteLength(text) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, length: res.headers["content-length"], bytes: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(text);
  });
}
