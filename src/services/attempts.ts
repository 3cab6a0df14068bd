import { sql } from "drizzle-orm";
import type { Database } from "../db/client";
import type { Level } from "../db/schema/enums";
import type { EnqueueResult } from "../durable-objects/matchmaker";
import { loadCandidate, type MatchCandidate } from "./match-store";
import type { QueueEntry } from "./matching";
import type { ObjectCalls } from "./objects";

/** A queued attempt as the database has it. */
export interface QueuedAttempt {
  id: string;
  userId: string;
  level: Level;
  createdAt: Date;
}

/** The queue entry of `attempt` for its level's object: who its owner must never meet, and since when it waits. */
export function queueEntry(candidate: MatchCandidate, attempt: QueuedAttempt): QueueEntry {
  return {
    userId: candidate.userId,
    attemptId: attempt.id,
    level: attempt.level,
    displayName: candidate.displayName,
    enqueuedAt: attempt.createdAt.getTime(),
    blocked: candidate.blocked,
    avoid: candidate.avoid,
    interests: candidate.interests,
  };
}

/**
 * Hands a queued attempt back to its level's object when the object does not hold it: its
 * hand-off was lost (say the statement that queued it committed only after its request had
 * given up on the database). The object pairs it at once if it can. Safe to repeat: an attempt
 * the object holds is left as it is, at the cost of one call to the object. Its statements are
 * one-shot reads: the status route passes the HTTP path.
 */
export async function reattach(
  deps: { db: Database; objects: ObjectCalls },
  attempt: QueuedAttempt,
): Promise<EnqueueResult | "held" | "gone"> {
  const held = await deps.objects.matchmaker(attempt.level, (matchmaker) => matchmaker.holds([attempt.id]));
  return held.length > 0 ? "held" : handBack(deps, attempt);
}

/**
 * Gives an attempt its object does not hold to that object, if its owner still waits with it and
 * is not held for review. Its
 * statements are one-shot reads: the cron sweep, and the status route through `reattach`, pass the
 * HTTP path.
 */
export async function handBack(
  deps: { db: Database; objects: ObjectCalls },
  attempt: QueuedAttempt,
): Promise<EnqueueResult | "gone"> {
  const candidate = await loadCandidate(deps.db, attempt.userId);
  // A held owner's attempt is not handed to anyone, even one queued in the instant the hold began.
  if (!candidate || candidate.held || candidate.queuedAttempt?.id !== attempt.id) return "gone";
  return deps.objects.matchmaker(
    attempt.level,
    async (matchmaker): Promise<EnqueueResult> => matchmaker.enqueue(queueEntry(candidate, attempt)),
  );
}

/**
 * Attempts queued in the database between `createdAfter` and `createdBefore`, oldest first, at
 * most `limit`: the cron sweep makes sure each is held by its object. One statement over the HTTP
 * path.
 */
export async function queuedAttempts(
  db: Database,
  window: { createdAfter: Date; createdBefore: Date },
  limit: number,
): Promise<QueuedAttempt[]> {
  const result = await db.execute<{ id: string; user_id: string; level: Level; created_at: string | Date }>(sql`
    select id, user_id, level, created_at from match_attempts
    where status = 'queued' and created_at > ${window.createdAfter} and created_at < ${window.createdBefore}
    order by created_at limit ${limit}
  `);
  return result.rows.map((row) => ({
    id: row.id,
    userId: row.user_id,
    level: row.level,
    createdAt: new Date(row.created_at),
  }));
}
