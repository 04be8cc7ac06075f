import { describe, expect, it } from "vitest";
import { reportIdentityLimit } from "../../shared/engine/report.js";

const MB = 2 ** 20;

describe("the report's identity limit", () => {
  it("under the Function App's heap (--max-old-space-size=1024: a 1,072 MB heap limit) takes ~32,000 identities and refuses a million-assignment estate's 100,000", () => {
    const limit = reportIdentityLimit(1072 * MB);
    expect(limit).toBe(32_256);
    expect(limit).toBeLessThan(100_000);
  });

  it("follows the heap it is given, and is never below one", () => {
    expect(reportIdentityLimit(2144 * MB)).toBeGreaterThan(2 * reportIdentityLimit(1072 * MB));
    expect(reportIdentityLimit(16 * MB)).toBe(1);
  });
});
