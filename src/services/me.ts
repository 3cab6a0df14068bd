import { eq, isNull, type Placeholder, sql } from "drizzle-orm";
import { type Database, type HttpDatabase, isHttpDatabase } from "../db/client";
import { preparedPerClient } from "../db/prepared";
import { moderationNotices, users } from "../db/schema";
import { userView } from "../routes/auth/auth.views";

const meQuery = (db: Database, userId: string | Placeholder) =>
  db.query.users.findFirst({
    where: eq(users.id, userId),
    with: {
      profile: true,
      identities: { orderBy: (identity, { asc }) => [asc(identity.createdAt)] },
      notices: {
        columns: { id: true, action: true, reason: true, createdAt: true },
        where: isNull(moderationNotices.acknowledgedAt),
        orderBy: (notice, { asc }) => [asc(notice.createdAt), asc(notice.id)],
      },
    },
  });

const meStatement = preparedPerClient((db: HttpDatabase) => meQuery(db, sql.placeholder("userId")).prepare("me"));

/**
 * The account, its profile, its sign-in identities and the moderation notices it has not
 * acknowledged (oldest first), as `GET /me` shows them: one statement,
 * over the one-shot path; undefined when the account (or its profile) is gone. The benchmark's
 * ceiling runs it bare, to tell the route's own cost from its statement's.
 */
export async function findMe(db: Database, userId: string) {
  // Prepared only on the HTTP path, which sends its text every time: over a pool, a named statement
  // would stay on the server connection that PgBouncer hands to the next client.
  const user = isHttpDatabase(db) ? await meStatement(db).execute({ userId }) : await meQuery(db, userId);
  if (!user?.profile) return undefined;
  const { profile } = user;
  return {
    user: userView(user),
    profile: {
      display_name: profile.displayName,
      about: profile.about,
      level: profile.level,
      timezone: profile.timezone,
      interests: profile.interests,
      avatar_url: profile.avatarUrl,
      updated_at: profile.updatedAt.toISOString(),
    },
    identities: user.identities.map((identity) => ({
      provider: identity.provider,
      email: identity.email,
      email_verified: identity.emailVerified,
      created_at: identity.createdAt.toISOString(),
    })),
    notices: user.notices.map((notice) => ({
      id: notice.id,
      action: notice.action,
      reason: notice.reason,
      created_at: notice.createdAt.toISOString(),
    })),
  };
}

/**
 * Acknowledges one of `userId`'s moderation notices, so `GET /me` no longer shows it; again is
 * the same. False when no such notice is theirs (another user's is no different from none). One
 * statement over the HTTP path.
 */
export async function acknowledgeNotice(db: Database, userId: string, noticeId: string, now: Date): Promise<boolean> {
  // The first acknowledgement's time stays: a repeat changes nothing.
  const acknowledged = await db.execute<{ id: string }>(sql`
    update moderation_notices set acknowledged_at = coalesce(acknowledged_at, ${now})
    where id = ${noticeId} and user_id = ${userId}
    returning id
  `);
  return acknowledged.rows.length > 0;
}
