import { sql } from "drizzle-orm";
import type { Database } from "../db/client";

export type BlockOutcome = { kind: "blocked"; endedSessions: string[] } | { kind: "unknown-user" };

/**
 * Records that `blockerId` blocked `blockedId` (once, however often asked) and ends every
 * active session the two share, in one statement.
 */
export async function blockUser(db: Database, blockerId: string, blockedId: string, now: Date): Promise<BlockOutcome> {
  const result = await db.execute<{ target_exists: boolean; ended: string[] | null }>(sql`
    with target as (
      select id from users where id = ${blockedId}
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
    select exists (select 1 from target) as target_exists, (select array_agg(id) from ended) as ended
  `);
  const row = result.rows[0];
  if (!row?.target_exists) return { kind: "unknown-user" };
  return { kind: "blocked", endedSessions: row.ended ?? [] };
}
