import type { Level } from "../db/schema/enums";
import type { Matchmaker } from "../durable-objects/matchmaker";
import type { SessionRoom } from "../durable-objects/session-room";
import { callDependency } from "../lib/dependencies";

/**
 * Calls into the Durable Objects, each with the Durable Object deadline: an object that does not
 * answer in time is reported as unavailable (503 naming it), never waited on.
 */
export interface ObjectCalls {
  matchmaker<R>(level: Level, call: (stub: DurableObjectStub<Matchmaker>) => Promise<R>): Promise<R>;
  room<R>(sessionId: string, call: (stub: DurableObjectStub<SessionRoom>) => Promise<R>): Promise<R>;
}

export function objectCalls(env: Pick<Env, "MATCHMAKER" | "SESSION_ROOM">, timeoutMs: number): ObjectCalls {
  return {
    matchmaker: (level, call) =>
      callDependency("matchmaker", timeoutMs, () => call(env.MATCHMAKER.get(env.MATCHMAKER.idFromName(level)))),
    room: (sessionId, call) =>
      callDependency("session room", timeoutMs, () =>
        call(env.SESSION_ROOM.get(env.SESSION_ROOM.idFromName(sessionId))),
      ),
  };
}
