import type { Context } from "hono";
import type { AppBindings } from "./types";

/**
 * Waits for the caller's revocation read, sending it if it has not gone yet: a handler behind
 * `authenticatedLimited` awaits it together with its first wait, before it changes anything.
 * @throws ApiError the revoked caller's problem (403 `ACCOUNT_SUSPENDED`, else 401)
 */
export function admitted(c: Context<AppBindings>): Promise<void> {
  return c.get("accessCheck")?.() ?? Promise.resolve();
}
