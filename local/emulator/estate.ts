import { writeFileSync } from "node:fs";
import { z } from "zod";
import { InputError } from "../../shared/errors.js";
import { parseOrThrow, readJsonFile } from "../../shared/config/validation.js";

/** The estate file of docs/estate-format.md. Extra ARM fields are kept as they are (loose objects). */
const tags = z.record(z.string(), z.string());
const armId = z.string().startsWith("/", "must be an ARM id starting with /");

const userAssignedEntry = z.looseObject({ principalId: z.string().optional(), clientId: z.string().optional() });

export const resourceSchema = z.looseObject({
  id: armId,
  name: z.string().min(1),
  type: z.string().min(1),
  location: z.string().optional(),
  kind: z.string().optional(),
  tags: tags.nullish(),
  properties: z.record(z.string(), z.unknown()).nullish(),
  identity: z
    .looseObject({
      type: z.string(),
      principalId: z.string().optional(),
      tenantId: z.string().optional(),
      userAssignedIdentities: z.record(z.string(), userAssignedEntry.nullable()).nullish(),
    })
    .nullish(),
});

/** What an active role assignment and a PIM eligibility have alike (ARM's `properties`). */
const ASSIGNMENT_CORE = {
  scope: z.string(),
  roleDefinitionId: z.string().min(1),
  principalId: z.string().min(1),
  principalType: z.string().optional(),
  condition: z.string().nullish(),
  conditionVersion: z.string().nullish(),
};

export const roleAssignmentSchema = z.looseObject({
  id: armId,
  name: z.string().min(1),
  type: z.string().optional(),
  properties: z.looseObject({
    ...ASSIGNMENT_CORE,
    createdOn: z.string().optional(),
    updatedOn: z.string().optional(),
    createdBy: z.string().nullish(),
    updatedBy: z.string().nullish(),
    description: z.string().nullish(),
    delegatedManagedIdentityResourceId: z.string().nullish(),
  }),
});

/** docs/estate-format.md: Entra ID groups, directory roles, Graph app roles, PIM. */
export const groupSchema = z.looseObject({
  id: z.string().min(1),
  displayName: z.string().optional(),
  isAssignableToRole: z.boolean().optional(),
  /** Object ids of users, service principals and groups (nested groups are expanded by transitiveMembers). */
  members: z.array(z.string().min(1)).default([]),
});

export const directoryRoleGrantSchema = z.looseObject({
  id: z.string().min(1),
  principalId: z.string().min(1),
  /** The role definition id: a built-in role's template id. */
  roleDefinitionId: z.string().min(1),
  directoryScopeId: z.string().default("/"),
});

export const appRoleAssignmentSchema = z.looseObject({
  id: z.string().min(1),
  principalId: z.string().min(1),
  principalType: z.string().optional(),
  principalDisplayName: z.string().optional(),
  /** The object id of the API's service principal (Microsoft Graph's, for Graph permissions). */
  resourceId: z.string().min(1),
  appRoleId: z.string().min(1),
  createdDateTime: z.string().optional(),
});

export const roleEligibilitySchema = z.looseObject({
  id: armId.regex(/\/roleEligibilityScheduleInstances\/[^/]+$/i, "must end in /providers/Microsoft.Authorization/roleEligibilityScheduleInstances/<name>"),
  name: z.string().optional(),
  type: z.string().optional(),
  properties: z.looseObject({
    ...ASSIGNMENT_CORE,
    memberType: z.string().optional(),
    status: z.string().optional(),
    startDateTime: z.string().nullish(),
    endDateTime: z.string().nullish(),
  }),
});

const PERMISSION_KEYS = ["actions", "notActions", "dataActions", "notDataActions"] as const;

/** One permission entry in ARM's casing, whichever casing the estate used. */
const permissionSchema = z.preprocess(
  (raw) => {
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) return raw;
    const byLower = new Map(Object.entries(raw as Record<string, unknown>).map(([key, value]) => [key.toLowerCase(), value]));
    const normal: Record<string, unknown> = {};
    for (const key of PERMISSION_KEYS) normal[key] = byLower.get(key.toLowerCase()) ?? [];
    const condition = byLower.get("condition");
    if (typeof condition === "string") normal["condition"] = condition;
    return normal;
  },
  z.object({
    actions: z.array(z.string()),
    notActions: z.array(z.string()),
    dataActions: z.array(z.string()),
    notDataActions: z.array(z.string()),
    condition: z.string().optional(),
  }),
);

export const roleDefinitionSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string().min(1),
  type: z.string().optional(),
  properties: z.looseObject({
    roleName: z.string().min(1),
    type: z.string().optional(),
    description: z.string().optional(),
    // An estate may spell permission keys as ARM does (`actions`) or as Resource Graph does (`Actions`);
    // the emulator keeps one form and answers each API in its own casing (routes/).
    permissions: z.array(permissionSchema).default([]),
    assignableScopes: z.array(z.string()).default([]),
  }),
});

export const federatedCredentialSchema = z.looseObject({
  id: armId.regex(/\/federatedIdentityCredentials\/[^/]+$/i, "must end in /federatedIdentityCredentials/<name>"),
  name: z.string().min(1),
  properties: z
    .looseObject({
      issuer: z.string().min(1),
      subject: z.string().min(1).optional(),
      // A flexible credential matches claims with an expression instead of one subject.
      claimsMatchingExpression: z.looseObject({ value: z.string().min(1), languageVersion: z.number().int() }).optional(),
      audiences: z.array(z.string()).default(["api://AzureADTokenExchange"]),
    })
    .refine((properties) => properties.subject !== undefined || properties.claimsMatchingExpression !== undefined, {
      message: "needs subject or claimsMatchingExpression",
    }),
});

export const directoryObjectSchema = z.looseObject({
  id: z.string().min(1),
  "@odata.type": z.string().min(1),
  displayName: z.string().optional(),
  servicePrincipalType: z.string().optional(),
  appId: z.string().optional(),
});

export const EMULATED_SERVICES = [
  "resourceGraph",
  "arm",
  "graph",
  "logAnalytics",
  "logsIngestion",
  "eventGrid",
  "teams",
  "appInsights",
] as const;
export type EmulatedService = (typeof EMULATED_SERVICES)[number];

/**
 * One injected fault (docs/estate-format.md `emulator.faults`): which requests it matches and one effect —
 * `status` instead of doing the request, `status` + `afterApply` (the change happens, the answer is N),
 * `reset` (the connection is destroyed, optionally after the change), `hangMs` (the answer comes that late).
 */
export const faultSchema = z
  .strictObject({
    service: z.enum(EMULATED_SERVICES),
    status: z.number().int().min(400).max(599).optional(),
    rate: z.number().min(0).max(1).default(1),
    count: z.number().int().min(1).optional(),
    /** Only requests whose path contains this text, case-insensitively (e.g. one operation). */
    pathContains: z.string().optional(),
    /** Only requests with this HTTP method (e.g. DELETE). */
    method: z.enum(["GET", "PUT", "PATCH", "POST", "DELETE"]).optional(),
    retryAfterSeconds: z.number().min(0).optional(),
    /** Do the request (the change happens), then answer `status` or reset the connection. */
    afterApply: z.boolean().optional(),
    /** Destroy the connection without an answer. */
    reset: z.boolean().optional(),
    /** Answer this many ms late (longer than the client's deadline simulates a stalled call). */
    hangMs: z.number().int().min(0).optional(),
  })
  .superRefine((fault, context) => {
    const effects = [fault.status !== undefined, fault.reset === true, fault.hangMs !== undefined].filter(Boolean).length;
    if (effects === 0) context.addIssue({ code: "custom", message: "needs one effect: status, reset or hangMs" });
    if (fault.status !== undefined && fault.reset === true) context.addIssue({ code: "custom", message: "status and reset are two effects: pick one" });
    if (fault.afterApply && fault.status === undefined && fault.reset !== true) {
      context.addIssue({ code: "custom", path: ["afterApply"], message: "afterApply needs status or reset" });
    }
  });

const bucketSchema = z.tuple([z.number().int().min(1), z.number().positive()]);

export const emulatorSettingsSchema = z.strictObject({
  latencyMs: z.number().min(0).default(0),
  resourceGraphQuota: z
    .strictObject({ requests: z.number().int().min(1), windowSeconds: z.number().positive() })
    .optional(),
  faults: z.array(faultSchema).default([]),
  seed: z.number().int().default(1),
  /**
   * ARM's token buckets per subscription, principal and operation type: `true` for Azure's numbers
   * (reads 250 refilling 25/s, writes and deletes 200 refilling 10/s), or [size, refill per second] each.
   */
  armQuota: z
    .union([
      z.boolean(),
      z.strictObject({ reads: bucketSchema.optional(), writes: bucketSchema.optional(), deletes: bucketSchema.optional() }),
    ])
    .optional(),
  /**
   * Compute answers a VM (or scale set) PATCH/PUT asynchronously: 200 with provisioningState "Updating"
   * and an Azure-AsyncOperation header, a newly assigned identity's entry `{}` until the operation
   * completes (azure-cli vm/tests/latest/recordings/test_vm_explicit_msi.yaml). `true`, or how long the
   * operation runs and how it ends.
   */
  asyncArm: z
    .union([z.boolean(), z.strictObject({ operationMs: z.number().int().min(0).optional(), outcome: z.enum(["Succeeded", "Failed"]).optional() })])
    .optional(),
});

export const estateSchema = z.looseObject({
  tenantId: z.string().min(1),
  subscriptions: z
    .array(
      z.looseObject({
        subscriptionId: z.string().min(1),
        displayName: z.string().optional(),
        // As Resource Graph resourcecontainers gives it, nearest first (docs/estate-format.md `subscriptions`).
        managementGroupAncestorsChain: z.array(z.looseObject({ name: z.string().min(1), displayName: z.string().optional() })).optional(),
      }),
    )
    .default([]),
  resources: z.array(resourceSchema).default([]),
  directory: z.array(directoryObjectSchema).default([]),
  roleDefinitions: z.array(roleDefinitionSchema).default([]),
  roleAssignments: z.array(roleAssignmentSchema).default([]),
  federatedCredentials: z.array(federatedCredentialSchema).default([]),
  signIns: z.array(z.looseObject({ servicePrincipalId: z.string().min(1), lastSignIn: z.string().min(1) })).default([]),
  baseline: z.looseObject({ attachments: z.record(z.string(), z.array(z.string())).default({}) }).default({ attachments: {} }),
  groups: z.array(groupSchema).default([]),
  directoryRoleAssignments: z.array(directoryRoleGrantSchema).default([]),
  directoryRoleEligibilities: z.array(directoryRoleGrantSchema).default([]),
  appRoleAssignments: z.array(appRoleAssignmentSchema).default([]),
  roleEligibilityScheduleInstances: z.array(roleEligibilitySchema).default([]),
  // Azure Monitor metric totals per resource id (docs/estate-format.md): for a system topic, Event Grid's
  // DroppedEventCount, DeadLetteredCount, DeliveryAttemptFailCount over whatever lookback is asked.
  metrics: z.record(armId, z.record(z.string(), z.number().min(0))).optional(),
  emulator: emulatorSettingsSchema.default({ latencyMs: 0, faults: [], seed: 1 }),
});

export type Estate = z.output<typeof estateSchema>;
export type EstateResource = z.output<typeof resourceSchema>;
export type EstateRoleAssignment = z.output<typeof roleAssignmentSchema>;
export type EstateRoleDefinition = z.output<typeof roleDefinitionSchema>;
export type EstateFederatedCredential = z.output<typeof federatedCredentialSchema>;
export type DirectoryEntry = z.output<typeof directoryObjectSchema>;
export type EstateGroup = z.output<typeof groupSchema>;
export type EstateRoleEligibility = z.output<typeof roleEligibilitySchema>;
export type Fault = z.output<typeof faultSchema>;
export type EmulatorSettings = z.output<typeof emulatorSettingsSchema>;

export function parseEstate(raw: unknown, source: string): Estate {
  const estate = parseOrThrow(estateSchema, raw, source);
  checkUnique(estate.resources.map((resource) => resource.id), `${source}: resources`);
  checkUnique(estate.roleAssignments.map((assignment) => assignment.id), `${source}: roleAssignments`);
  checkUnique(estate.groups.map((group) => group.id), `${source}: groups`);
  checkUnique(estate.roleEligibilityScheduleInstances.map((instance) => instance.id), `${source}: roleEligibilityScheduleInstances`);
  return estate;
}

function checkUnique(ids: string[], where: string): void {
  const seen = new Set<string>();
  ids.forEach((id, index) => {
    const key = id.toLowerCase();
    if (seen.has(key)) throw new InputError(`${where}[${index}].id = "${id}": duplicate id`);
    seen.add(key);
  });
}

export function loadEstateFile(path: string): Estate {
  return parseEstate(readJsonFile(path, `estate ${path}`), `estate ${path}`);
}

export function saveEstateFile(path: string, estate: Estate): void {
  writeFileSync(path, `${JSON.stringify(estate, null, 2)}\n`);
}
