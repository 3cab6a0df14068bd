import type { Redis } from "@upstash/redis/cloudflare";
import type { Database } from "../db/client";
import type { Level } from "../db/schema/enums";
import type { EnqueueResult } from "../durable-objects/matchmaker";
import type { SuspensionDetails } from "../lib/errors";
import { describeError, log } from "../lib/logger";
import { queueEntry } from "./attempts";
import { latestAttempt, openAttempt, resolveAttempts } from "./match-store";
import type { ObjectCalls } from "./objects";
import { whoIsOnline } from "./presence";
import { findSession } from "./sessions";

export interface PlacementDeps {
  db: Database;
  redis: Redis;
  objects: ObjectCalls;
  /** Keeps work going after the answer (the request's `waitUntil`). */
  waitUntil(work: Promise<unknown>): void;
  requestId?: string;
}

/** Why an attempt was not placed; each is a problem of its own for the caller. */
export type PlacementRefusal =
  | { reason: "offline" }
  | { reason: "no-account" }
  | { reason: "suspended"; suspension: SuspensionDetails }
  /** Held for review after reports (docs/moderation.md#automatic-holds). */
  | { reason: "under-review" }
  | { reason: "in-session"; sessionId: string }
  | { reason: "changed" }
  | { reason: "queued-elsewhere"; attemptId: string; level: Level }
  | { reason: "withdrawn"; attemptId: string };

export type Placement =
  | {
      status: "matched";
      attemptId: string;
      sessionId: string;
      partner: Extract<EnqueueResult, { status: "matched" }>["partner"];
      topic: Extract<EnqueueResult, { status: "matched" }>["topic"];
      sharedInterests: string[];
    }
  | { status: "queued"; attemptId: string }
  | ({ status: "refused" } & PlacementRefusal);

/**
 * Places `userId`'s attempt to be matched at `level` (SPEC §5): presence first (`online`, the
 * caller's presence read, which a handler sends with its rate limit), so a refusal leaves nothing behind; then the one statement that opens the attempt (or finds the one already
 * queued); then the hand-off to the level's Matchmaker, which pairs it at once or queues it.
 *
 * The database must never say queued for an attempt no object holds, so a hand-off that fails is
 * withdrawn; if the object paired it before it failed, the withdrawal finds nothing queued and
 * the learner is told the truth, matched. Safe to repeat: the same attempt is handed again.
 *
 * @throws the hand-off's error (503 naming the matchmaker) when it failed and nothing was paired;
 *   a database or Redis failure as `DependencyUnavailableError`.
 */
export async function placeAttempt(
  deps: PlacementDeps,
  userId: string,
  level: Level,
  now: Date,
  online: Promise<Set<string>> = whoIsOnline(deps.redis, [userId]),
): Promise<Placement> {
  if (!(await online).has(userId)) return { status: "refused", reason: "offline" };
  const opened = await openAttempt(deps.db, userId, level, now);
  if (!opened) return { status: "refused", reason: "no-account" };
  const { candidate } = opened;
  if (candidate.suspension) return { status: "refused", reason: "suspended", suspension: candidate.suspension };
  if (candidate.held) return { status: "refused", reason: "under-review" };
  if (candidate.activeSessionId)
    return { status: "refused", reason: "in-session", sessionId: candidate.activeSessionId };
  // Already queued (by an earlier request or a concurrent one): hand the same attempt to the
  // object again, which keeps it if it holds it and takes it back if an earlier hand-off failed.
  const queued = opened.attemptId ? { id: opened.attemptId, level, createdAt: now } : candidate.queuedAttempt;
  if (!queued) return { status: "refused", reason: "changed" };
  if (queued.level !== level) {
    return { status: "refused", reason: "queued-elsewhere", attemptId: queued.id, level: queued.level };
  }
  let result: EnqueueResult;
  try {
    const entry = queueEntry(candidate, { id: queued.id, userId, level, createdAt: queued.createdAt });
    // The RPC stub's own return type is a union of promises; the object answers an EnqueueResult.
    result = await deps.objects.matchmaker(
      level,
      async (matchmaker): Promise<EnqueueResult> => matchmaker.enqueue(entry),
    );
  } catch (error) {
    result = await recoverHandOff(deps, userId, { id: queued.id, level }, error);
  }
  switch (result.status) {
    case "matched":
      return {
        status: "matched",
        attemptId: queued.id,
        sessionId: result.sessionId,
        partner: result.partner,
        topic: result.topic,
        sharedInterests: result.sharedInterests,
      };
    case "queued":
      return { status: "queued", attemptId: queued.id };
    case "withdrawn":
      return { status: "refused", reason: "withdrawn", attemptId: queued.id };
  }
}

/**
 * After a failed hand-off: withdraws the attempt, or finds the session it was paired into after
 * all, which says what the partner was told (its topic and shared interests).
 */
async function recoverHandOff(
  deps: PlacementDeps,
  userId: string,
  attempt: { id: string; level: Level },
  error: unknown,
): Promise<EnqueueResult> {
  const withdrawn = await resolveAttempts(deps.db, [attempt.id], "cancelled", new Date());
  if (withdrawn.length > 0) {
    // If the hand-off reaches the object after all, it must not queue what the database withdrew.
    deps.waitUntil(
      deps.objects
        .matchmaker(attempt.level, (matchmaker) => matchmaker.cancel(attempt.id))
        .catch((cancelError) =>
          log("warn", "withdrawn attempt not cancelled in its matchmaker", describeError(cancelError)),
        ),
    );
    throw error;
  }
  const latest = await latestAttempt(deps.db, userId);
  const session =
    latest?.id === attempt.id && latest.sessionId ? await findSession(deps.db, userId, latest.sessionId) : undefined;
  if (!session?.partner) throw error;
  log("warn", "matched, but the matchmaker's answer was lost", { request_id: deps.requestId, ...describeError(error) });
  return {
    status: "matched",
    sessionId: session.id,
    partner: { ...session.partner, level: session.partner.level ?? session.level },
    topic: session.topic,
    sharedInterests: session.shared_interests,
  };
}
