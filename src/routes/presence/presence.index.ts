import { createRouter } from "../../lib/create-router";
import * as handlers from "./presence.handlers";
import * as routes from "./presence.routes";

export const presenceRouter = createRouter()
  .openapi(routes.ping, handlers.ping)
  .openapi(routes.online, handlers.online)
  .openapi(routes.status, handlers.status);
