import { cors as honoCors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import { getConfig } from "../config";
import { ApiError } from "../lib/errors";
import type { AppBindings } from "../lib/types";

/**
 * CORS for the origins in `CORS_ORIGINS` only. A preflight from any other origin is refused
 * outright (403) rather than answered without the allow headers. An OPTIONS that is not a
 * preflight (no `Access-Control-Request-Method`) is an ordinary request: routing answers it (405
 * with `Allow` on a known path, 404 elsewhere), not CORS.
 */
export const cors = createMiddleware<AppBindings>(async (c, next) => {
  const allowed = getConfig(c.env).corsOrigins;
  const origin = c.req.header("origin");
  const isPreflight = c.req.method === "OPTIONS" && c.req.header("access-control-request-method") !== undefined;
  if (isPreflight && (!origin || !allowed.has(origin))) {
    throw new ApiError("CORS_ORIGIN_NOT_ALLOWED", { detail: `Origin ${origin ?? "(none)"} may not call this API.` });
  }
  if (c.req.method === "OPTIONS" && !isPreflight) return next();
  return honoCors({
    origin: (requestOrigin) => (allowed.has(requestOrigin) ? requestOrigin : null),
    allowMethods: ["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
    allowHeaders: ["Authorization", "Content-Type", "X-Request-Id"],
    exposeHeaders: ["X-Request-Id", "Retry-After", "RateLimit", "RateLimit-Policy", "WWW-Authenticate"],
    maxAge: 600,
  })(c, next);
});
