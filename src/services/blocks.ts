import { and, eq, inArray, or, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { blocks } from "../db/schema";

export type BlockOutcome =
  | { kind: "blocked"; endedSessions: string[] }
  | { kind: "unknown-user" }
  /** The blocker's own account is gone or suspended (a token that outlived it). */
  | { kind: "inactive-blocker" };

/**
 * Records that `blockerId` blocked `blockedId` (once, however often asked) and ends every
 * active session the two share, in one statement. Being one statement, it runs on the HTTP path:
 * one round trip.
 */
export async function blockUser(db: Database, blockerId: string, blockedId: string, now: Date): Promise<BlockOutcome> {
  const result = await db.execute<{ blocker_active: boolean; target_exists: boolean; ended: string[] | null }>(sql`
    with blocker as (
      select id from users where id = ${blockerId} and status = 'active'
    ), target as (
      select id from users where id = ${blockedId} and exists (select 1 from blocker)
    ), recorded as (
      insert into blocks (blocker_id, blocked_id, created_at)
      select ${blockerId}, id, ${now} from target
      on conflict do nothing
    ), shared as (
      select s.id from sessions s
      join session_participants mine on mine.session_id = s.id and mine.user_id = ${blockerId}
      join session_participants theirs on theirs.session_id = s.id and theirs.user_id = ${blockedId}
      where s.status = 'active'
    ), ended as (
      update sessions set status = 'ended', ended_at = ${now},
        duration_sec = greatest(0, floor(extract(epoch from (${now}::timestamptz - started_at))))::int
      where id in (select id from shared) and exists (select 1 from target)
      returning id
    )
    select exists (select 1 from blocker) as blocker_active, exists (select 1 from target) as target_exists,
      (select array_agg(id) from ended) as ended
  `);
  const row = result.rows[0];
  if (!row?.blocker_active) return { kind: "inactive-blocker" };
  if (!row.target_exists) return { kind: "unknown-user" };
  return { kind: "blocked", endedSessions: row.ended ?? [] };
}

/**
 * Which of `others` blocked `userId` or were blocked by them: one indexed read. It runs on the
 * HTTP path.
 */
export async function blockedEitherWay(db: Database, userId: string, others: string[]): Promise<Set<string>> {
  if (others.length === 0) return new Set();
  const rows = await db
    .select({ blockerId: blocks.blockerId, blockedId: blocks.blockedId })
    .from(blocks)
    .where(
      or(
        and(eq(blocks.blockerId, userId), inArray(blocks.blockedId, others)),
        and(eq(blocks.blockedId, userId), inArray(blocks.blockerId, others)),
      ),
    );
  return new Set(rows.map((row) => (row.blockerId === userId ? row.blockedId : row.blockerId)));
}
