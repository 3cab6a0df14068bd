import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
import { enabled, log } from "../lib/logger";
import type { AppBindings } from "../lib/types";

/**
 * One structured line per request, written after the response is decided, and, where the
 * Analytics Engine binding exists (production), one data point: route, method and status as
 * blobs, latency and status as doubles, indexed by route.
 */
export const requestLog = createMiddleware<AppBindings>(async (c, next) => {
  const started = performance.now();
  await next();
  const latencyMs = Math.round((performance.now() - started) * 100) / 100;
  const matched = routePath(c);
  const route = matched === "*" || matched === "/*" ? null : matched;
  const url = new URL(c.req.url);
  c.env.METRICS?.writeDataPoint({
    indexes: [route ?? "unmatched"],
    blobs: [route ?? "unmatched", c.req.method, String(c.res.status)],
    doubles: [latencyMs, c.res.status],
  });
  const level = c.res.status >= 500 ? "error" : c.res.status >= 400 ? "warn" : "info";
  if (!enabled(level, c.get("config")?.logLevel ?? "info")) return;
  log(level, "request", {
    request_id: c.get("requestId"),
    method: c.req.method,
    route,
    path: url.pathname + url.search,
    status: c.res.status,
    latency_ms: latencyMs,
    user_id: c.get("userId") ?? null,
  });
});
