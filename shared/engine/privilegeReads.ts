import pLimit from "p-limit";
import type { AzureClients } from "../azure/clients.js";
import { listDirectoryRoleAssignments, listDirectoryRoleEligibilities, listGraphAppRoleAssignments } from "../azure/entra.js";
import { listRoleEligibilities } from "../azure/eligibility.js";
import { GroupExpander } from "../azure/groupMembers.js";
import { errorMessage } from "../errors.js";
import type { AppRoleGrant, CheckId, DirectoryRoleGrant, Incomplete, RoleEligibility, Subscription } from "../model.js";
import type { ExposureCollector } from "../rules/lib/exposure.js";

/**
 * What a sweep (and the inventory) reads beyond Resource Graph to grade identities and find who can act as them
 * (docs/rules/privileged-identity-exposed.md), at a fixed number of calls: three tenant-wide Graph listings, one ARM
 * eligibility list per subscription and management group in scope, one `$batch` per 20 groups. A read that fails
 * is an `incomplete` check, never "no privilege".
 */

export interface EntraReads {
  directoryRoles: DirectoryRoleGrant[];
  appRoles: AppRoleGrant[];
}

/** Directory roles (active, eligible) and Graph application permissions, tenant-wide, in parallel. */
export async function readEntra(clients: AzureClients, incomplete: Incomplete[], signal?: AbortSignal): Promise<EntraReads> {
  const failed = (check: CheckId, what: string) => (error: unknown) => {
    incomplete.push({ check, reason: `${what} could not be read: ${errorMessage(error)}`, affected: 1 });
    return [];
  };
  const [active, eligible, appRoles] = await Promise.all([
    listDirectoryRoleAssignments(clients, signal).catch(failed("entra-roles", "Entra directory role assignments")),
    listDirectoryRoleEligibilities(clients, signal).catch(failed("entra-roles", "Entra directory role eligibilities")),
    listGraphAppRoleAssignments(clients, signal).catch(failed("graph-app-roles", "Microsoft Graph application permissions")),
  ]);
  return { directoryRoles: [...active, ...eligible], appRoles };
}

/**
 * The scopes whose eligibility lists cover a sweep: each subscription in scope (the explicit ones, else every one the
 * subscriptions query listed) and each management group above them, the tenant root group included.
 */
export function eligibilityScopes(subscriptions: readonly Subscription[], explicit: readonly string[] | undefined): string[] {
  const wanted = explicit && explicit.length > 0 ? new Set(explicit.map((id) => id.toLowerCase())) : undefined;
  const scopes = new Map<string, string>();
  const inScope = subscriptions.filter((subscription) => !wanted || wanted.has(subscription.subscriptionId.toLowerCase()));
  for (const id of wanted ?? []) if (!inScope.some((subscription) => subscription.subscriptionId.toLowerCase() === id)) scopes.set(`/subscriptions/${id}`, `/subscriptions/${id}`);
  for (const subscription of inScope) {
    scopes.set(`/subscriptions/${subscription.subscriptionId.toLowerCase()}`, `/subscriptions/${subscription.subscriptionId}`);
    for (const group of subscription.managementGroups) scopes.set(`/mg/${group.toLowerCase()}`, `/providers/Microsoft.Management/managementGroups/${group}`);
  }
  return [...scopes.values()];
}

const ELIGIBILITY_CONCURRENCY = 4;

/** PIM-eligible Azure role assignments at those scopes and inherited from above (each listed once). */
export async function readEligibilities(clients: AzureClients, scopes: readonly string[], now: Date, incomplete: Incomplete[]): Promise<RoleEligibility[]> {
  const limit = pLimit(ELIGIBILITY_CONCURRENCY);
  const byId = new Map<string, RoleEligibility>();
  const failures: string[] = [];
  await Promise.all(
    scopes.map((scope) =>
      limit(async () => {
        try {
          for (const eligibility of await listRoleEligibilities(clients, scope, now)) byId.set(eligibility.id.toLowerCase(), eligibility);
        } catch (error) {
          failures.push(`${scope}: ${errorMessage(error)}`);
        }
      }),
    ),
  );
  if (failures.length > 0) {
    incomplete.push({ check: "role-eligibility", reason: `PIM-eligible role assignments could not be listed at ${failures.length} of ${scopes.length} scope(s) (first: ${failures[0]})`, affected: failures.length });
  }
  return [...byId.values()];
}

/** The groups' members, batched 20 a call while assignments stream; the collector gets each group as it is answered. */
export function groupExpanderFor(clients: AzureClients, collector: () => ExposureCollector | undefined, signal?: AbortSignal): GroupExpander {
  return new GroupExpander(clients, (groupId, members) => collector()?.setGroupMembers(groupId, members), signal ? { signal } : {});
}

/** Feeds what was read and expands the groups that these add, then reports groups that could not be read. */
export async function completePrivilege(collector: ExposureCollector, expander: GroupExpander, reads: { entra?: EntraReads; eligibilities?: RoleEligibility[] }, incomplete: Incomplete[]): Promise<void> {
  for (const eligibility of reads.eligibilities ?? []) collector.addEligibility(eligibility);
  if (reads.entra) {
    collector.addDirectoryRoles(reads.entra.directoryRoles);
    collector.addAppRoles(reads.entra.appRoles);
  }
  // Groups fed before the expander existed (the inventory feeds everything first) are submitted here; the rest already were.
  for (const groupId of collector.groupIds()) await expander.submit(groupId);
  await expander.flush();
  const failures = expander.failures();
  const [first] = failures;
  if (first) {
    incomplete.push({
      check: "group-members",
      reason: `Microsoft Graph did not list the members of ${failures.length} group(s) (first: ${first.groupId}: ${first.reason}); they count as holders with unknown members`,
      affected: failures.length,
    });
  }
}
