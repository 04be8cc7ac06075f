import type { AzureClients } from "./clients.js";
import { toServiceCallFailed } from "../errors.js";

export interface ReadableSubscription {
  subscriptionId: string;
  displayName: string;
}

/**
 * The subscriptions the credential can read: ARM `GET /subscriptions` (Learn "Subscriptions - List",
 * https://learn.microsoft.com/rest/api/resources/subscriptions/list, api-version 2022-12-01), following
 * `nextLink`. Each page has a deadline: a stalled call fails rather than hangs the run.
 */
export async function listReadableSubscriptions(clients: AzureClients, timeoutMs = 30_000): Promise<ReadableSubscription[]> {
  const found: ReadableSubscription[] = [];
  let next: string | undefined = "/subscriptions?api-version=2022-12-01";
  for (let page = 0; next && page < 1_000; page += 1) {
    let response;
    try {
      response = await clients.arm.pathUnchecked(next.replace(/^https:\/\/[^/]+/, "")).get({ abortSignal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      throw toServiceCallFailed("arm", error);
    }
    const status = Number(response.status);
    if (status !== 200) throw toServiceCallFailed("arm", { statusCode: status, message: `GET /subscriptions answered ${status}` });
    const body = response.body as { value?: Array<{ subscriptionId?: string; displayName?: string }>; nextLink?: string };
    for (const subscription of body.value ?? []) {
      if (subscription.subscriptionId) found.push({ subscriptionId: subscription.subscriptionId, displayName: subscription.displayName ?? subscription.subscriptionId });
    }
    next = body.nextLink;
  }
  return found;
}
