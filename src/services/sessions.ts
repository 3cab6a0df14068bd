import { and, desc, eq, ne, type SQL, type SQLWrapper, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { Database, PoolDatabase } from "../db/client";
import { olderThan } from "../db/keyset";
import { profiles, sessionParticipants, sessions } from "../db/schema";
import type { CallEndReason, Level } from "../db/schema/enums";
import type { KeysetPosition } from "../lib/pagination";
import { recordPractice } from "./streaks";
import { type TopicView, topicJson } from "./topics";

const mine = alias(sessionParticipants, "mine");
const other = alias(sessionParticipants, "other");

export interface SessionView {
  id: string;
  level: Level;
  status: "active" | "ended";
  started_at: string;
  ended_at: string | null;
  duration_sec: number | null;
  spoken_sec: number;
  /** The session's calls, oldest first. */
  calls: CallView[];
  partner: { id: string; display_name: string | null; level: Level | null } | null;
  my_rating: number | null;
  my_notes: string | null;
  topic: TopicView | null;
  shared_interests: string[];
  unread_count: number;
  partner_read_up_to: string | null;
  partner_last_read_at: string | null;
}

export interface CallView {
  id: string;
  started_by: string | null;
  started_at: string;
  connected_at: string | null;
  ended_at: string | null;
  duration_sec: number | null;
  end_reason: CallEndReason | null;
}

const iso = (value: string | null) => (value === null ? null : new Date(value).toISOString());

/** Seconds spoken in the session's calls: connected time, a call going on counted up to now. */
const spokenSec = sql<number>`(
  select coalesce(sum(greatest(0, floor(extract(epoch from (coalesce(c.ended_at, now()) - c.connected_at))))), 0)::int
  from calls c where c.session_id = ${sessions.id} and c.connected_at is not null
)`.mapWith(Number);

export type CallJson = Omit<CallView, "started_at" | "connected_at" | "ended_at"> &
  Record<"started_at" | "connected_at" | "ended_at", string | null>;

/** The calls of the session `sessionId` names, oldest first, as JSON: `[]` for none (or no session). */
export function callsOf(sessionId: SQLWrapper) {
  return sql<CallJson[]>`(
    select coalesce(json_agg(json_build_object(
      'id', c.id, 'started_by', c.started_by, 'started_at', c.started_at, 'connected_at', c.connected_at,
      'ended_at', c.ended_at, 'duration_sec', c.duration_sec, 'end_reason', c.end_reason) order by c.started_at, c.id), '[]')
    from calls c where c.session_id = ${sessionId}
  )`;
}

/** A call as the API shows it, from its JSON: instants in ISO 8601. */
export function toCallView(call: CallJson): CallView {
  return {
    ...call,
    started_at: iso(call.started_at) ?? "",
    connected_at: iso(call.connected_at),
    ended_at: iso(call.ended_at),
  };
}

/**
 * The partner's messages the caller has not read: those after the caller's read position, as one
 * row comparison on (created_at, id) so the session's message index bounds it (no position: all).
 */
const unreadCount = sql<number>`(
  select count(*)::int from messages m
  where m.session_id = ${sessions.id} and m.sender_id is distinct from ${mine.userId} and m.deleted_at is null
    and (m.created_at, m.id) > (
      coalesce((select r.created_at from messages r where r.id = ${mine.readUpTo}), '-infinity'::timestamptz),
      coalesce(${mine.readUpTo}, '00000000-0000-0000-0000-000000000000'::uuid))
)`.mapWith(Number);

/** The session's current topic: the last one chosen. */
const currentTopic = sql<TopicView | null>`(
  select ${topicJson(sql`t`)} from session_topics st join topics t on t.id = st.topic_id
  where st.session_id = ${sessions.id} order by st.position desc limit 1
)`;

const sessionColumns = {
  spokenSec,
  calls: callsOf(sessions.id),
  topic: currentTopic,
  unreadCount,
  partnerReadUpTo: other.readUpTo,
  partnerLastReadAt: other.lastReadAt,
  id: sessions.id,
  level: sessions.level,
  status: sessions.status,
  startedAt: sessions.startedAt,
  endedAt: sessions.endedAt,
  durationSec: sessions.durationSec,
  sharedInterests: sessions.sharedInterests,
  rating: mine.rating,
  notes: mine.notes,
  partnerId: other.userId,
  partnerName: profiles.displayName,
  partnerLevel: profiles.level,
};

function sessionRows(db: Database, userId: string, where?: SQL) {
  return db
    .select(sessionColumns)
    .from(mine)
    .innerJoin(sessions, eq(sessions.id, mine.sessionId))
    .leftJoin(other, and(eq(other.sessionId, mine.sessionId), ne(other.userId, mine.userId)))
    .leftJoin(profiles, eq(profiles.userId, other.userId))
    .where(and(eq(mine.userId, userId), where));
}

type SessionRow = Awaited<ReturnType<typeof sessionRows>>[number];

export function toSessionView(row: SessionRow): SessionView {
  return {
    id: row.id,
    level: row.level,
    status: row.status,
    started_at: row.startedAt.toISOString(),
    ended_at: row.endedAt?.toISOString() ?? null,
    duration_sec: row.durationSec,
    spoken_sec: row.spokenSec,
    calls: row.calls.map(toCallView),
    // A partner who deleted their account leaves no participant row: shown as null.
    partner: row.partnerId ? { id: row.partnerId, display_name: row.partnerName, level: row.partnerLevel } : null,
    my_rating: row.rating,
    my_notes: row.notes,
    topic: row.topic,
    shared_interests: row.sharedInterests,
    unread_count: row.unreadCount,
    partner_read_up_to: row.partnerReadUpTo,
    partner_last_read_at: row.partnerLastReadAt?.toISOString() ?? null,
  };
}

/**
 * The caller's sessions, newest first, `limit + 1` rows from `after` (one round trip). It runs on
 * the HTTP path.
 */
export function listSessions(db: Database, userId: string, limit: number, after?: KeysetPosition) {
  return sessionRows(db, userId, olderThan(sessions.startedAt, sessions.id, after))
    .orderBy(desc(sessions.startedAt), desc(sessions.id))
    .limit(limit + 1);
}

/**
 * One session, only if the caller took part in it (one round trip). It runs on the HTTP path.
 */
export async function findSession(db: Database, userId: string, sessionId: string): Promise<SessionView | undefined> {
  const [row] = await sessionRows(db, userId, eq(sessions.id, sessionId));
  return row ? toSessionView(row) : undefined;
}

export type EndOutcome = { kind: "not-found" } | { kind: "ended"; endedNow: boolean; endedAt: Date };

/**
 * The caller leaves the session with a rating. The first call ends the session for both and
 * counts the practice for both participants' streaks and badges; each participant's own first call
 * records their rating and notes; later calls change nothing. Rows are locked, so two ends racing
 * end the session once. An interactive transaction on the request's pool: the rows are locked and
 * read before the streaks are counted from them.
 */
export async function endSession(
  db: PoolDatabase,
  userId: string,
  sessionId: string,
  feedback: { rating: number; notes?: string },
  now: Date,
): Promise<EndOutcome> {
  return db.transaction(async (tx) => {
    const [session] = await tx
      .select({ session: sessions, myEndedAt: sessionParticipants.endedAt })
      .from(sessions)
      .innerJoin(
        sessionParticipants,
        and(eq(sessionParticipants.sessionId, sessions.id), eq(sessionParticipants.userId, userId)),
      )
      .where(eq(sessions.id, sessionId))
      .for("update", { of: sessions });
    if (!session) return { kind: "not-found" as const };

    const endedNow = session.session.status === "active";
    const endedAt = endedNow ? now : (session.session.endedAt ?? now);
    if (endedNow) {
      await tx
        .update(sessions)
        .set({
          status: "ended",
          endedAt: now,
          durationSec: Math.max(0, Math.floor((now.getTime() - session.session.startedAt.getTime()) / 1000)),
        })
        .where(eq(sessions.id, sessionId));
    }
    if (session.myEndedAt === null) {
      await tx
        .update(sessionParticipants)
        .set({ rating: feedback.rating, notes: feedback.notes ?? null, endedAt: now })
        .where(and(eq(sessionParticipants.sessionId, sessionId), eq(sessionParticipants.userId, userId)));
    }
    if (endedNow) {
      const participants = await tx
        .select({ userId: sessionParticipants.userId })
        .from(sessionParticipants)
        .where(eq(sessionParticipants.sessionId, sessionId));
      for (const participant of participants) await recordPractice(tx, participant.userId, now);
    }
    return { kind: "ended" as const, endedNow, endedAt };
  });
}
