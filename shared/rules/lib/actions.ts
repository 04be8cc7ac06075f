import type { RoleDefinition, RolePermission } from "../../model.js";

/** What matching needs of a permission entry (data actions never grant a control-plane action). */
export type ActionPermission = Pick<RolePermission, "actions" | "notActions">;

// Azure RBAC action matching (docs/rules/privileged-identity-exposed.md; Learn "Azure role definitions", section Actions: the
// wildcard character matches zero or more characters): case-insensitive; `*` matches any run of characters,
// `/` included, possibly empty; `/*/` also matches a single `/`, so Managed Identity Operator's
// `Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action` grants
// `Microsoft.ManagedIdentity/userAssignedIdentities/assign/action`.
const compiled = new Map<string, RegExp>();

function patternRegex(pattern: string): RegExp {
  const cached = compiled.get(pattern);
  if (cached) return cached;
  let source = "";
  for (let at = 0; at < pattern.length; at += 1) {
    const char = pattern[at] ?? "";
    if (char === "/" && pattern[at + 1] === "*" && pattern[at + 2] === "/") {
      // `/*` before a `/`: either nothing or `/` and any run; the closing `/` stays literal, so
      // `a/*/*/b` still matches `a/b`.
      source += "(?:/.*)?";
      at += 1;
    } else if (char === "*") {
      source += ".*";
    } else {
      source += char.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
    }
  }
  const regex = new RegExp(`^${source}$`, "is");
  // Patterns come from role definitions: a few hundred distinct strings in a tenant.
  if (compiled.size < 10_000) compiled.set(pattern, regex);
  return regex;
}

export function actionMatches(pattern: string, action: string): boolean {
  return patternRegex(pattern).test(action);
}

/** The permission entries of a definition. */
export function permissionsOf(definition: RoleDefinition): ActionPermission[] {
  return definition.permissions;
}

/** A role grants A when one entry's actions match A and none of that entry's notActions do. */
export function grantsAction(permissions: readonly ActionPermission[], action: string): boolean {
  return permissions.some(
    (entry) => entry.actions.some((pattern) => actionMatches(pattern, action)) && !entry.notActions.some((pattern) => actionMatches(pattern, action)),
  );
}
