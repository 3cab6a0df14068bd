import { eq } from "drizzle-orm";
import { profiles } from "../../db/schema";
import { admitted } from "../../lib/admitted";
import type { AppRouteHandler } from "../../lib/types";
import { currentUser } from "../../middleware/auth";
import { blockedEitherWay } from "../../services/blocks";
import { onlineCounts, presenceTtlSeconds, recordPing, whoIsOnline } from "../../services/presence";
import type * as routes from "./presence.routes";

export const ping: AppRouteHandler<routes.PingRoute> = async (c) => {
  const { userId } = currentUser(c);
  const { db, redis } = c.get("services");
  // The profile's level and the token's revocation read together; the ping is recorded after both.
  const [[profile]] = await Promise.all([
    db.select({ level: profiles.level }).from(profiles).where(eq(profiles.userId, userId)),
    admitted(c),
  ]);
  const level = profile?.level ?? null;
  await recordPing(redis, userId, level, Date.now());
  return c.json({ status: "online" as const, expires_in: presenceTtlSeconds, level }, 200);
};

export const online: AppRouteHandler<routes.OnlineRoute> = async (c) => {
  return c.json(await onlineCounts(c.get("services").redis, Date.now()), 200);
};

export const status: AppRouteHandler<routes.StatusRoute> = async (c) => {
  const { userId } = currentUser(c);
  const { user_ids } = c.req.valid("query");
  const { db, redis } = c.get("services");
  // Someone who blocked the caller (or whom the caller blocked) always reads as offline.
  const [onlineIds, hidden] = await Promise.all([whoIsOnline(redis, user_ids), blockedEitherWay(db, userId, user_ids)]);
  return c.json({ items: user_ids.map((id) => ({ user_id: id, online: onlineIds.has(id) && !hidden.has(id) })) }, 200);
};
