import { describe, expect, it } from "vitest";
import { summarize } from "../../bench/profileSummary.js";

const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber });

// The shape `node --cpu-prof` writes: nodes, samples (node ids), timeDeltas in µs.
const profile = {
  nodes: [
    { id: 1, callFrame: frame("(root)", "") },
    { id: 2, callFrame: frame("(garbage collector)", "") },
    { id: 3, callFrame: frame("writeResponse", "file:///repo/dist/local/emulator/http.js", 13) },
    { id: 4, callFrame: frame("sendRequest", "file:///repo/node_modules/@azure/core-rest-pipeline/dist/esm/nodeHttpClient.js", 64) },
  ],
  startTime: 0,
  endTime: 4_000_000,
  samples: [3, 3, 4, 2],
  timeDeltas: [1_000_000, 1_000_000, 1_000_000, 1_000_000],
};

describe("bench/profileSummary", () => {
  it("sums self time by package or dist file and by function", () => {
    const { seconds, byPlace, byFunction } = summarize(profile);
    expect(seconds).toBeCloseTo(4);
    expect(byPlace.get("local/emulator/http.js")).toBeCloseTo(2);
    expect(byPlace.get("@azure/core-rest-pipeline")).toBeCloseTo(1);
    expect(byPlace.get("(garbage collector)")).toBeCloseTo(1);
    expect(byFunction.get("writeResponse local/emulator/http.js:14")).toBeCloseTo(2);
  });

  it("keeps only the last seconds when asked (the emulator's profile starts with generating the estate)", () => {
    const { seconds, byPlace } = summarize(profile, 1.5);
    expect(seconds).toBeCloseTo(2);
    expect(byPlace.has("local/emulator/http.js")).toBe(false);
  });
});
