import { emptyEstate, guid, identityResource, SUB } from "./estate.js";
import type { Estate, Fault } from "../../local/emulator/estate.js";

const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

/**
 * `principals` users each holding one Reader assignment at resource-group scope; every `orphanEvery`-th
 * principal is absent from the directory. Returns the orphaned assignment ids in order.
 */
export function principalsEstate(principals: number, orphanEvery: number, faults: Fault[] = []): { estate: Estate; orphans: string[] } {
  const orphans: string[] = [];
  const roleAssignments = [];
  const directory = [];
  for (let n = 0; n < principals; n += 1) {
    const principalId = guid(n, "dddd");
    const name = guid(n, "eeee");
    const id = `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.Authorization/roleAssignments/${name}`;
    roleAssignments.push({
      id,
      name,
      properties: {
        scope: `/subscriptions/${SUB}/resourceGroups/rg-app`,
        roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${READER}`,
        principalId,
        principalType: "User",
        createdOn: "2025-01-01T00:00:00Z",
      },
    });
    if (n % orphanEvery === 0) orphans.push(id);
    else directory.push({ id: principalId, "@odata.type": "#microsoft.graph.user", displayName: `user ${n}` });
  }
  const estate = emptyEstate({
    resources: [identityResource("id-app-prod-uks-01", guid(1, "aaaa"), guid(1, "cccc"), { owner: "a", environment: "prod" })] as Estate["resources"],
    roleAssignments: roleAssignments as Estate["roleAssignments"],
    directory: directory as Estate["directory"],
    emulator: { latencyMs: 0, seed: 7, faults },
  });
  return { estate, orphans };
}
