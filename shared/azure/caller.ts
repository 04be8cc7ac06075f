import type { AzureClients } from "./clients.js";

/**
 * Who this run acts as, for the journal: the object id (and app id) in the ARM token the clients
 * use. The token is only decoded, never logged. The emulator's token is not a JWT.
 */
export async function actingIdentity(clients: AzureClients): Promise<string> {
  if (clients.target === "emulator") return "local-emulator";
  try {
    const token = await clients.credential.getToken("https://management.azure.com/.default");
    const payload = token?.token.split(".")[1];
    if (!payload) return "unknown";
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
    const parts = [
      typeof claims["oid"] === "string" ? `oid ${claims["oid"]}` : undefined,
      typeof claims["appid"] === "string" ? `appid ${claims["appid"]}` : undefined,
      typeof claims["upn"] === "string" ? `upn ${claims["upn"]}` : undefined,
    ].filter((part): part is string => part !== undefined);
    return parts.length > 0 ? parts.join(", ") : "unknown";
  } catch {
    return "unknown";
  }
}
