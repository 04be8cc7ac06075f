import type { EstateStore } from "./store.js";

/**
 * Which rows a Resource Graph request may see: its `subscriptions`, its `managementGroups`, or (neither)
 * the whole tenant; and, for authorization resources, `options.authorizationScopeFilter` (REST
 * QueryRequestOptions; @azure/arm-resourcegraph AuthorizationScopeFilter): AtScopeAndBelow (the
 * default), AtScopeAndAbove, AtScopeExact, AtScopeAboveAndBelow. "Above" a subscription are the
 * management groups of its `managementGroupAncestorsChain` and the tenant root (`/`); built-in role
 * definitions live at the root.
 */

export type AuthorizationScopeFilter = "AtScopeAndBelow" | "AtScopeAndAbove" | "AtScopeExact" | "AtScopeAboveAndBelow";
export const AUTHORIZATION_SCOPE_FILTERS: readonly AuthorizationScopeFilter[] = ["AtScopeAndBelow", "AtScopeAndAbove", "AtScopeExact", "AtScopeAboveAndBelow"];

export type RequestScope = { kind: "tenant" } | { kind: "subscriptions"; ids: ReadonlySet<string> } | { kind: "managementGroups"; names: ReadonlySet<string> };

const MG_PREFIX = "/providers/microsoft.management/managementgroups/";

/** A role assignment's or definition's scope, parsed once (lower case). */
export type RbacScope = { kind: "root" } | { kind: "managementGroup"; name: string } | { kind: "subscription"; id: string; exact: boolean };

/** Parsed in place (every role assignment of a scan passes through here): only the parts needed are lower-cased. */
export function parseRbacScope(scope: string): RbacScope {
  const end = scope.endsWith("/") ? scope.length - 1 : scope.length;
  if (end <= 0) return { kind: "root" };
  if (end > 15 && scope.slice(0, 15).toLowerCase() === "/subscriptions/") {
    const slash = scope.indexOf("/", 15);
    const exact = slash < 0 || slash >= end;
    return { kind: "subscription", id: scope.slice(15, exact ? end : slash).toLowerCase(), exact };
  }
  if (end > MG_PREFIX.length && scope.slice(0, MG_PREFIX.length).toLowerCase() === MG_PREFIX) {
    const slash = scope.indexOf("/", MG_PREFIX.length);
    return { kind: "managementGroup", name: scope.slice(MG_PREFIX.length, slash < 0 || slash > end ? end : slash).toLowerCase() };
  }
  return { kind: "root" };
}

/** The subscription a scope or id is in (lower case), or "". */
export function subscriptionIn(scopeOrId: string): string {
  if (scopeOrId.length < 15 || scopeOrId.slice(0, 15).toLowerCase() !== "/subscriptions/") return "";
  const end = scopeOrId.indexOf("/", 15);
  return (end < 0 ? scopeOrId.slice(15) : scopeOrId.slice(15, end)).toLowerCase();
}

/** The management-group tree as the subscriptions' ancestor chains describe it. */
export class ManagementGroupTree {
  /** Each subscription's management groups, nearest first (lower case). */
  private readonly chains = new Map<string, string[]>();
  /** Each management group's ancestors (lower case). */
  private readonly ancestors = new Map<string, Set<string>>();

  constructor(store: EstateStore) {
    for (const subscription of store.subscriptions) {
      const chain = (subscription.managementGroupAncestorsChain ?? []).map((entry) => entry.name.toLowerCase());
      this.chains.set(subscription.subscriptionId.toLowerCase(), chain);
      chain.forEach((name, index) => {
        const above = this.ancestors.get(name) ?? new Set<string>();
        for (const ancestor of chain.slice(index + 1)) above.add(ancestor);
        this.ancestors.set(name, above);
      });
    }
  }

  chainOf(subscriptionId: string): readonly string[] {
    return this.chains.get(subscriptionId) ?? [];
  }

  /** Whether `group` is `of` or below it. */
  atOrBelow(group: string, of: string): boolean {
    return group === of || (this.ancestors.get(group)?.has(of) ?? false);
  }

  subscriptionUnder(subscriptionId: string, groups: ReadonlySet<string>): boolean {
    return this.chainOf(subscriptionId).some((group) => groups.has(group));
  }
}

/** Whether a row of a non-authorization table in this subscription (or management group) is in scope. */
export function inRequestScope(scope: RequestScope, tree: ManagementGroupTree, subscriptionId: string, managementGroup?: string): boolean {
  switch (scope.kind) {
    case "tenant":
      return true;
    case "subscriptions":
      return subscriptionId !== "" && scope.ids.has(subscriptionId);
    case "managementGroups":
      if (managementGroup !== undefined) return [...scope.names].some((name) => tree.atOrBelow(managementGroup, name));
      return subscriptionId !== "" && tree.subscriptionUnder(subscriptionId, scope.names);
  }
}

/** Where an RBAC scope lies relative to the request's scope. */
function relation(scope: RequestScope, tree: ManagementGroupTree, rbac: RbacScope): "at" | "below" | "above" | "outside" {
  if (scope.kind === "tenant") return "at";
  if (rbac.kind === "root") return "above";
  if (scope.kind === "subscriptions") {
    if (rbac.kind === "subscription") return scope.ids.has(rbac.id) ? (rbac.exact ? "at" : "below") : "outside";
    for (const id of scope.ids) if (tree.chainOf(id).includes(rbac.name)) return "above";
    return "outside";
  }
  if (rbac.kind === "subscription") return tree.subscriptionUnder(rbac.id, scope.names) ? "below" : "outside";
  if (scope.names.has(rbac.name)) return "at";
  for (const name of scope.names) {
    if (tree.atOrBelow(rbac.name, name)) return "below";
    if (tree.atOrBelow(name, rbac.name)) return "above";
  }
  return "outside";
}

/** A predicate over RBAC scopes for this request and filter. */
export function authorizationScopeTest(scope: RequestScope, tree: ManagementGroupTree, filter: AuthorizationScopeFilter): (rbac: RbacScope) => boolean {
  const wanted = {
    AtScopeAndBelow: ["at", "below"],
    AtScopeAndAbove: ["at", "above"],
    AtScopeExact: ["at"],
    AtScopeAboveAndBelow: ["at", "above", "below"],
  }[filter];
  return (rbac) => wanted.includes(relation(scope, tree, rbac));
}
