import { createMiddleware } from "hono/factory";
import { ApiError } from "../lib/errors";
import type { AppBindings } from "../lib/types";
import { currentUser } from "./auth";

/** Admins only; everyone else signed in gets 403. Runs after `requireAuth`. */
export const requireAdmin = createMiddleware<AppBindings>(async (c, next) => {
  if (currentUser(c).role !== "admin") throw new ApiError("FORBIDDEN", { detail: "Only admins may do this." });
  await next();
});
