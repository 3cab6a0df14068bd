import { sql } from "drizzle-orm";
import type { Database } from "../db/client";
import type { Level, ReportReason } from "../db/schema/enums";
import type { SessionView } from "./sessions";

/** Another account as the history names it; null for an account since deleted. */
export interface HistoryUser {
  id: string;
  email: string;
  display_name: string | null;
  status: "active" | "suspended";
}

/**
 * What a moderator reads about a user before deciding (docs/console.md): the account, the reports
 * against them, their sessions and the ratings their partners gave those sessions. Timestamps are
 * as Postgres writes them into JSON (with an offset); the route turns them into ISO 8601 UTC.
 */
export interface UserHistory {
  user: {
    id: string;
    email: string;
    display_name: string | null;
    level: Level | null;
    role: "user" | "admin";
    status: "active" | "suspended";
    held_at: string | null;
    suspended_at: string | null;
    suspension_reason: ReportReason | null;
    created_at: string;
  };
  reports: {
    /** Every report ever filed against them, and how many of those are open. */
    total: number;
    open: number;
    /** The newest `limit`, newest first. */
    items: {
      id: string;
      status: "open" | "closed";
      reason: ReportReason;
      action: "none" | "warn" | "suspend" | null;
      session_id: string | null;
      reporter: HistoryUser | null;
      created_at: string;
      closed_at: string | null;
    }[];
  };
  sessions: {
    total: number;
    /** The newest `limit`, newest first. */
    items: (Pick<SessionView, "id" | "level" | "status" | "started_at" | "ended_at" | "duration_sec"> & {
      partner: HistoryUser | null;
    })[];
  };
  ratings: {
    /** Ratings (1–5) partners gave sessions with them; `average` is null without any. */
    count: number;
    average: number | null;
    /** The newest `limit`, newest first by the rater's end of the session. */
    items: { session_id: string; rating: number; by: HistoryUser | null; rated_at: string | null }[];
  };
}

/** `{id, email, display_name, status}` of the user row `u` and profile row `p` of a subquery, or null. */
const historyUser = (u: string, p: string) =>
  sql.raw(
    `case when ${u}.id is null then null else jsonb_build_object('id', ${u}.id, 'email', ${u}.email, ` +
      `'display_name', ${p}.display_name, 'status', ${u}.status) end`,
  );

/**
 * The user's history for moderators, or undefined for no such user: the newest `limit` reports
 * against them, sessions and ratings received, with totals. One statement over the HTTP path
 * (each part a subquery on an index: reports by target, participants by user, calls by session).
 * Ratings are the numbers only: what a partner wrote with theirs is their own note.
 */
export async function userHistory(db: Database, userId: string, limit: number): Promise<UserHistory | undefined> {
  const result = await db.execute<{ history: UserHistory }>(sql`
    select jsonb_build_object(
      'user', jsonb_build_object(
        'id', u.id, 'email', u.email, 'display_name', p.display_name, 'level', p.level, 'role', u.role,
        'status', u.status, 'held_at', u.held_at, 'suspended_at', u.suspended_at,
        'suspension_reason', u.suspension_reason, 'created_at', u.created_at
      ),
      'reports', jsonb_build_object(
        'total', (select count(*) from reports r where r.target_user_id = u.id),
        'open', (select count(*) from reports r where r.target_user_id = u.id and r.status = 'open'),
        'items', (
          select coalesce(jsonb_agg(jsonb_build_object(
            'id', r.id, 'status', r.status, 'reason', r.reason, 'action', r.action, 'session_id', r.session_id,
            'reporter', ${historyUser("ru", "rp")}, 'created_at', r.created_at, 'closed_at', r.closed_at
          ) order by r.created_at desc, r.id desc), '[]'::jsonb)
          from (
            select * from reports where target_user_id = u.id order by created_at desc, id desc limit ${limit}
          ) r
          left join users ru on ru.id = r.reporter_id
          left join profiles rp on rp.user_id = r.reporter_id
        )
      ),
      'sessions', jsonb_build_object(
        'total', (select count(*) from session_participants sp where sp.user_id = u.id),
        'items', (
          select coalesce(jsonb_agg(jsonb_build_object(
            'id', s.id, 'level', s.level, 'status', s.status, 'started_at', s.started_at, 'ended_at', s.ended_at,
            'duration_sec', s.duration_sec, 'partner', ${historyUser("ou", "op")}
          ) order by s.started_at desc, s.id desc), '[]'::jsonb)
          from (
            select s.* from session_participants mine join sessions s on s.id = mine.session_id
            where mine.user_id = u.id order by s.started_at desc, s.id desc limit ${limit}
          ) s
          left join session_participants other on other.session_id = s.id and other.user_id <> u.id
          left join users ou on ou.id = other.user_id
          left join profiles op on op.user_id = other.user_id
        )
      ),
      'ratings', (
        select jsonb_build_object(
          'count', count(*),
          'average', round(avg(given.rating), 2),
          'items', coalesce(
            (jsonb_agg(jsonb_build_object(
              'session_id', given.session_id, 'rating', given.rating, 'by', given.by, 'rated_at', given.ended_at
            ) order by given.ended_at desc nulls last, given.session_id desc)
            filter (where given.position <= ${limit})),
            '[]'::jsonb
          )
        )
        from (
          select other.session_id, other.rating, other.ended_at, ${historyUser("ou", "op")} as by,
            row_number() over (order by other.ended_at desc nulls last, other.session_id desc) as position
          from session_participants mine
          join session_participants other on other.session_id = mine.session_id and other.user_id <> mine.user_id
          left join users ou on ou.id = other.user_id
          left join profiles op on op.user_id = other.user_id
          where mine.user_id = u.id and other.rating is not null
        ) given
      )
    ) as history
    from users u left join profiles p on p.user_id = u.id
    where u.id = ${userId}
  `);
  return result.rows[0]?.history;
}
