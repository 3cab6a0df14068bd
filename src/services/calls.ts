import { sql } from "drizzle-orm";
import type { Database } from "../db/client";
import type { CallEndReason } from "../db/schema/enums";

/** A call as the session's room keeps it. */
export interface CallRecord {
  id: string;
  sessionId: string;
  startedBy: string;
  startedAt: number;
  connectedAt: number | null;
  endedAt: number | null;
  endReason: CallEndReason | null;
}

/** Seconds spoken: from connection to end (or to `now` while the call goes on); 0 if never connected. */
export function spokenSeconds(call: Pick<CallRecord, "connectedAt" | "endedAt">, now: number): number {
  if (call.connectedAt === null) return 0;
  return Math.max(0, Math.floor(((call.endedAt ?? now) - call.connectedAt) / 1000));
}

const at = (ms: number | null) => (ms === null ? null : new Date(ms));

/**
 * Writes the call's row as the room knows it, in one statement: inserted when the call starts,
 * updated as it connects and ends. Returns false when the id already names a call of another
 * session, which this one may not take over. The session room runs it on its kept connection,
 * where it costs one round trip.
 */
export async function recordCall(db: Database, call: CallRecord, now: number): Promise<boolean> {
  const result = await db.execute<{ id: string }>(sql`
    insert into calls (id, session_id, started_by, started_at, connected_at, ended_at, duration_sec, end_reason)
    values (${call.id}, ${call.sessionId}, ${call.startedBy}, ${at(call.startedAt)}, ${at(call.connectedAt)},
      ${at(call.endedAt)}, ${call.endedAt === null ? null : spokenSeconds(call, now)}, ${call.endReason})
    on conflict (id) do update set connected_at = excluded.connected_at, ended_at = excluded.ended_at,
      duration_sec = excluded.duration_sec, end_reason = excluded.end_reason
      where calls.session_id = excluded.session_id
    returning id
  `);
  return result.rows.length > 0;
}

/**
 * Awards `FIRST_CALL` to whichever of `userIds` still have an account and do not have it yet. One
 * statement, on the session room's kept connection.
 */
export async function awardFirstCall(db: Database, userIds: string[], now: Date): Promise<void> {
  if (userIds.length === 0) return;
  await db.execute(sql`
    insert into user_badges (user_id, badge, awarded_at)
    select id, 'FIRST_CALL', ${now} from users where id in ${userIds}
    on conflict do nothing
  `);
}
