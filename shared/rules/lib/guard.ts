import type { CorePolicy as Policy } from "../../config/policyCore.js";
import type { OperationEntry } from "../../events/operations.js";
import { canonicalIdProblem } from "../../events/resourceEvent.js";
import { subscriptionOf } from "../../model.js";

/**
 * What the guard is made of (docs/rules/governance-tampering.md): `self.resources` (ids or id prefixes) and the
 * Function App. Pure: the event processor and the rule share it, so an event is only "ignored" when the rule
 * could not report it.
 */
export function guardResources(policy: Policy): string[] {
  const own = [...policy.self.resources, ...(policy.self.functionAppId ? [policy.self.functionAppId] : [])];
  return own.map((entry) => entry.replace(/\/+$/, "")).filter((entry) => entry !== "");
}

function within(id: string, prefix: string): boolean {
  const uri = id.toLowerCase();
  const scope = prefix.toLowerCase();
  return uri === scope || uri.startsWith(`${scope}/`);
}

/** The entry of the guard's resources that contains `id`, by prefix ending at a segment, case-insensitively. */
export function ownResourcePrefix(id: string, policy: Policy): string | undefined {
  // A prefix says nothing about an id that `..` or `//` can move elsewhere (docs/guarantees.md "Canonical ids only").
  if (canonicalIdProblem(id)) return undefined;
  return guardResources(policy).find((entry) => within(id, entry));
}

/** `…/providers/Microsoft.Authorization/locks/<name>` (or policyAssignments) → the scope it applies to; `/` for the root. */
export function extensionScope(id: string): string | undefined {
  const at = id.toLowerCase().lastIndexOf("/providers/microsoft.authorization/");
  if (at < 0) return undefined;
  return id.slice(0, at) || "/";
}

/** `/providers/Microsoft.Management/managementGroups/<name>` (a lock's or policy assignment's scope) → `<name>`. */
export function managementGroupOf(scope: string): string | undefined {
  return /^\/providers\/microsoft\.management\/managementgroups\/([^/]+)$/i.exec(scope)?.[1];
}

/** The subscriptions the guard's resources live in (a management group above one of them contains the guard). */
export function guardSubscriptions(policy: Policy): string[] {
  const ids = guardResources(policy).map((resource) => subscriptionOf(resource)?.toLowerCase() ?? "");
  return [...new Set(ids.filter((id) => id !== ""))];
}

/**
 * A lock or policy assignment whose scope contains a guard resource (the subscription or resource group the guard
 * lives in, or the resource itself): the first guard resource it reaches, by id alone. A management group's scope
 * needs the subscriptions' ancestry, which the event processor reads (EventFacts.guardManagementGroup).
 */
export function guardResourceUnderScope(id: string, policy: Policy): string | undefined {
  if (canonicalIdProblem(id)) return undefined;
  const scope = extensionScope(id);
  if (scope === undefined) return undefined;
  return guardResources(policy).find((resource) => scope === "/" || within(resource, scope));
}

/**
 * Whether an operation can matter at all: the guard's own operations (resource changes, locks and policy
 * assignments) only on or above the guard's resources; everything else (identity, role and attachment changes,
 * custom roles the guard may hold) always.
 */
export function eventMatters(operation: OperationEntry, resourceUri: string, policy: Policy): boolean {
  switch (operation.kind) {
    case "resource-change":
      return ownResourcePrefix(resourceUri, policy) !== undefined;
    case "guard-scope-write":
      return (
        ownResourcePrefix(resourceUri, policy) !== undefined ||
        guardResourceUnderScope(resourceUri, policy) !== undefined ||
        (managementGroupOf(extensionScope(resourceUri) ?? "") !== undefined && !canonicalIdProblem(resourceUri) && guardSubscriptions(policy).length > 0)
      );
    case "role-definition-change":
      return policy.self.objectId !== undefined;
    default:
      return true;
  }
}
