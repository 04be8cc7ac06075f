import { parseEstate, type Estate } from "../../local/emulator/estate.js";
import { actionIdOf } from "../../shared/cleanup/plan.js";
import type { PlannedAction } from "../../shared/cleanup/types.js";
import { SUB, TENANT, guid, identityResource } from "./estate.js";

const rg = (name: string): string => `/subscriptions/${SUB}/resourceGroups/${name}`;
const READER = `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7`;
const CONTRIBUTOR = `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c`;

export const P = {
  app: guid(1, "a"),
  untagged: guid(2, "a"),
  protectedUntagged: guid(3, "a"),
  breakGlass: guid(4, "a"),
  extra: guid(5, "a"),
  vmSystem: guid(6, "a"),
  gone: guid(1, "dead"),
  goneProtectedScope: guid(2, "dead"),
  goneProtectedPrincipal: guid(3, "dead"),
  goneYoung: guid(4, "dead"),
} as const;

export const IDS = {
  app: identityResource("id-app", P.app, guid(11, "c"), { owner: "team", environment: "prod" }).id,
  untagged: identityResource("id-untagged", P.untagged, guid(12, "c")).id,
  protectedUntagged: identityResource("id-prot", P.protectedUntagged, guid(13, "c"), {}, "rg-protected").id,
  breakGlass: identityResource("id-breakglass", P.breakGlass, guid(14, "c")).id,
  extra: identityResource("id-extra", P.extra, guid(15, "c"), { owner: "team", environment: "prod" }).id,
  vm: `${rg("rg-app")}/providers/Microsoft.Compute/virtualMachines/vm-1`,
  orphan: `${rg("rg-app")}/providers/Microsoft.Authorization/roleAssignments/${guid(1, "0a")}`,
  orphanProtectedScope: `${rg("rg-protected")}/providers/Microsoft.Authorization/roleAssignments/${guid(2, "0a")}`,
  orphanProtectedPrincipal: `${rg("rg-app")}/providers/Microsoft.Authorization/roleAssignments/${guid(3, "0a")}`,
  orphanYoung: `${rg("rg-app")}/providers/Microsoft.Authorization/roleAssignments/${guid(4, "0a")}`,
  outside: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments/${guid(5, "0a")}`,
} as const;

export const PROTECTED = { scopes: [rg("rg-protected")], principals: [P.goneProtectedPrincipal, P.breakGlass] };

function assignment(id: string, scope: string, principalId: string, roleDefinitionId = READER, createdOn = "2026-01-01T00:00:00Z") {
  return {
    id,
    name: id.split("/").pop() ?? "",
    type: "Microsoft.Authorization/roleAssignments",
    properties: { scope, roleDefinitionId, principalId, principalType: "ServicePrincipal", createdOn, updatedOn: createdOn, createdBy: guid(99, "b") },
  };
}

function servicePrincipal(id: string, name: string) {
  return { id, "@odata.type": "#microsoft.graph.servicePrincipal", displayName: name, servicePrincipalType: "ManagedIdentity", appId: guid(Number.parseInt(id.slice(-2), 16), "c") };
}

/**
 * A small estate with one of everything docs/guarantees.md "Cleanup actions" decides on: an orphan (and orphans on a
 * protected scope, of a protected principal, and too young), untagged identities (one on a protected
 * scope, one a protected principal), a VM with a system-assigned and two user-assigned identities of
 * which the baseline knows one, a Contributor grant made outside a pipeline, and `fillers` ordinary
 * assignments so deletions stay under maxDeletePercent.
 */
export function cleanupEstate(options: { fillers?: number; orphans?: number } = {}): Estate {
  const fillers = options.fillers ?? 100;
  const extraOrphans = Array.from({ length: options.orphans ?? 0 }, (_, index) =>
    assignment(`${rg("rg-app")}/providers/Microsoft.Authorization/roleAssignments/${guid(100 + index, "0b")}`, rg("rg-app"), guid(100 + index, "dead")),
  );
  return parseEstate(
    {
      tenantId: TENANT,
      subscriptions: [{ subscriptionId: SUB, displayName: "prod" }],
      resources: [
        identityResource("id-app", P.app, guid(11, "c"), { owner: "team", environment: "prod" }),
        identityResource("id-untagged", P.untagged, guid(12, "c")),
        identityResource("id-prot", P.protectedUntagged, guid(13, "c"), {}, "rg-protected"),
        identityResource("id-breakglass", P.breakGlass, guid(14, "c")),
        identityResource("id-extra", P.extra, guid(15, "c"), { owner: "team", environment: "prod" }),
        {
          id: IDS.vm,
          name: "vm-1",
          type: "Microsoft.Compute/virtualMachines",
          location: "uksouth",
          tags: { owner: "team", environment: "prod" },
          identity: {
            type: "SystemAssigned, UserAssigned",
            principalId: P.vmSystem,
            tenantId: TENANT,
            userAssignedIdentities: {
              [IDS.app]: { principalId: P.app, clientId: guid(11, "c") },
              [IDS.extra]: { principalId: P.extra, clientId: guid(15, "c") },
            },
          },
        },
      ],
      directory: [
        servicePrincipal(P.app, "id-app"),
        servicePrincipal(P.untagged, "id-untagged"),
        servicePrincipal(P.protectedUntagged, "id-prot"),
        servicePrincipal(P.breakGlass, "id-breakglass"),
        servicePrincipal(P.extra, "id-extra"),
        { id: P.vmSystem, "@odata.type": "#microsoft.graph.servicePrincipal", displayName: "vm-1", servicePrincipalType: "ManagedIdentity" },
      ],
      roleAssignments: [
        ...Array.from({ length: fillers }, (_, index) => assignment(`${rg(`rg-${index}`)}/providers/Microsoft.Authorization/roleAssignments/${guid(1000 + index, "0c")}`, rg(`rg-${index}`), P.app)),
        assignment(IDS.orphan, rg("rg-app"), P.gone),
        assignment(IDS.orphanProtectedScope, rg("rg-protected"), P.goneProtectedScope),
        assignment(IDS.orphanProtectedPrincipal, rg("rg-app"), P.goneProtectedPrincipal),
        assignment(IDS.orphanYoung, rg("rg-app"), P.goneYoung, READER, new Date().toISOString()),
        assignment(IDS.outside, `/subscriptions/${SUB}`, P.extra, CONTRIBUTOR, "2026-11-20T10:00:00Z"),
        ...extraOrphans,
      ],
      baseline: { attachments: { [IDS.vm]: [IDS.app] } },
    },
    "cleanup estate",
  );
}

const USER_CLAIMS = {
  appid: "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
  "http://schemas.microsoft.com/identity/claims/objectidentifier": "dddddddd-0000-0000-0000-0000000000bb",
  "http://schemas.microsoft.com/identity/claims/scope": "user_impersonation",
};

/** A subscription system-topic write event by a user (Event Grid schema, as docs/examples shows it). */
export function systemEvent(id: string, resourceUri: string, operationName: string) {
  return {
    id,
    topic: `/subscriptions/${SUB}`,
    subject: resourceUri,
    eventType: "Microsoft.Resources.ResourceWriteSuccess",
    eventTime: "2026-11-20T10:15:00Z",
    dataVersion: "2",
    metadataVersion: "1",
    data: {
      authorization: { scope: resourceUri, action: operationName },
      claims: USER_CLAIMS,
      correlationId: id,
      resourceProvider: operationName.split("/")[0],
      resourceUri,
      operationName,
      status: "Succeeded",
      subscriptionId: SUB,
      tenantId: TENANT,
    },
  };
}

/** A user attaches id-extra to vm-1 and grants id-extra Contributor on the subscription. */
export function cleanupEvents(): unknown[] {
  return [
    systemEvent("cleanup-event-1", IDS.vm, "Microsoft.Compute/virtualMachines/write"),
    systemEvent("cleanup-event-2", IDS.outside, "Microsoft.Authorization/roleAssignments/write"),
  ];
}

/** The cleanup estate's VM losing the identity attached outside a pipeline (IDS.extra). */
export function detachExtraAction(fingerprint: string): PlannedAction {
  return {
    actionId: actionIdOf("detach-identity", IDS.vm, IDS.extra),
    kind: "detach-identity",
    targetId: IDS.vm,
    identityId: IDS.extra,
    finding: { ruleId: "attachment-outside-pipeline", severity: "high", subjectId: IDS.vm, relatedId: IDS.extra, fingerprint, title: "attach", evidence: {} },
  };
}

/** The grant made outside a pipeline (IDS.outside): its principal exists, so restore can recreate it. */
export function deleteOutsideGrantAction(fingerprint: string): PlannedAction {
  return {
    actionId: actionIdOf("delete-role-assignment", IDS.outside),
    kind: "delete-role-assignment",
    targetId: IDS.outside,
    principalId: P.extra,
    finding: { ruleId: "role-assignment-outside-pipeline", severity: "high", subjectId: IDS.outside, fingerprint, title: "grant", evidence: { principalId: P.extra } },
  };
}

/** The id of the `index`th Contributor grant of grantsEstate. */
export const grantId = (index: number): string => `/subscriptions/${SUB}/resourceGroups/rg-g${index}/providers/Microsoft.Authorization/roleAssignments/${guid(5000 + index, "0e")}`;

/** The cleanup estate with `grants` Contributor grants to the managed identity id-extra, each made by a user outside a pipeline. */
export function grantsEstate(grants: number, fillers: number): Estate {
  const base = cleanupEstate({ fillers });
  const assignments = Array.from({ length: grants }, (_, index) => ({
    id: grantId(index),
    name: guid(5000 + index, "0e"),
    type: "Microsoft.Authorization/roleAssignments",
    properties: { scope: `/subscriptions/${SUB}/resourceGroups/rg-g${index}`, roleDefinitionId: CONTRIBUTOR, principalId: P.extra, principalType: "ServicePrincipal", createdOn: "2026-11-20T10:00:00Z", updatedOn: "2026-11-20T10:00:00Z" },
  }));
  return parseEstate({ ...base, roleAssignments: [...base.roleAssignments, ...assignments] }, "grants estate");
}
