import directoryRoles from "../data/entra-directory-roles.json" with { type: "json" };
import graphAppRoles from "../data/graph-app-roles.json" with { type: "json" };

/**
 * Tiers of Entra directory roles and Microsoft Graph application permissions, from data/entra-directory-roles.json and
 * data/graph-app-roles.json (each entry names its Learn source; how the ids were checked and the tiers chosen is in
 * data/privilege-SOURCES.md §1–2). Roles and permissions not listed do not grade an identity.
 */
export type Tier = "critical" | "high";

export interface TieredRole {
  /** The directory role's name or the app role's value (`RoleManagement.ReadWrite.Directory`). */
  name: string;
  tier: Tier;
}

/** Microsoft Graph's application id: its service principal is the resource of Graph application permissions. */
export const MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";

const tierOf = (value: string): Tier => (value === "critical" ? "critical" : "high");
const DIRECTORY_ROLES = new Map((directoryRoles as Array<{ name: string; templateId: string; tier: string }>).map((role) => [role.templateId.toLowerCase(), { name: role.name, tier: tierOf(role.tier) }]));
const GRAPH_APP_ROLES = new Map((graphAppRoles as Array<{ value: string; id: string; tier: string }>).map((role) => [role.id.toLowerCase(), { name: role.value, tier: tierOf(role.tier) }]));

/** A directory role by its template id (the `roleDefinitionId` of a built-in role's assignment). */
export function directoryRole(templateId: string): TieredRole | undefined {
  return DIRECTORY_ROLES.get(templateId.toLowerCase());
}

/** A Microsoft Graph application permission by its app role id. */
export function graphAppRole(appRoleId: string): TieredRole | undefined {
  return GRAPH_APP_ROLES.get(appRoleId.toLowerCase());
}
