import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
import { log } from "../lib/logger";
import type { AppBindings } from "../lib/types";

/** One structured line per request, written after the response is decided. */
export const requestLog = createMiddleware<AppBindings>(async (c, next) => {
  const started = performance.now();
  await next();
  const route = routePath(c);
  const url = new URL(c.req.url);
  log(c.res.status >= 500 ? "error" : "info", "request", {
    request_id: c.get("requestId"),
    method: c.req.method,
    route: route === "*" || route === "/*" ? null : route,
    path: url.pathname + url.search,
    status: c.res.status,
    latency_ms: Math.round((performance.now() - started) * 100) / 100,
    user_id: c.get("userId") ?? null,
  });
});
