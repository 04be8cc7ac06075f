import type { Inventory, InventoryIdentity } from "../shared/inventoryBuilder.js";
import { renderCsv, renderTable, tableLayout, type Column, type TableLayout } from "./format.js";

export type InventoryFormat = "json" | "table" | "csv";

/** The identity's name gets what the ids and counts leave of the layout's width (the detail line has its whole id). */
function columns(inventory: Inventory, layout: TableLayout): Column<InventoryIdentity>[] {
  const fixed = 36 + 36 + 8 + 5 + 3 + 5;
  const longest = Math.max(8, ...inventory.identities.map((identity) => identity.name.length));
  return [
    { header: "IDENTITY", width: Math.max(8, Math.min(longest, layout.width - fixed)), value: (identity) => identity.name },
    { header: "CLIENT ID", width: 36, value: (identity) => identity.clientId },
    { header: "PRINCIPAL ID", width: 36, value: (identity) => identity.principalId },
    { header: "ATTACHED", width: 8, align: "right", value: (identity) => String(identity.attachedTo.length) },
    { header: "ROLES", width: 5, align: "right", value: (identity) => String(identity.roleAssignments.length) },
    { header: "FIC", width: 3, align: "right", value: (identity) => String(identity.federatedCredentials.length) },
  ];
}

function tagText(identity: InventoryIdentity): string {
  return Object.entries(identity.tags)
    .map(([key, value]) => `${key}=${value}`)
    .join(";");
}

/** One right in a CSV cell: principal|type|right|role|scope|resource. */
function exposureText(entry: InventoryIdentity["exposure"][number]): string {
  return [entry.principalId, entry.principalType, entry.right, entry.roleName, entry.scope, entry.resourceId ?? ""].join("|");
}

export function renderInventory(inventory: Inventory, format: InventoryFormat, layout: TableLayout = tableLayout()): string {
  if (format === "json") return `${JSON.stringify(inventory, null, 2)}\n`;
  if (format === "table") {
    const table = renderTable(inventory.identities, columns(inventory, layout), (identity) => identity.id, false, layout);
    return `${table}${inventory.identities.length} identities\n`;
  }
  const header = [
    "identityName", "identityId", "subscriptionId", "resourceGroup", "location", "clientId", "principalId", "tags",
    "attachedTo", "federatedCredentials", "roleAssignmentId", "roleName", "roleDefinitionId", "scope", "grade", "exposure",
  ];
  const rows = inventory.identities.flatMap((identity) => {
    const base = [
      identity.name, identity.id, identity.subscriptionId, identity.resourceGroup, identity.location, identity.clientId,
      identity.principalId, tagText(identity), identity.attachedTo.join(";"),
      identity.federatedCredentials.map((credential) => `${credential.issuer}|${credential.subject}`).join(";"),
    ];
    const exposure = [identity.grade ?? "", identity.exposure.map(exposureText).join(";")];
    if (identity.roleAssignments.length === 0) return [[...base, "", "", "", "", ...exposure]];
    return identity.roleAssignments.map((assignment) => [
      ...base, assignment.id, assignment.roleName ?? "", assignment.roleDefinitionId, assignment.scope, ...exposure,
    ]);
  });
  return renderCsv(header, rows);
}
