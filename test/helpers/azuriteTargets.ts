import { afterAll, afterEach, beforeAll } from "vitest";
import { startAzurite, type RunningAzurite } from "../../local/azurite.js";
import type { Estate } from "../../local/emulator/estate.js";
import type { Deadlines } from "../../shared/azure/deadline.js";
import { TABLES } from "../../shared/composition.js";
import { startTarget, type TestTarget } from "./estate.js";

/**
 * One Azurite for the test file; each test starts its own emulator target on it, and after the test
 * the target stops and the project's tables are dropped so the next test starts clean. `azurite()` is the
 * running Azurite, for a test that puts blobs or messages there itself.
 */
export function azuriteTargets(): { start(estate: Estate, deadlines?: Deadlines): Promise<TestTarget>; azurite(): RunningAzurite } {
  let azurite: RunningAzurite;
  const started: TestTarget[] = [];
  beforeAll(async () => {
    azurite = await startAzurite();
  });
  afterAll(() => azurite.stop());
  afterEach(async () => {
    for (const target of started.splice(0)) {
      for (const table of Object.values(TABLES)) await target.clients.table(table).deleteTable().catch(() => undefined);
      await target.stop();
    }
  });
  return {
    async start(estate, deadlines) {
      const target = await startTarget(estate, azurite.connectionString, deadlines);
      started.push(target);
      return target;
    },
    azurite: () => azurite,
  };
}
