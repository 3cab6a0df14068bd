import { createRouter } from "../../lib/create-router";
import * as handlers from "./match.handlers";
import * as routes from "./match.routes";

export const matchRouter = createRouter()
  .openapi(routes.attempt, handlers.attempt)
  .openapi(routes.status, handlers.status)
  .openapi(routes.cancel, handlers.cancel)
  .openapi(routes.socket, handlers.socket);
