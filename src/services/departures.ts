import type { Redis } from "@upstash/redis/cloudflare";
import { sql } from "drizzle-orm";
import type { PoolDatabase, Queryable } from "../db/client";
import { type Level, levels, type ReportReason } from "../db/schema/enums";
import { describeError, log } from "../lib/logger";
import type { ObjectCalls } from "./objects";
import { type RevocationReason, revokeAccess } from "./revocation";
import { endedEvent } from "./room-protocol";

/** What a user leaves behind when they are suspended, delete their account or sign out everywhere. */
export interface Departure {
  /** Active sessions that ended because the user left; each partner is told. */
  endedSessions: string[];
  /** Sessions that go on without this user's devices (a sign-out everywhere): their sockets close. */
  leftSessions?: string[];
  /** The attempt that was waiting for a partner, withdrawn from its level's object. */
  cancelledAttempt: { id: string; level: Level } | null;
}

/**
 * In one statement: ends every active session of `userId` and cancels their queued attempt.
 * Run in the transaction of the suspension or deletion itself, on the request's pool: what it
 * ends and cancels must commit with them, or not at all.
 */
export async function leaveEverything(tx: Queryable, userId: string, now: Date): Promise<Departure> {
  const result = await tx.execute<{ ended: string[] | null; attempt_id: string | null; level: Level | null }>(sql`
    with ended as (
      update sessions set status = 'ended', ended_at = ${now},
        duration_sec = greatest(0, floor(extract(epoch from (${now}::timestamptz - started_at))))::int
      where status = 'active' and id in (select session_id from session_participants where user_id = ${userId})
      returning id
    ), cancelled as (
      update match_attempts set status = 'cancelled', resolved_at = ${now}
      where user_id = ${userId} and status = 'queued'
      returning id, level
    )
    select (select array_agg(id) from ended) as ended,
      (select id from cancelled limit 1) as attempt_id, (select level from cancelled limit 1) as level
  `);
  const row = result.rows[0];
  return {
    endedSessions: row?.ended ?? [],
    cancelledAttempt: row?.attempt_id && row.level ? { id: row.attempt_id, level: row.level } : null,
  };
}

/**
 * After the commit: refuses the user's access tokens from now on, tells the partners of the
 * sessions that ended, withdraws the attempt from its matchmaker and closes the user's sockets
 * everywhere: every matchmaker, and the room of every session they ended or left (4004). The
 * database already says all of it, so each step is best effort and logged. A suspension's
 * `suspensionReason` rides with the revocation, so a refused token is told why.
 */
export async function announceDeparture(
  deps: { redis: Redis; objects: ObjectCalls },
  userId: string,
  reason: RevocationReason,
  departure: Departure,
  now: Date,
  suspensionReason?: ReportReason | null,
): Promise<void> {
  const { cancelledAttempt } = departure;
  const steps = await Promise.allSettled([
    revokeAccess(deps.redis, userId, reason, now, suspensionReason),
    ...departure.endedSessions.map((sessionId) =>
      deps.objects.room(sessionId, async (room) => {
        await room.broadcast(endedEvent(sessionId, userId, now, reason === "signed-out" ? "ended" : reason));
        await room.disconnect(userId);
      }),
    ),
    ...(departure.leftSessions ?? []).map((sessionId) =>
      deps.objects.room(sessionId, async (room) => {
        await room.disconnect(userId);
      }),
    ),
    ...levels.map((level) =>
      deps.objects.matchmaker(level, async (matchmaker) => {
        if (cancelledAttempt?.level === level) await matchmaker.cancel(cancelledAttempt.id);
        await matchmaker.disconnect(userId);
      }),
    ),
  ]);
  for (const step of steps) {
    if (step.status === "rejected") {
      log("warn", "a departure was not announced everywhere", { user_id: userId, ...describeError(step.reason) });
    }
  }
}

/**
 * Deletes the account in one transaction: first it leaves its sessions and queue, then the user
 * row goes (cascading to identities, tokens, profile, blocks, streak, badges and memberships;
 * messages stay with the sender shown as deleted), and so do the sign-in codes of its address.
 * Returns null when there was no such account. It needs the request's pool: an interactive
 * transaction, since what the first statement ended is what the caller must announce.
 *
 * The user's row is locked before their sessions, the order a suspension and a report and leave
 * take them in: the other order deadlocks with either (PostgreSQL aborts one of the two).
 */
export async function deleteAccount(db: PoolDatabase, userId: string, now: Date): Promise<Departure | null> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select 1 from users where id = ${userId} for update`);
    const departure = await leaveEverything(tx, userId, now);
    const deleted = await tx.execute<{ email: string }>(sql`
      with gone as (delete from users where id = ${userId} returning email),
      codes as (delete from auth_email_tokens where email in (select email from gone))
      select email from gone
    `);
    return deleted.rows.length > 0 ? departure : null;
  });
}
