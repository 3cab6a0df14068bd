import { eq, type Placeholder, sql } from "drizzle-orm";
import { type Database, type HttpDatabase, isHttpDatabase } from "../db/client";
import { preparedPerClient } from "../db/prepared";
import { users } from "../db/schema";
import { userView } from "../routes/auth/auth.views";

const meQuery = (db: Database, userId: string | Placeholder) =>
  db.query.users.findFirst({
    where: eq(users.id, userId),
    with: { profile: true, identities: { orderBy: (identity, { asc }) => [asc(identity.createdAt)] } },
  });

const meStatement = preparedPerClient((db: HttpDatabase) => meQuery(db, sql.placeholder("userId")).prepare("me"));

/**
 * The account, its profile and its sign-in identities, as `GET /me` shows them: one statement,
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
  };
}
