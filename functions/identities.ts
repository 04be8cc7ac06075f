import { app, type HttpHandler, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { collectInventory } from "../shared/engine/inventory.js";
import { appDependencies, type DependencyProvider } from "./dependencies.js";
import { errorResponse } from "./httpErrors.js";

/** GET /api/identities: the access-review inventory as JSON (same shape as `uami-guard inventory --output json`). */
export function identitiesHandler(dependencies: DependencyProvider): HttpHandler {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    try {
      const { clients, settings, policy } = await dependencies();
      const requested = request.query.getAll("subscription").flatMap((value) => value.split(","));
      const subscriptions = requested.length > 0 ? requested : settings.UAMI_GUARD_SUBSCRIPTIONS;
      const inventory = await collectInventory(clients, { subscriptions, policy });
      context.log(`inventory: ${inventory.identities.length} identities`);
      return { status: 200, jsonBody: inventory };
    } catch (error) {
      return errorResponse(context, error);
    }
  };
}

export const identities = identitiesHandler(appDependencies);

app.http("identities", { methods: ["GET"], authLevel: "function", route: "identities", handler: identities });
