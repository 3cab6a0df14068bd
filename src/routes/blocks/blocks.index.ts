import { createRouter } from "../../lib/create-router";
import * as handlers from "./blocks.handlers";
import * as routes from "./blocks.routes";

export const blocksRouter = createRouter()
  .openapi(routes.block, handlers.block)
  .openapi(routes.unblock, handlers.unblock)
  .openapi(routes.list, handlers.list);
