import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QueueClient } from "@azure/storage-queue";
import { startAzurite, type RunningAzurite } from "../../local/azurite.js";
import { generateHostKeys, startHost } from "../../local/host.js";

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(() => azurite.stop());

describe("the local host's queue trigger", () => {
  it("retries a failing message and moves it to the poison queue after maxDequeueCount attempts", async () => {
    const queue = new QueueClient(azurite.connectionString, "host-test");
    const poison = new QueueClient(azurite.connectionString, "host-test-poison");
    await queue.createIfNotExists();
    const seen: unknown[] = [];
    const logs: string[] = [];
    const host = await startHost(
      {
        eventGrid: {},
        timers: {},
        http: {},
        queues: {
          work: {
            queue,
            poison,
            maxDequeueCount: 2,
            handler: async (message) => {
              seen.push(message);
              if ((message as { fail?: boolean }).fail) throw new Error("boom");
            },
          },
        },
      },
      { port: 0, log: (_level, message) => logs.push(message), keys: generateHostKeys() },
    );
    try {
      await queue.sendMessage(Buffer.from(JSON.stringify({ fail: true })).toString("base64"));
      await queue.sendMessage(Buffer.from(JSON.stringify({ fail: false })).toString("base64"));
      // The host moves the message (poison send, delete) and then logs it: wait for the log line, the
      // last step, not for the poison message, which appears before the delete and the log.
      const moved = (): boolean => logs.some((line) => /moved to the poison queue after 2 attempts/.test(line));
      const deadline = Date.now() + 20_000;
      while (!moved() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      const poisoned = (await poison.peekMessages({ numberOfMessages: 10 })).peekedMessageItems.length;
      expect(poisoned).toBe(1);
      expect(seen.filter((message) => (message as { fail: boolean }).fail)).toHaveLength(2);
      expect(seen.filter((message) => !(message as { fail: boolean }).fail)).toHaveLength(1);
      expect(logs.some((line) => /moved to the poison queue after 2 attempts/.test(line))).toBe(true);
      expect((await queue.peekMessages({ numberOfMessages: 10 })).peekedMessageItems).toHaveLength(0);
    } finally {
      await host.stop();
    }
  }, 30_000);
});
