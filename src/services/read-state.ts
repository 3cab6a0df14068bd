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
 * (`unchanged`, with the position that holds). Runs on the HTTP path, or the room's kept
 * connection for a `read` frame.
 */
export async function markRead(
  db: Database,
  sessionId: string,
  userId: string,
  upTo: string,
  now: Date,
): Promise<ReadOutcome> {
  const result = await db.execute<{ found: boolean; moved: boolean; up_to: string | null; read_at: string | null }>(
    sql`
    with target as (
      select m.id, m.created_at from messages m
      join session_participants p on p.session_id = m.session_id and p.user_id = ${userId}
      where m.id = ${upTo} and m.session_id = ${sessionId}
    ), current as (
      select r.created_at, r.id, p.last_read_at from session_participants p
      join messages r on r.id = p.read_up_to
      where p.session_id = ${sessionId} and p.user_id = ${userId}
    ), moved as (
      update session_participants p set read_up_to = target.id, last_read_at = ${now}
      from target
      where p.session_id = ${sessionId} and p.user_id = ${userId}
        and not exists (select 1 from current where (current.created_at, current.id) >= (target.created_at, target.id))
      returning p.read_up_to, p.last_read_at
    )
    select exists (select 1 from target) as found, exists (select 1 from moved) as moved,
      coalesce((select read_up_to from moved), (select id from current)) as up_to,
      coalesce((select last_read_at from moved), (select last_read_at from current)) as read_at
  `,
  );
  const row = result.rows[0];
  if (!row?.found || !row.up_to || !row.read_at) return { kind: "not-found" };
  const position = { up_to: row.up_to, read_at: new Date(row.read_at).toISOString() };
  return row.moved ? { kind: "moved", position } : { kind: "unchanged", position };
}
