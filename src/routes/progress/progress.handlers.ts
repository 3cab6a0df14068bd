import { asc, eq } from "drizzle-orm";
import { profiles, streaks, userBadges } from "../../db/schema";
import { decodeCursor, toPage } from "../../lib/pagination";
import type { AppRouteHandler } from "../../lib/types";
import { currentUser } from "../../middleware/auth";
import { listCorrections } from "../../services/corrections";
import { localDate, visibleStreak } from "../../services/streaks";
import type * as routes from "./progress.routes";

export const streak: AppRouteHandler<routes.StreakRoute> = async (c) => {
  const { userId } = currentUser(c);
  const [row] = await c
    .get("services")
    .db.select({ streak: streaks, timezone: profiles.timezone })
    .from(profiles)
    .leftJoin(streaks, eq(streaks.userId, profiles.userId))
    .where(eq(profiles.userId, userId));
  const state = visibleStreak(
    {
      current: row?.streak?.current ?? 0,
      longest: row?.streak?.longest ?? 0,
      lastActiveDate: row?.streak?.lastActiveDate ?? null,
    },
    localDate(new Date(), row?.timezone ?? "UTC"),
  );
  return c.json({ current: state.current, longest: state.longest, last_active_date: state.lastActiveDate }, 200);
};

export const badges: AppRouteHandler<routes.BadgesRoute> = async (c) => {
  const rows = await c
    .get("services")
    .db.select()
    .from(userBadges)
    .where(eq(userBadges.userId, currentUser(c).userId))
    .orderBy(asc(userBadges.awardedAt), asc(userBadges.badge));
  return c.json({ items: rows.map((row) => ({ badge: row.badge, awarded_at: row.awardedAt.toISOString() })) }, 200);
};

export const corrections: AppRouteHandler<routes.CorrectionsRoute> = async (c) => {
  const { cursor, limit } = c.req.valid("query");
  const rows = await listCorrections(
    c.get("services").db,
    currentUser(c).userId,
    limit,
    cursor ? decodeCursor(cursor) : undefined,
  );
  return c.json(
    await toPage(
      rows,
      limit,
      (row) => ({ at: new Date(row.created_at), id: row.id }),
      (row) => ({
        id: row.id,
        session_id: row.session_id,
        original: row.original,
        corrected: row.corrected,
        corrector: row.corrector_id ? { id: row.corrector_id, display_name: row.corrector_name } : null,
        created_at: new Date(row.created_at).toISOString(),
      }),
    ),
    200,
  );
};
