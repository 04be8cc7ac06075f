import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { collectInventory } from "../shared/engine/inventory.js";
import { appDependencies, type DependencyProvider } from "./dependencies.js";
import { errorResponse } from "./httpErrors.js";
import { withRunDeadline } from "../shared/azure/deadline.js";

/** GET /api/identities: the access-review inventory as JSON (same shape as `uami-guard inventory --output json`). */
export function identitiesHandler(dependencies: DependencyProvider): HttpHandler {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    try {
      const { clients, settings, policy } = await dependencies();
      const requested = request.query.getAll("subscription").flatMap((value) => value.split(","));
      const subscriptions = requested.length > 0 ? requested : settings.UAMI_GUARD_SUBSCRIPTIONS;
      const inventory = await withRunDeadline(clients.deadlines.runMs, () => collectInventory(clients, { subscriptions, policy }));
      context.log(`inventory: ${inventory.identities.length} identities`);
      return { status: 200, jsonBody: inventory };
    } catch (error) {
      return errorResponse(context, error);
    }
  };
}

export const identities = identitiesHandler(appDependencies);
