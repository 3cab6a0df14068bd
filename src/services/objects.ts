import type { Level } from "../db/schema/enums";
import { callDependency } from "../lib/dependencies";
import { describeError, log } from "../lib/logger";
import { currentMeter } from "../lib/request-meter";
import type { SessionEvent } from "./room-protocol";

/**
 * Calls into the Durable Objects, each with the Durable Object deadline: an object that does not
 * answer in time is reported as unavailable (503 naming it), never waited on.
 */
export interface ObjectCalls {
  matchmaker<R>(level: Level, call: (stub: MatchmakerStub) => Promise<R>): Promise<R>;
  room<R>(sessionId: string, call: (stub: SessionRoomStub) => Promise<R>): Promise<R>;
}

// The stubs as the Worker's bindings type them, so this module needs none of the objects' own.
type MatchmakerStub = ReturnType<Env["MATCHMAKER"]["get"]>;
type SessionRoomStub = ReturnType<Env["SESSION_ROOM"]["get"]>;

export function objectCalls(env: Pick<Env, "MATCHMAKER" | "SESSION_ROOM">, timeoutMs: number): ObjectCalls {
  const counted = <R>(work: () => Promise<R>) => {
    const meter = currentMeter();
    if (meter) meter.objectCalls += 1;
    return work();
  };
  return {
    matchmaker: (level, call) =>
      counted(() =>
        callDependency("matchmaker", timeoutMs, () => call(env.MATCHMAKER.get(env.MATCHMAKER.idFromName(level)))),
      ),
    room: (sessionId, call) =>
      counted(() =>
        callDependency("session room", timeoutMs, () =>
          call(env.SESSION_ROOM.get(env.SESSION_ROOM.idFromName(sessionId))),
        ),
      ),
  };
}

/**
 * Takes the attempt a hold withdrew from its level's matchmaker and tells its owner's sockets there
 * (`expired`, `under_review`). The database already says cancelled, which the object checks before
 * it pairs anyone: this only frees the slot and the waiting screen sooner, so it is best effort,
 * and a failure is logged.
 */
export async function withdrawHeldAttempt(
  objects: ObjectCalls,
  userId: string,
  attempt: { id: string; level: Level },
  requestId: string,
): Promise<void> {
  try {
    await objects.matchmaker(attempt.level, (matchmaker) => matchmaker.withdrawHeld(attempt.id, userId));
  } catch (error) {
    log("warn", "a held user's attempt was not withdrawn from its matchmaker", {
      request_id: requestId,
      attempt_id: attempt.id,
      ...describeError(error),
    });
  }
}

/**
 * Pushes an event to the session's room after the database committed what it announces.
 * Pushing is best effort: a client that misses it catches up over HTTP, so a failure is logged.
 */
export async function pushToRoom(objects: ObjectCalls, sessionId: string, event: SessionEvent): Promise<void> {
  try {
    await objects.room(sessionId, (room) => room.broadcast(event));
  } catch (error) {
    log("warn", "session event not pushed", { session_id: sessionId, event: event.type, ...describeError(error) });
  }
}
