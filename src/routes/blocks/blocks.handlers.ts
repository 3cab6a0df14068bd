import { and, desc, eq } from "drizzle-orm";
import { olderThan } from "../../db/keyset";
import { blocks, profiles } from "../../db/schema";
import { ApiError } from "../../lib/errors";
import { decodeCursor, toPage } from "../../lib/pagination";
import type { AppRouteHandler } from "../../lib/types";
import { currentUser } from "../../middleware/auth";
import { blockUser } from "../../services/blocks";
import { pushToRoom } from "../../services/objects";
import { endedEvent } from "../../services/room-protocol";
import type * as routes from "./blocks.routes";

function notYourself(): ApiError {
  return new ApiError("VALIDATION_FAILED", {
    detail: "path.id: you cannot block or unblock yourself",
    errors: [{ field: "path.id", message: "you cannot block or unblock yourself" }],
  });
}

export const block: AppRouteHandler<routes.BlockRoute> = async (c) => {
  const { userId } = currentUser(c);
  const { id } = c.req.valid("param");
  if (id === userId) throw notYourself();
  const { db, objects } = c.get("services");
  const now = new Date();
  const outcome = await blockUser(db, userId, id, now);
  if (outcome.kind === "inactive-blocker")
    throw new ApiError("FORBIDDEN", { detail: "This account cannot block now." });
  if (outcome.kind === "unknown-user") throw new ApiError("NOT_FOUND", { detail: "No such user." });
  for (const sessionId of outcome.endedSessions) {
    c.executionCtx.waitUntil(pushToRoom(objects, sessionId, endedEvent(sessionId, userId, now, "blocked")));
  }
  return c.body(null, 204);
};

export const unblock: AppRouteHandler<routes.UnblockRoute> = async (c) => {
  const { userId } = currentUser(c);
  const { id } = c.req.valid("param");
  if (id === userId) throw notYourself();
  await c
    .get("services")
    .db.delete(blocks)
    .where(and(eq(blocks.blockerId, userId), eq(blocks.blockedId, id)));
  return c.body(null, 204);
};

export const list: AppRouteHandler<routes.ListRoute> = async (c) => {
  const { userId } = currentUser(c);
  const { cursor, limit } = c.req.valid("query");
  const after = cursor ? decodeCursor(cursor) : undefined;
  const rows = await c
    .get("services")
    .db.select({ userId: blocks.blockedId, displayName: profiles.displayName, createdAt: blocks.createdAt })
    .from(blocks)
    .leftJoin(profiles, eq(profiles.userId, blocks.blockedId))
    .where(and(eq(blocks.blockerId, userId), olderThan(blocks.createdAt, blocks.blockedId, after)))
    .orderBy(desc(blocks.createdAt), desc(blocks.blockedId))
    .limit(limit + 1);
  return c.json(
    await toPage(
      rows,
      limit,
      (row) => ({ at: row.createdAt, id: row.userId }),
      (row) => ({ user_id: row.userId, display_name: row.displayName, blocked_at: row.createdAt.toISOString() }),
    ),
    200,
  );
};
