import type { ChangeKind } from "../../shared/events/operations.js";
import type { Caller, ResourceEvent } from "../../shared/events/resourceEvent.js";
import type { EventFacts } from "../../shared/rules/types.js";

export const USER: Caller = { appId: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", objectId: "dddddddd-0000-0000-0000-0000000000bb", upn: "someone@contoso.example", delegated: true };
/** Raw token claims as Event Grid carries them: a user's delegated Azure CLI token, and an approved pipeline's app-only token. */
export const PIPELINE_APP = "99999999-0000-4000-8000-000000000042";
export const USER_CLAIMS = {
  appid: "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
  "http://schemas.microsoft.com/identity/claims/objectidentifier": "dddddddd-0000-0000-0000-0000000000bb",
  "http://schemas.microsoft.com/identity/claims/scope": "user_impersonation",
  "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "someone@contoso.example",
};
export const PIPELINE_CLAIMS = { appid: PIPELINE_APP, "http://schemas.microsoft.com/identity/claims/objectidentifier": "ffffffff-0000-0000-0000-0000000000dd", idtyp: "app" };
export const APPROVED = { approved: true, reason: "pipeline deploy" };
export const NOT_APPROVED = { approved: false, reason: "a user, not an approved pipeline" };

export function resourceEvent(operationName: string, resourceUri: string, caller: Caller = USER): ResourceEvent {
  return { id: "e1", eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: "2026-11-20T10:00:00Z", operationName, resourceUri, status: "Succeeded", subscriptionId: "s", caller };
}

export function facts(change: ChangeKind, event: ResourceEvent, approval: { approved: boolean; reason: string }, extra: Partial<EventFacts> = {}): EventFacts {
  return { event, change, approval, ...extra };
}
