import { randomBytes } from "node:crypto";
import { Cron } from "croner";
import { z } from "zod";
import { parseOrThrow } from "./validation.js";

/**
 * The Functions timer's NCRONTAB: six fields, `{second} {minute} {hour} {day} {month} {day-of-week}`
 * (Learn: "Timer trigger for Azure Functions", section "NCRONTAB expressions",
 * https://learn.microsoft.com/azure/azure-functions/functions-bindings-timer#ncrontab-expressions).
 * croner parses it field by field, so `61 0 * * * *` or a five-field cron fails here, at start-up,
 * and not at the host's first schedule.
 */
function isNcrontab(expression: string): boolean {
  try {
    new Cron(expression, { paused: true, mode: "6-part" }).stop();
    return true;
  } catch {
    return false;
  }
}

const guid = z.string().regex(/^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/, "must be a GUID");
const httpsUrl = z.url({ protocol: /^https$/, error: "must be an https:// URL" });
const list = z
  .string()
  .transform((text) => text.split(",").map((part) => part.trim()).filter((part) => part.length > 0));

function seconds(min: number, max: number) {
  return z.coerce.number({ error: "must be a number of seconds" }).int("must be a whole number of seconds").min(min).max(max);
}

/**
 * Every app setting the app reads, in one schema. `local.settings.sample.json` and `infra/` set these;
 * a structural test keeps the three in step.
 */
export const appSettingsSchema = z.object({
  /** Policy file path or inline JSON (docs/policy.md). */
  UAMI_GUARD_POLICY: z.string().optional(),
  /** Subscriptions to govern; empty means every subscription the app's identity can read. */
  UAMI_GUARD_SUBSCRIPTIONS: list.pipe(z.array(guid)).default([]),
  /** NCRONTAB for the sweep timer (six fields, seconds first). */
  SWEEP_SCHEDULE: z
    .string()
    .refine(isNcrontab, "must be a six-field NCRONTAB expression such as 0 0 */6 * * *")
    .default("0 0 */6 * * *"),
  /** Client id of the app's own user-assigned identity (ManagedIdentityCredential). */
  AZURE_CLIENT_ID: guid.optional(),
  /** Storage for state, baselines, journal and the cleanup queue: a connection string (local/Azurite)... */
  AzureWebJobsStorage: z.string().optional(),
  /** ...or identity-based endpoints in Azure (no keys). */
  AzureWebJobsStorage__tableServiceUri: httpsUrl.optional(),
  AzureWebJobsStorage__queueServiceUri: httpsUrl.optional(),
  AzureWebJobsStorage__credential: z.literal("managedidentity").optional(),
  AzureWebJobsStorage__clientId: guid.optional(),
  /** Teams Workflows webhook (a secret: a Key Vault reference in Azure). */
  TEAMS_WEBHOOK_URL: httpsUrl.optional(),
  LOGS_INGESTION_ENDPOINT: httpsUrl.optional(),
  LOGS_INGESTION_DCR_ID: z.string().regex(/^dcr-[0-9a-f]{32}$/, "must be a DCR immutable id (dcr-<32 hex>)").optional(),
  LOGS_INGESTION_STREAM: z.string().startsWith("Custom-", "must start with Custom-").default("Custom-UamiGuardFindings"),
  EVENTGRID_TOPIC_ENDPOINT: httpsUrl.optional(),
  /** Optional topic access key; without it the app's identity (EventGrid Data Sender) is used. */
  EVENTGRID_TOPIC_KEY: z.string().min(1).optional(),
  /**
   * The key that seals cleanup work items (HMAC-SHA256; docs/guarantees.md "Work items are sealed"): base64 of at least
   * 32 random bytes, a Key Vault reference in infra. Without it the Function App queues no cleanup; `serve`
   * and the CLI make one for their own process.
   */
  UAMI_GUARD_WORK_ITEM_KEY: z
    .string()
    .refine((text) => /^[A-Za-z0-9+/_=-]+$/.test(text) && Buffer.from(text, "base64").length >= 32, "must be base64 of at least 32 random bytes (openssl rand -base64 32)")
    .optional(),
  /** The event subscription's maxDeliveryAttempts (infra sets both from one parameter): the last delivery raises event-undecided. */
  UAMI_GUARD_EVENT_MAX_DELIVERY_ATTEMPTS: z.coerce.number({ error: "must be a number" }).int().min(1).max(30).default(10),
  /** The event subscription's eventTimeToLiveInMinutes. */
  UAMI_GUARD_EVENT_TTL_MINUTES: z.coerce.number({ error: "must be a number" }).int().min(1).max(1440).default(1440),
  /** Deadline of one outgoing call (ARM, Resource Graph, Graph, storage, a sink), SDK retries included. */
  UAMI_GUARD_CALL_TIMEOUT_SECONDS: seconds(1, 600).default(30),
  /** Deadline of one run (sweep, event, work item, CLI command): no call continues past it. */
  UAMI_GUARD_RUN_TIMEOUT_SECONDS: seconds(10, 86_400).default(1500),
  /**
   * The most identities `GET /api/report` takes on (docs/output.md "How large a report can be"); unset: what the
   * worker's heap holds. Above it the report is refused as the estate is read, before the memory is spent.
   */
  UAMI_GUARD_REPORT_MAX_IDENTITIES: z.coerce.number({ error: "must be a number" }).int("must be a whole number").min(1).optional(),
  /**
   * Application Insights: unset, nothing is exported. With --estate, telemetry goes to the emulator
   * whatever it says (so it is checked where it is used: against Azure it needs an InstrumentationKey).
   */
  APPLICATIONINSIGHTS_CONNECTION_STRING: z.string().optional(),
  /** `ClientId=<guid>;Authorization=AAD`: publish with the app's identity (the component has local auth disabled). */
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: z.string().optional(),
});

export type AppSettings = z.output<typeof appSettingsSchema>;
export const APP_SETTING_NAMES = Object.keys(appSettingsSchema.shape) as (keyof AppSettings)[];

/** Reads the settings once from the environment; a bad value names the setting. */
export function readAppSettings(env: NodeJS.ProcessEnv = process.env): AppSettings {
  const present: Record<string, string> = {};
  for (const name of APP_SETTING_NAMES) {
    const value = env[name];
    if (value !== undefined && value !== "") present[name] = value;
  }
  return parseOrThrow(appSettingsSchema, present, "app setting");
}

/** The work-item key of the settings; without one, `ephemeral` gives a key for this process only (serve, CLI). */
export function workItemKeyOf(settings: Pick<AppSettings, "UAMI_GUARD_WORK_ITEM_KEY">, options: { ephemeral: boolean }): Buffer | undefined {
  if (settings.UAMI_GUARD_WORK_ITEM_KEY) return Buffer.from(settings.UAMI_GUARD_WORK_ITEM_KEY, "base64");
  return options.ephemeral ? randomBytes(32) : undefined;
}
