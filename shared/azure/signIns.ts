import type { AzureClients } from "./clients.js";
import { toServiceCallFailed } from "../errors.js";

/** Last sign-in per managed identity's service principal (Learn: AADManagedIdentitySignInLogs). */
export function signInQuery(lookbackDays: number): string {
  return `AADManagedIdentitySignInLogs
| where TimeGenerated > ago(${lookbackDays}d)
| summarize LastSignIn = max(TimeGenerated) by ServicePrincipalId`;
}

/** Last sign-in per managed-identity service principal (lower-case id) within the lookback window. */
export async function readLastSignIns(clients: AzureClients, workspaceId: string, lookbackDays: number): Promise<Map<string, Date>> {
  const { LogsQueryResultStatus } = await import("@azure/monitor-query-logs");
  let result;
  try {
    result = await (await clients.logsQuery()).queryWorkspace(workspaceId, signInQuery(lookbackDays), { duration: `P${lookbackDays}D` });
  } catch (error) {
    throw toServiceCallFailed("logAnalytics", error);
  }
  if (result.status !== LogsQueryResultStatus.Success) throw toServiceCallFailed("logAnalytics", new Error(`query status ${result.status}`));
  const lastSignIns = new Map<string, Date>();
  for (const table of result.tables) {
    const idColumn = table.columnDescriptors.findIndex((column) => column.name === "ServicePrincipalId");
    const timeColumn = table.columnDescriptors.findIndex((column) => column.name === "LastSignIn");
    if (idColumn < 0 || timeColumn < 0) continue;
    for (const row of table.rows) {
      const id = row[idColumn];
      const time = row[timeColumn];
      const when = time instanceof Date ? time : new Date(String(time));
      if (typeof id === "string" && !Number.isNaN(when.getTime())) lastSignIns.set(id.toLowerCase(), when);
    }
  }
  return lastSignIns;
}
