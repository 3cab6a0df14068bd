import { createRouter } from "../../lib/create-router";
import * as handlers from "./auth.handlers";
import * as routes from "./auth.routes";

export const authRouter = createRouter()
  .openapi(routes.requestEmailCode, handlers.requestEmailCode)
  .openapi(routes.verifyEmailCode, handlers.verifyEmailCode)
  .openapi(routes.refresh, handlers.refresh)
  .openapi(routes.logout, handlers.logout)
  .openapi(routes.googleLogin, handlers.googleLogin)
  .openapi(routes.googleCallback, handlers.googleCallback);
