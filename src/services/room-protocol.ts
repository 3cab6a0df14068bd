import { z } from "zod";
import { callEndReasons } from "../db/schema/enums";
import { MarkReadSchema, MessageSchema, ReadPositionSchema, TopicSchema } from "../routes/sessions/sessions.schemas";

/**
 * The frames of `/sessions/{id}/ws`. The room relays a participant's call frames to the other
 * participant only (adding `from`), and pushes the session's own events to both.
 */

const callId = z.uuid();
/** An SDP offer or answer: a few KB in practice, 20 KB at most. */
const sdp = z.string().min(1).max(20_000);

/** Call signalling for the standard "perfect negotiation" pattern: what the call machine judges. */
export const CallFrameSchema = z.discriminatedUnion("type", [
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
export type CallFrame = z.infer<typeof CallFrameSchema>;

/** What a participant may send: call signalling, the next topic, and live chat state (SPEC §10). */
export const ClientFrameSchema = z.discriminatedUnion("type", [
  ...CallFrameSchema.options,
  z.object({ type: z.literal("topic.next") }).meta({
    description: "Asks for the next topic, for both participants: at most one change every 20 s per session.",
  }),
  z.object({ type: z.literal("typing") }).meta({
    description:
      "You are typing: relayed to your partner only, never stored; at most one every 2 s is relayed, the others dropped.",
  }),
  MarkReadSchema.extend({ type: z.literal("read") }).meta({
    description: "You have read up to `up_to`: the same as `POST /sessions/{id}/read`.",
  }),
]);
export type ClientFrame = z.infer<typeof ClientFrameSchema>;
export const clientFrameTypes = ClientFrameSchema.options.map((option) => option.shape.type.value);

/**
 * Why a session ended: a participant left (`POST …/end`), blocked the other, was suspended, deleted
 * their account, or reported the other and left (`POST …/report-and-leave`).
 */
export const sessionEndReasons = ["ended", "blocked", "suspended", "deleted", "reported"] as const;
export type SessionEndReason = (typeof sessionEndReasons)[number];

const roomErrorCodes = [
  "INVALID_FRAME",
  "UNKNOWN_FRAME",
  "SESSION_ENDED",
  "PEER_OFFLINE",
  "CALL_IN_PROGRESS",
  "UNKNOWN_CALL",
  "CALL_ENDED",
  "NOT_IN_CALL",
  "RATE_LIMITED",
  "NO_TOPIC",
  "UNAVAILABLE",
] as const;
export type RoomErrorCode = (typeof roomErrorCodes)[number];

const CallViewSchema = z.object({
  call_id: callId,
  state: z.enum(["ringing", "answered", "connected"]),
  started_by: z.uuid(),
  started_at: z.iso.datetime(),
  connected_at: z.iso.datetime().nullable().meta({ description: "When both devices reported the connection up." }),
  here: z.boolean().meta({ description: "Whether this socket's device is one of the call's two." }),
});

const from = z.uuid().meta({ description: "Who sent the frame: your partner." });

/** What the room pushes, as the socket contract (`/asyncapi.json`) publishes it; `RoomEvent` is its type. */
export const roomEventSchemas = {
  room: z
    .object({
      type: z.literal("room"),
      you: z.uuid(),
      partner_online: z.boolean(),
      polite: z.boolean().meta({ description: "Your role in perfect negotiation: the polite side yields." }),
      call: CallViewSchema.nullable().meta({ description: "The call ringing or going on, as this socket sees it." }),
    })
    .meta({ description: "Sent first, on connecting." }),
  presence: z
    .object({ type: z.enum(["peer.joined", "peer.left"]), user_id: z.uuid() })
    .meta({ description: "Your partner's first socket opened, or last socket closed." }),
  message: z
    .object({ type: z.literal("message"), message: MessageSchema })
    .meta({ description: "A stored message, yours included, pushed after the database commit." }),
  messageUpdated: z
    .object({ type: z.literal("message.updated"), message: MessageSchema })
    .meta({ description: "Its sender edited a message: show it as it now reads (`edited_at`)." }),
  messageDeleted: z
    .object({ type: z.literal("message.deleted"), message_id: z.uuid(), deleted_at: z.iso.datetime() })
    .meta({ description: "Its sender deleted a message: show it as a tombstone." }),
  ended: z
    .object({
      type: z.literal("ended"),
      session_id: z.uuid(),
      ended_at: z.iso.datetime(),
      ended_by: z.uuid().nullable(),
      reason: z.enum(sessionEndReasons).meta({
        description:
          "`ended`: a participant left; `blocked`: one blocked the other; `suspended`, `deleted`: a participant's " +
          "account was suspended or deleted; `reported`: one reported the other and left.",
      }),
    })
    .meta({
      description: "The session ended; on a socket that joins an ended session, the socket then closes (4005).",
    }),
  relayed: z
    .intersection(CallFrameSchema, z.object({ from }))
    .meta({ description: "A call frame of the other device of your call, with `from` added." }),
  callState: CallViewSchema.extend({ type: z.literal("call.state") }).meta({
    description: "To every socket of both participants whenever the call moves on.",
  }),
  callEnded: z
    .object({
      type: z.literal("call.ended"),
      call_id: callId,
      reason: z.enum(callEndReasons),
      duration_sec: z.number().int().min(0).meta({ description: "Seconds connected (s)." }),
    })
    .meta({ description: "The call ended, for everyone in the room." }),
  typing: z
    .object({ type: z.literal("typing"), from })
    .meta({ description: "Your partner is typing: show it for a few seconds, unless another comes." }),
  read: ReadPositionSchema.extend({
    type: z.literal("read"),
    user_id: z.uuid().meta({ description: "Who read: your partner, or you on another device." }),
  }).meta({ description: "A participant's read position moved forward." }),
  topic: z
    .object({
      type: z.literal("topic"),
      topic: TopicSchema,
      chosen_by: z.uuid().meta({ description: "The participant who asked for it." }),
    })
    .meta({ description: "The session's topic changed (`topic.next`), for both participants." }),
  error: z
    .object({
      type: z.literal("error"),
      code: z.enum(roomErrorCodes),
      message: z.string(),
      call_id: callId.optional(),
      frame: z
        .enum(["topic.next", "read"])
        .optional()
        .meta({ description: "The frame refused, when it is not a call's: `topic.next` or `read`." }),
      retry_after_sec: z
        .number()
        .int()
        .min(1)
        .optional()
        .meta({ description: "With RATE_LIMITED: when to try again (s)." }),
    })
    .meta({ description: "The room refused a frame; the socket stays open." }),
};

/** The call as one socket sees it. */
export type CallView = z.infer<typeof CallViewSchema>;
/** What the room pushes. */
export type RoomEvent = z.infer<(typeof roomEventSchemas)[keyof typeof roomEventSchemas]>;
/** What the Worker pushes into the room from HTTP routes. */
export type SessionEvent = Extract<
  RoomEvent,
  { type: "message" | "message.updated" | "message.deleted" | "ended" | "read" }
>;

export function endedEvent(sessionId: string, endedBy: string, endedAt: Date, reason: SessionEndReason): SessionEvent {
  return { type: "ended", session_id: sessionId, ended_at: endedAt.toISOString(), ended_by: endedBy, reason };
}
