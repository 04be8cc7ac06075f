import { z } from "zod";
import type { PlannedAction } from "./types.js";

const findingSchema = z.object({
  ruleId: z.string().min(1),
  severity: z.enum(["critical", "high", "medium", "low"]),
  subjectId: z.string().min(1),
  relatedId: z.string().optional(),
  fingerprint: z.string().min(1),
  title: z.string(),
  evidence: z.record(z.string(), z.unknown()),
});

const actionSchema = z.object({
  actionId: z.string().min(1),
  kind: z.enum(["delete-role-assignment", "detach-identity", "tag-identity"]),
  targetId: z.string().startsWith("/"),
  identityId: z.string().optional(),
  principalId: z.string().optional(),
  tagValue: z.string().optional(),
  finding: findingSchema,
});

const workItemSchema = z.object({ version: z.literal(1), runId: z.string().min(1), caller: z.string(), action: actionSchema });

/** A cleanup work item on the cleanup queue: one action of one run (the schema is the type). */
export type WorkItem = z.infer<typeof workItemSchema>;

/** The schema and PlannedAction describe one shape: this fails to compile when they drift apart. */
const sameShape: [WorkItem["action"], PlannedAction] extends [PlannedAction, WorkItem["action"]] ? true : never = true;
void sameShape;

export function encodeWorkItem(item: WorkItem): string {
  // The Functions queue trigger expects base64 message text by default (host.json messageEncoding).
  return Buffer.from(JSON.stringify(item), "utf8").toString("base64");
}

/**
 * The queue trigger hands over the decoded message: parsed JSON, a string, or a Buffer. Anything
 * that is not a well-formed work item is a reason string (logged and dropped by the caller).
 */
export function parseWorkItem(message: unknown): { ok: true; item: WorkItem } | { ok: false; reason: string } {
  let value = message;
  if (Buffer.isBuffer(value)) value = value.toString("utf8");
  if (typeof value === "string") {
    const text = value;
    try {
      value = JSON.parse(text);
    } catch {
      try {
        value = JSON.parse(Buffer.from(text, "base64").toString("utf8"));
      } catch {
        return { ok: false, reason: "not JSON" };
      }
    }
  }
  const parsed = workItemSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `${issue?.path.join(".") || "message"}: ${issue?.message ?? "invalid"}` };
  }
  return { ok: true, item: parsed.data };
}
