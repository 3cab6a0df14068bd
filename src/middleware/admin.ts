import { eq } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { users } from "../db/schema";
import { ApiError, accountSuspended } from "../lib/errors";
import type { AppBindings } from "../lib/types";
import { currentUser } from "./auth";

/**
 * Admins only; everyone else signed in gets 403. Runs after `requireAuth`. The role and status
 * are read from the database on every request (one primary-key read), not from the token, so a
 * suspended admin or one whose role was taken away loses access at once.
 */
export const requireAdmin = createMiddleware<AppBindings>(async (c, next) => {
  const { userId } = currentUser(c);
  const [account] = await c
    .get("services")
    .db.select({
      role: users.role,
      status: users.status,
      suspendedAt: users.suspendedAt,
      suspensionReason: users.suspensionReason,
    })
    .from(users)
    .where(eq(users.id, userId));
  if (!account) {
    throw new ApiError("UNAUTHORIZED", {
      detail: "This account no longer exists.",
      headers: { "WWW-Authenticate": 'Bearer realm="gaplash", error="invalid_token"' },
    });
  }
  if (account.status !== "active") {
    throw accountSuspended({ since: account.suspendedAt, reason: account.suspensionReason });
  }
  if (account.role !== "admin") throw new ApiError("FORBIDDEN", { detail: "Only admins may do this." });
  await next();
});
