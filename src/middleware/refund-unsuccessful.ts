import { createMiddleware } from "hono/factory";
import { refundRateLimits } from "../lib/rate-limit";
import type { AppBindings } from "../lib/types";

/**
 * A request that does not succeed (any answer outside 2xx: refused, invalid, a dependency down)
 * gives back what it was counted against, so nobody's failed requests use up their quota
 * (SPEC §10). Rules that count every attempt, such as sign-in code checks, keep their counts.
 */
export const refundUnsuccessful = createMiddleware<AppBindings>(async (c, next) => {
  await next();
  if (c.res.status < 200 || c.res.status > 299) await refundRateLimits(c);
});
