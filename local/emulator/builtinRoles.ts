import builtInRoles from "./data/builtin-roles.json" with { type: "json" };
import type { EstateRoleDefinition } from "./estate.js";
import { roleDefinitionSchema } from "./estate.js";

/**
 * Every built-in role of data/builtin-roles.json (copied from Microsoft's published definitions;
 * sources in data/builtin-roles-SOURCES.md), as ARM serves them: id at the root, not under a
 * subscription, with their real permission lists.
 */
const BUILT_IN: readonly EstateRoleDefinition[] = Object.freeze(
  (builtInRoles as unknown[]).map((definition) => roleDefinitionSchema.parse(definition)),
);

export function builtInRoleDefinitions(): EstateRoleDefinition[] {
  return BUILT_IN.map((definition) => structuredClone(definition));
}

const BUILT_IN_GUIDS = new Set(BUILT_IN.map((definition) => definition.name.toLowerCase()));

export function isBuiltInRole(guid: string): boolean {
  return BUILT_IN_GUIDS.has(guid.toLowerCase());
}
