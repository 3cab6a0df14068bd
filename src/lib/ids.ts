import { z } from "@hono/zod-openapi";

/**
 * An id a client sends: a UUID in any case, lower-cased, so that one id is one string everywhere
 * it is compared or used as a name (self-checks, Redis keys, the room a session's id names).
 */
export function idSchema() {
  return z.uuid().toLowerCase();
}
