import { createMiddleware } from "hono/factory";
import { createRouter } from "../../lib/create-router";
import { routeNotFound } from "../../lib/errors";
import type { AppBindings } from "../../lib/types";
import * as handlers from "./dev.handlers";
import * as routes from "./dev.routes";

/** Outside development these routes answer exactly like a route that does not exist. */
const developmentOnly = createMiddleware<AppBindings>(async (c, next) => {
  if (c.get("config").environment !== "development") throw routeNotFound(c);
  await next();
});

export const devRouter = createRouter();
devRouter.use("/dev/*", developmentOnly);
devRouter.openapi(routes.mailbox, handlers.mailbox);
