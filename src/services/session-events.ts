import { describeError, log } from "../lib/logger";
import type { MessageView } from "./messages";
import type { ObjectCalls } from "./objects";

/** What the session room pushes to the participants' sockets. */
export type SessionEvent =
  | { type: "message"; message: MessageView }
  | { type: "ended"; session_id: string; ended_at: string; ended_by: string };

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

export function endedEvent(sessionId: string, endedBy: string, endedAt: Date): SessionEvent {
  return { type: "ended", session_id: sessionId, ended_at: endedAt.toISOString(), ended_by: endedBy };
}
