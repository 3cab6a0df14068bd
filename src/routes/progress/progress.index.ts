import { createRouter } from "../../lib/create-router";
import * as handlers from "./progress.handlers";
import * as routes from "./progress.routes";

export const progressRouter = createRouter()
  .openapi(routes.streak, handlers.streak)
  .openapi(routes.badges, handlers.badges)
  .openapi(routes.corrections, handlers.corrections);
