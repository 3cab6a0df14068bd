import { z } from "zod";
import type { CallEndReason } from "../db/schema/enums";
import { describeError, log } from "../lib/logger";
import type { MessageView } from "./messages";
import type { ObjectCalls } from "./objects";

/**
 * The frames of `/sessions/{id}/ws`. The room relays a participant's call frames to the other
 * participant only (adding `from`), and pushes the session's own events to both.
 */

const callId = z.uuid();
/** An SDP offer or answer: a few KB in practice, 20 KB at most. */
const sdp = z.string().min(1).max(20_000);

/** What a participant may send: call signalling for the standard "perfect negotiation" pattern. */
export const ClientFrameSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("call.offer"), call_id: callId, sdp }),
  z.object({ type: z.literal("call.answer"), call_id: callId, sdp }),
  z.object({
    type: z.literal("call.ice"),
    call_id: callId,
    // RTCIceCandidateInit as a browser serialises it; an empty candidate ends the candidates.
    candidate: z.object({
      candidate: z.string().max(2048),
      sdpMid: z.string().max(64).nullable().optional(),
      sdpMLineIndex: z.number().int().min(0).max(255).nullable().optional(),
      usernameFragment: z.string().max(256).nullable().optional(),
    }),
  }),
  z.object({ type: z.literal("call.hangup"), call_id: callId, reason: z.string().max(200).optional() }),
  z.object({ type: z.literal("call.connected"), call_id: callId }),
]);
export type ClientFrame = z.infer<typeof ClientFrameSchema>;
export const clientFrameTypes = ClientFrameSchema.options.map((option) => option.shape.type.value);

export type SessionEndReason = "ended" | "blocked" | "suspended" | "deleted";

/** What the room pushes. */
export type RoomEvent =
  | { type: "message"; message: MessageView }
  | {
      type: "ended";
      session_id: string;
      ended_at: string;
      /** Who ended it; null when a socket joins an ended session whose end the room never saw pushed. */
      ended_by: string | null;
      reason: SessionEndReason;
    }
  /**
   * Sent to a socket when it connects: who you are, whether your partner is here, your role, and
   * the call ringing or going on, if any.
   */
  | { type: "room"; you: string; partner_online: boolean; polite: boolean; call: CallView | null }
  | { type: "peer.joined" | "peer.left"; user_id: string }
  | (ClientFrame & { from: string })
  /** To every socket of both participants whenever the call moves on (started, answered, connected). */
  | ({ type: "call.state" } & CallView)
  | { type: "call.ended"; call_id: string; reason: CallEndReason; duration_sec: number }
  | { type: "error"; code: RoomErrorCode; message: string; call_id?: string; retry_after_sec?: number };

/** The call as one socket sees it. */
export interface CallView {
  call_id: string;
  state: "ringing" | "answered" | "connected";
  started_by: string;
  started_at: string;
  /** When both devices reported the connection up: spoken time counts from here. */
  connected_at: string | null;
  /** Whether this socket's device is one of the call's two (the caller's, or the one that answered). */
  here: boolean;
}

export type RoomErrorCode =
  | "INVALID_FRAME"
  | "UNKNOWN_FRAME"
  | "SESSION_ENDED"
  | "PEER_OFFLINE"
  | "CALL_IN_PROGRESS"
  | "UNKNOWN_CALL"
  | "CALL_ENDED"
  | "NOT_IN_CALL"
  | "RATE_LIMITED"
  | "UNAVAILABLE";

export type SessionEvent = Extract<RoomEvent, { type: "message" | "ended" }>;

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

export function endedEvent(sessionId: string, endedBy: string, endedAt: Date, reason: SessionEndReason): SessionEvent {
  return { type: "ended", session_id: sessionId, ended_at: endedAt.toISOString(), ended_by: endedBy, reason };
}
