import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAzurite, type RunningAzurite } from "../../local/azurite.js";
import { createAzureClients } from "../../shared/azure/clients.js";

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(() => azurite.stop());

describe("Azurite started by the project", () => {
  it("serves tables and queues to the SDK clients the app uses", async () => {
    const clients = createAzureClients({ kind: "emulator", url: "https://127.0.0.1:1", ca: "", storageConnectionString: azurite.connectionString });
    const table = clients.table("smoke");
    await table.createTable();
    await table.upsertEntity({ partitionKey: "p", rowKey: "r", value: 42 });
    expect((await table.getEntity<{ value: number }>("p", "r")).value).toBe(42);
    const queue = clients.queue("smoke");
    await queue.createIfNotExists();
    await queue.sendMessage("hello");
    const received = await queue.receiveMessages();
    expect(received.receivedMessageItems[0]?.messageText).toBe("hello");
  });
});
