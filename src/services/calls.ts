import { sql } from "drizzle-orm";
import type { Database } from "../db/client";
import type { CallEndReason } from "../db/schema/enums";

/** A call as the session's room keeps it; instants in epoch ms. */
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
 * Records a call that starts ringing, in one statement: only while the session is active, and
 * never over an existing row (an id names one call, for good). Returns `started`, `ended` when the
 * session has ended meanwhile, or `taken` when the id already names a call.
 */
export async function insertCall(
  db: Database,
  call: Pick<CallRecord, "id" | "sessionId" | "startedBy" | "startedAt">,
): Promise<"started" | "ended" | "taken"> {
  const result = await db.execute<{ status: string | null; id: string | null }>(sql`
    with session as (select status from sessions where id = ${call.sessionId}),
    started as (
      insert into calls (id, session_id, started_by, started_at)
      select ${call.id}, ${call.sessionId}, ${call.startedBy}, ${at(call.startedAt)}
      from session where status = 'active'
      on conflict (id) do nothing
      returning id
    )
    select (select status from session) as status, (select id from started) as id
  `);
  const row = result.rows[0];
  if (row?.id) return "started";
  return row?.status === "active" ? "taken" : "ended";
}

/**
 * Writes how the call moved on (connected, ended, spoken time), in one statement. A call that is
 * ended in Postgres is never written again, so a late or repeated write cannot reopen it or
 * change its spoken time. The session room runs it on its kept connection.
 */
export async function updateCall(db: Database, call: CallRecord, now: number): Promise<void> {
  await db.execute(sql`
    update calls set connected_at = ${at(call.connectedAt)}, ended_at = ${at(call.endedAt)},
      duration_sec = ${call.endedAt === null ? null : spokenSeconds(call, now)}, end_reason = ${call.endReason}
    where id = ${call.id} and session_id = ${call.sessionId} and ended_at is null
  `);
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
