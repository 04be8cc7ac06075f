import type { AzureClients } from "./clients.js";
import type { RoleEligibility } from "../model.js";
import { subscriptionOf } from "../model.js";
import { toServiceCallFailed } from "../errors.js";

const NO_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000";

/**
 * PIM-eligible Azure role assignments at a subscription or management group and inherited from above it: ARM
 * `{scope}/providers/Microsoft.Authorization/roleEligibilityScheduleInstances?$filter=atScope()` (api-version
 * 2020-10-01, `@azure/arm-authorization`'s `roleEligibilityScheduleInstances.listForScope`; azure-rest-api-specs
 * `RoleEligibilityScheduleInstance.json`: "Use $filter=atScope() to return all … at or above the scope"). There is no
 * Resource Graph table for them. An instance whose end has passed no longer makes anyone eligible.
 */
export async function listRoleEligibilities(clients: AzureClients, scope: string, now: Date): Promise<RoleEligibility[]> {
  const found: RoleEligibility[] = [];
  try {
    const pages = clients.authorization(subscriptionOf(scope) ?? NO_SUBSCRIPTION).roleEligibilityScheduleInstances.listForScope(scope.replace(/^\/+/, ""), { filter: "atScope()" });
    for await (const instance of pages) {
      if (!instance.id || !instance.principalId || !instance.roleDefinitionId || !instance.scope) continue;
      if (instance.endDateTime && instance.endDateTime.getTime() <= now.getTime()) continue;
      const name = instance.expandedProperties?.principal?.displayName;
      found.push({
        id: instance.id,
        scope: instance.scope,
        roleDefinitionId: instance.roleDefinitionId,
        principalId: instance.principalId,
        principalType: instance.principalType ?? "",
        ...(instance.condition ? { condition: instance.condition } : {}),
        ...(name ? { principalDisplayName: name } : {}),
      });
    }
  } catch (error) {
    throw toServiceCallFailed("arm", error);
  }
  return found;
}
