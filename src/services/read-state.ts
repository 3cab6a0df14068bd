import { sql } from "drizzle-orm";
import type { Database } from "../db/client";
import type { SessionEvent } from "./room-protocol";

/** How far a participant has read: the newest message seen (`up_to`) and when (`read_at`). */
export interface ReadPosition {
  up_to: string;
  read_at: string;
}

/** The `read` push of a position that moved forward. */
export function readEvent(userId: string, position: ReadPosition): SessionEvent {
  return { type: "read", user_id: userId, ...position };
}

export type ReadOutcome =
  | { kind: "moved"; position: ReadPosition }
  | { kind: "unchanged"; position: ReadPosition }
  | { kind: "not-found" };

/**
 * Records that `userId` has read `sessionId` up to the message `upTo` (SPEC §10), in one
 * statement: the message must be of that session and the caller one of its participants
 * (`not-found` otherwise, the same for both, so nothing is learnt of another's session). The
 * position only moves forward in the session's order (`created_at`, then id): a read that
 * arrives late, from another device or a retried request, leaves a newer one as it was
 * (`unchanged`, with the position that holds, read again: a second round trip on that path only).
 * The forward check sits in the update's own condition, which Postgres evaluates again on the row
 * a racing read just committed, so of two racing reads the older never wins. Reading up to one's
 * own message counts too: it says everything before it has been seen. Runs on the HTTP path, or
 * the room's kept connection for a `read` frame.
 */
export async function markRead(
  db: Database,
  sessionId: string,
  userId: string,
  upTo: string,
  now: Date,
): Promise<ReadOutcome> {
  const result = await db.execute<{ found: boolean; up_to: string | null; read_at: string | null }>(sql`
    with target as (
      select m.id, m.created_at from messages m
      join session_participants p on p.session_id = m.session_id and p.user_id = ${userId}
      where m.id = ${upTo} and m.session_id = ${sessionId}
    ), moved as (
      update session_participants p set read_up_to = target.id, last_read_at = ${now}
      from target
      where p.session_id = ${sessionId} and p.user_id = ${userId}
        and coalesce((select (r.created_at, r.id) < (target.created_at, target.id)
                      from messages r where r.id = p.read_up_to), true)
      returning p.read_up_to, p.last_read_at
    )
    select exists (select 1 from target) as found, (select read_up_to from moved) as up_to,
      (select last_read_at from moved) as read_at
  `);
  const row = result.rows[0];
  if (!row?.found) return { kind: "not-found" };
  if (row.up_to && row.read_at) {
    return { kind: "moved", position: { up_to: row.up_to, read_at: new Date(row.read_at).toISOString() } };
  }
  const held = await db.execute<{ up_to: string | null; read_at: string | null }>(sql`
    select read_up_to as up_to, last_read_at as read_at from session_participants
    where session_id = ${sessionId} and user_id = ${userId}
  `);
  const position = held.rows[0];
  if (!position?.up_to || !position.read_at) return { kind: "not-found" };
  return { kind: "unchanged", position: { up_to: position.up_to, read_at: new Date(position.read_at).toISOString() } };
}
