import type { Subscription } from "../../model.js";
import { subscriptionOf } from "../../model.js";

const MG_PREFIX = "/providers/microsoft.management/managementgroups/";

/** The scope key of a management group (lower-case), as assignment scopes spell it. */
export function managementGroupScope(name: string): string {
  return `${MG_PREFIX}${name.toLowerCase()}`;
}

function trimKey(scope: string): string {
  const lower = scope.toLowerCase();
  return lower.length > 1 && lower.endsWith("/") ? lower.slice(0, -1) : lower;
}

/**
 * Scope containment with management groups (docs/rules/privileged-identity-exposed.md "What it reports", management groups): a management group contains a
 * subscription, and all below it, when the subscription's `managementGroupAncestorsChain` names it; a group
 * contains another when some chain lists the outer one after (above) the inner one. `/` contains everything.
 */
export class ScopeTree {
  private readonly chains = new Map<string, string[]>();
  private readonly groupAncestors = new Map<string, Set<string>>();

  constructor(subscriptions: readonly Subscription[]) {
    for (const subscription of subscriptions) {
      const chain = subscription.managementGroups.map((name) => name.toLowerCase());
      this.chains.set(subscription.subscriptionId.toLowerCase(), chain);
      chain.forEach((group, at) => {
        let above = this.groupAncestors.get(group);
        if (!above) {
          above = new Set();
          this.groupAncestors.set(group, above);
        }
        for (const ancestor of chain.slice(at + 1)) above.add(ancestor);
      });
    }
  }

  /** Management groups above a subscription, nearest first (lower-case names). */
  groupsOf(subscriptionId: string): readonly string[] {
    return this.chains.get(subscriptionId.toLowerCase()) ?? [];
  }

  /** Every scope key (lower-case) that contains `id`: itself, its parents, its subscription's groups, `/`. */
  ancestorsOf(id: string): string[] {
    const key = trimKey(id);
    const keys: string[] = [key];
    if (key.startsWith(MG_PREFIX)) {
      for (const group of this.groupAncestors.get(key.slice(MG_PREFIX.length)) ?? []) keys.push(managementGroupScope(group));
    } else {
      // Every even-segment prefix: subscription, resource group, parent resources (a slot's site).
      let slashes = 0;
      for (let at = 1; at < key.length; at += 1) {
        if (key[at] !== "/") continue;
        slashes += 1;
        if (slashes % 2 === 0) keys.push(key.slice(0, at));
      }
      const subscription = subscriptionOf(key);
      if (subscription) for (const group of this.groupsOf(subscription)) keys.push(managementGroupScope(group));
    }
    keys.push("/");
    return keys;
  }

  /** `outer` contains `inner` (or is it). */
  contains(outer: string, inner: string): boolean {
    const o = trimKey(outer);
    if (o === "/" || o === "") return true;
    const i = trimKey(inner);
    if (o.startsWith(MG_PREFIX)) {
      const group = o.slice(MG_PREFIX.length);
      if (i.startsWith(MG_PREFIX)) {
        const innerGroup = i.slice(MG_PREFIX.length);
        return innerGroup === group || (this.groupAncestors.get(innerGroup)?.has(group) ?? false);
      }
      const subscription = subscriptionOf(i);
      return subscription !== undefined && this.groupsOf(subscription).includes(group);
    }
    return i === o || i.startsWith(`${o}/`);
  }
}

/** The tree of one identity's subscription, from the management groups its catalog entry keeps. */
export function identityScopeTree(identityId: string, managementGroups: readonly string[]): ScopeTree {
  return new ScopeTree([{ subscriptionId: subscriptionOf(identityId) ?? "", managementGroups: [...managementGroups] }]);
}
