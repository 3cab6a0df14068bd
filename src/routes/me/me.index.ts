import { createRouter } from "../../lib/create-router";
import * as handlers from "./me.handlers";
import * as routes from "./me.routes";

export const meRouter = createRouter()
  .openapi(routes.getMe, handlers.getMe)
  .openapi(routes.patchMe, handlers.patchMe)
  .openapi(routes.deleteMe, handlers.deleteMe)
  .openapi(routes.uploadAvatar, handlers.uploadAvatar)
  .openapi(routes.acknowledgeNotice, handlers.acknowledgeNotice);
