import { z } from "@hono/zod-openapi";
import { commonErrorResponses, defineRoute, jsonBody, jsonContent, problem } from "../../lib/openapi";
import { PageQuerySchema } from "../../lib/pagination";
import { text } from "../../lib/text";
import { authenticated, authenticatedLimited, authenticatedRead, requireSocketAuth } from "../../middleware/auth";
import {
  EndSessionSchema,
  IceServersSchema,
  MarkReadSchema,
  MessageEditSchema,
  MessageParamsSchema,
  MessageSchema,
  NewMessageSchema,
  ReadPositionSchema,
  SessionParamsSchema,
  SessionSchema,
} from "./sessions.schemas";

const tags = ["Sessions"];
const unauthorized = problem("No valid access token (`TOKEN_EXPIRED` when it has expired: refresh it, then retry).");
const notFound = problem("No such session among yours (the same answer whether or not it exists).");

export const list = defineRoute({
  operationId: "listSessions",
  method: "get",
  path: "/sessions",
  tags,
  summary: "My sessions, newest first",
  ...authenticatedRead,
  request: { query: PageQuerySchema },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(SessionSchema), next_cursor: z.string().nullable() }).openapi("SessionPage"),
      "A page of sessions.",
    ),
    400: commonErrorResponses[400],
    401: unauthorized,
    500: commonErrorResponses[500],
  },
});

export const get = defineRoute({
  operationId: "getSession",
  method: "get",
  path: "/sessions/{id}",
  tags,
  summary: "One of my sessions, with the partner and my rating",
  ...authenticatedRead,
  request: { params: SessionParamsSchema },
  responses: {
    200: jsonContent(SessionSchema, "The session."),
    400: commonErrorResponses[400],
    401: unauthorized,
    404: notFound,
    500: commonErrorResponses[500],
  },
});

export const end = defineRoute({
  operationId: "endSession",
  method: "post",
  path: "/sessions/{id}/end",
  tags,
  summary: "Leave the session with a rating",
  description:
    "The first call ends the session for both (and counts it for both learners' streaks and badges); " +
    "each participant's call records their own rating and notes; calling again changes nothing.",
  ...authenticated,
  request: { params: SessionParamsSchema, body: jsonBody(EndSessionSchema) },
  responses: {
    200: jsonContent(SessionSchema, "The session, ended."),
    ...commonErrorResponses,
    401: unauthorized,
    404: notFound,
  },
});

const noSuchMessage = problem("No such message of yours in this session (the same answer whoever else's it is).");

export const editMessage = defineRoute({
  operationId: "editMessage",
  method: "patch",
  path: "/sessions/{id}/messages/{message_id}",
  tags,
  summary: "Edit one of my messages",
  description:
    "Changes the text of a text or a correction you sent, within 15 minutes of sending it, while the session is " +
    "active; `edited_at` shows it and both get `message.updated` on the session socket. Moderators keep what it said " +
    "before. The same text again changes nothing.",
  ...authenticatedLimited,
  request: { params: MessageParamsSchema, body: jsonBody(MessageEditSchema) },
  responses: {
    200: jsonContent(MessageSchema, "The message as it now reads."),
    ...commonErrorResponses,
    401: unauthorized,
    404: noSuchMessage,
    429: problem("Too many messages and edits; `Retry-After` says when to try again."),
    409: problem(
      "`EDIT_WINDOW_CLOSED` more than 15 minutes after sending; `CONFLICT` for a voice note, a deleted message or an " +
        "ended session.",
    ),
  },
});

export const deleteMessage = defineRoute({
  operationId: "deleteMessage",
  method: "delete",
  path: "/sessions/{id}/messages/{message_id}",
  tags,
  summary: "Delete one of my messages",
  description:
    "At any time, yours only: it stays in the history as a tombstone (`deleted_at`, no text, no audio: nobody can " +
    "play a voice note's recording again) and both get `message.deleted`. Moderators keep what it was, recording " +
    "included, for 30 days, and a report filed later shows it; then it is deleted. Deleting it again changes nothing.",
  ...authenticatedLimited,
  request: { params: MessageParamsSchema },
  responses: {
    204: { description: "Deleted (or deleted already)." },
    ...commonErrorResponses,
    401: unauthorized,
    404: noSuchMessage,
    429: problem("Too many messages and edits; `Retry-After` says when to try again."),
  },
});

export const markRead = defineRoute({
  operationId: "markRead",
  method: "post",
  path: "/sessions/{id}/read",
  tags,
  summary: "Say how far you have read",
  description:
    "Records the newest message of the session you have seen; your partner is told (a `read` push on the session " +
    "socket) and `GET /sessions` counts your unread messages from it. The position only moves forward: a read older " +
    "than the one recorded (another device, a late retry) answers the position that holds. The same as the socket's " +
    "`read` frame.",
  ...authenticatedLimited,
  request: { params: SessionParamsSchema, body: jsonBody(MarkReadSchema) },
  responses: {
    200: jsonContent(ReadPositionSchema, "Your read position as it now stands."),
    ...commonErrorResponses,
    401: unauthorized,
    404: problem("No such session among yours, or no such message in it."),
    429: problem("Too many reads (120 a minute by default); `Retry-After` says when to try again."),
  },
});

export const sendMessage = defineRoute({
  operationId: "sendMessage",
  method: "post",
  path: "/sessions/{id}/messages",
  tags: ["Messages"],
  summary: "Send a text, voice or correction message",
  description:
    "Voice: `audio_url` must be a voice note presigned for you by `/uploads/presign` and uploaded. Correction: " +
    "`corrects` is a message of your partner in this session. With `client_id`, a retried send returns the " +
    "first message (200) instead of storing a second; the same `client_id` with a different payload is refused " +
    "(422 `CLIENT_ID_REUSED`, naming the id and the message stored under it). Rate limited per user.",
  ...authenticatedLimited,
  request: { params: SessionParamsSchema, body: jsonBody(NewMessageSchema) },
  responses: {
    201: jsonContent(MessageSchema, "Stored and pushed to the partner."),
    200: jsonContent(MessageSchema, "Already stored: the first message with this `client_id`."),
    ...commonErrorResponses,
    401: unauthorized,
    403: problem("The account is suspended."),
    404: notFound,
    409: problem("The session has ended."),
    422: problem(
      "This `client_id` was already used for a message with another payload; `client_id` and `message_id` name them.",
    ),
    429: problem("Too many messages; `Retry-After` says when to try again."),
  },
});

export const listMessages = defineRoute({
  operationId: "listMessages",
  method: "get",
  path: "/sessions/{id}/messages",
  tags: ["Messages"],
  summary: "The session's messages, newest first",
  ...authenticatedRead,
  request: { params: SessionParamsSchema, query: PageQuerySchema },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(MessageSchema), next_cursor: z.string().nullable() }).openapi("MessagePage"),
      "A page of messages.",
    ),
    400: commonErrorResponses[400],
    401: unauthorized,
    404: notFound,
    500: commonErrorResponses[500],
  },
});

export const socket = defineRoute({
  operationId: "openSessionSocket",
  method: "get",
  path: "/sessions/{id}/ws",
  tags,
  summary: "WebSocket for the session's live events",
  description:
    "Upgrade with `?token=<access token>` or `Authorization` (and `device`, below); answers 101 and then speaks " +
    "JSON text frames.\n\n" +
    "Every frame, in both directions, is described in the AsyncAPI document at `/asyncapi.json`. " +
    "**Pushed to you:** " +
    '`{"type":"room","you","partner_online","polite","call"}` on connecting (`polite` is your role in perfect ' +
    "negotiation, `call` the call ringing or going on, or null); " +
    '`{"type":"peer.joined"|"peer.left","user_id"}`; `{"type":"message","message":{…}}` for every stored message, ' +
    '`{"type":"message.updated","message":{…}}` and `{"type":"message.deleted","message_id","deleted_at"}` for edits ' +
    "and deletes, and " +
    '`{"type":"ended","session_id","ended_at","ended_by","reason"}` when the session ends (`reason`: `ended`, ' +
    "`blocked`, `suspended`, `deleted`, or `reported` when your partner reported you and left), both after the database " +
    "commit; the call frames of the other device of your call, with `from` added; " +
    '`{"type":"call.state","call_id","state","started_by","started_at","connected_at","here"}` to every socket of ' +
    "both participants whenever the call moves on (`ringing`, `answered`, `connected`; `here` says whether this " +
    'socket\'s device is in the call); `{"type":"call.ended","call_id","reason","duration_sec"}`; ' +
    '`{"type":"topic","topic":{…},"chosen_by"}` to both when the topic changed; `{"type":"typing","from"}` while ' +
    'your partner types; `{"type":"read","user_id","up_to","read_at"}` when a read position moved forward; ' +
    '`{"type":"error","code","message","call_id"?,"retry_after_sec"?}` for a frame the room refused.\n\n' +
    "**You may send** call signalling: " +
    '`{"type":"call.offer"|"call.answer","call_id","sdp"}` (SDP up to 20 KB), ' +
    '`{"type":"call.ice","call_id","candidate":{candidate,sdpMid,sdpMLineIndex,usernameFragment}}`, ' +
    '`{"type":"call.connected","call_id"}` once your connection is up and `{"type":"call.hangup","call_id","reason"?}` ' +
    '(declines a call ringing here), `{"type":"topic.next"}` to move both on to the next topic (at most once every ' +
    "20 s per session: `RATE_LIMITED` with `retry_after_sec`; `NO_TOPIC` when the level has none), " +
    '`{"type":"typing"}` while you type (at most one every 2 s is relayed), `{"type":"read","up_to"}` as ' +
    "`POST /sessions/{id}/read` does, " +
    "and `ping` (answered `pong`; send one at least every 20 s: during a call a " +
    "socket silent for 60 s is closed with 4006 and its device taken for gone). An offer with a new `call_id` rings every device " +
    "of your partner; the device that answers first is in the call, the others are told. The call is connected " +
    "once both devices in it have sent `call.connected`; spoken time counts from then. It ends on a hang-up by a " +
    "device in it (a device not in it gets `NOT_IN_CALL`), unanswered after 45 s (`no_answer`), answered but not " +
    "connected 45 s later (`failed`), 15 s after a device in it lost its last socket (`peer_gone`, counted until it " +
    "left), or with the session (`session_ended`, `blocked`, `suspended`, `deleted`, `reported`). When both call at once, the call of the participant with `polite: true` yields " +
    "(`glare`). An offer naming an ended call gets `CALL_ENDED`: start a new call. At most 5 calls a minute per " +
    "participant (`RATE_LIMITED`, with `retry_after_sec`). An unknown or invalid frame gets an `error` frame; text " +
    "that is not a JSON object with a `type`, or a frame over 24 KB, closes the socket. A client that reconnects " +
    "catches up with `GET /sessions/{id}/messages`; on a session that has ended, the socket gets the `ended` frame " +
    "(`ended_by` null if the room never saw the end pushed) and closes with 4005: do not reconnect. " +
    'Before the server closes the socket it sends `{"type":"closing","code","reason"}`: act on it as on the close, which may arrive seconds later (4001 replaced by a newer socket, 4003 token expired: refresh and reconnect, 4004 signed out or account gone: do not reconnect, 4006 silent for a minute: reconnect, 1008/1009 a refused frame).',
  middleware: [requireSocketAuth],
  security: [{ bearerAuth: [] }],
  request: {
    params: SessionParamsSchema,
    query: z.object({
      token: text().optional(),
      device: z
        .string()
        .regex(/^[A-Za-z0-9_-]{8,64}$/)
        .optional()
        .openapi({
          description:
            "An id your client chose for this device (8 to 64 letters, digits, `_` or `-`), the same on every " +
            "reconnection: a call belongs to the device that placed or answered it, so a socket that reconnects " +
            "with the same id is still in its call. Without it, each socket is a device of its own.",
          example: "tab-5f0c1e7a",
        }),
    }),
  },
  responses: {
    101: { description: "Switching protocols: the socket is open." },
    400: commonErrorResponses[400],
    401: unauthorized,
    404: notFound,
    426: problem("Not a WebSocket upgrade."),
    500: commonErrorResponses[500],
  },
});

export const iceServers = defineRoute({
  operationId: "getIceServers",
  method: "post",
  path: "/sessions/{id}/call/ice-servers",
  tags: ["Calls"],
  summary: "STUN and short-lived TURN servers for a call",
  description:
    "For the participants of an active session. TURN credentials come from Cloudflare Realtime TURN and expire " +
    "at `expires_at`; ask again for each call. Without TURN configured, STUN only. Rate limited per user.",
  ...authenticatedLimited,
  request: { params: SessionParamsSchema },
  responses: {
    200: jsonContent(IceServersSchema, "The servers to give RTCPeerConnection."),
    400: commonErrorResponses[400],
    401: unauthorized,
    404: notFound,
    409: problem("The session has ended."),
    429: problem("Too many requests; `Retry-After` says when to try again."),
    500: commonErrorResponses[500],
    503: problem("The TURN credentials service did not answer."),
  },
});

export type ListRoute = typeof list;
export type GetRoute = typeof get;
export type EndRoute = typeof end;
export type SendMessageRoute = typeof sendMessage;
export type MarkReadRoute = typeof markRead;
export type EditMessageRoute = typeof editMessage;
export type DeleteMessageRoute = typeof deleteMessage;
export type ListMessagesRoute = typeof listMessages;
export type SocketRoute = typeof socket;
export type IceServersRoute = typeof iceServers;
