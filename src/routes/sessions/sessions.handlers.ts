import { type RoomSession, roomSessionHeader } from "../../durable-objects/session-room";
import { socketDeviceHeader } from "../../durable-objects/socket-hub";
import { ApiError, accountSuspended } from "../../lib/errors";
import { decodeCursor, toPage } from "../../lib/pagination";
import { enforceRateLimit, refundRateLimits } from "../../lib/rate-limit";
import { rateLimitRules } from "../../lib/rate-limit-rules";
import type { AppRouteHandler } from "../../lib/types";
import { currentUser, socketRequest } from "../../middleware/auth";
import {
  deleteMessage as deleteStoredMessage,
  editMessage as editStoredMessage,
  pageMessages,
  postMessage,
  toMessageView,
} from "../../services/messages";
import { pushToRoom } from "../../services/objects";
import { readEvent, markRead as recordRead } from "../../services/read-state";
import { endedEvent } from "../../services/room-protocol";
import { endSession, findSession, listSessions, toSessionView } from "../../services/sessions";
import { iceServers as fetchIceServers } from "../../services/turn";
import { voiceNoteSigner } from "../../services/uploads";
import type * as routes from "./sessions.routes";

function messageNotFound(): ApiError {
  return new ApiError("NOT_FOUND", { detail: "No such message of yours in this session." });
}

function sessionNotFound(): ApiError {
  return new ApiError("NOT_FOUND", { detail: "No such session among yours." });
}

export const list: AppRouteHandler<routes.ListRoute> = async (c) => {
  const { userId } = currentUser(c);
  const { cursor, limit } = c.req.valid("query");
  const rows = await listSessions(c.get("services").db, userId, limit, cursor ? decodeCursor(cursor) : undefined);
  return c.json(await toPage(rows, limit, (row) => ({ at: row.startedAt, id: row.id }), toSessionView), 200);
};

export const get: AppRouteHandler<routes.GetRoute> = async (c) => {
  const session = await findSession(c.get("services").db, currentUser(c).userId, c.req.valid("param").id);
  if (!session) throw sessionNotFound();
  return c.json(session, 200);
};

export const end: AppRouteHandler<routes.EndRoute> = async (c) => {
  const { userId } = currentUser(c);
  const { id } = c.req.valid("param");
  const { db, pool, objects } = c.get("services");
  const outcome = await endSession(pool, userId, id, c.req.valid("json"), new Date());
  if (outcome.kind === "not-found") throw sessionNotFound();
  if (outcome.endedNow)
    c.executionCtx.waitUntil(pushToRoom(objects, id, endedEvent(id, userId, outcome.endedAt, "ended")));
  const session = await findSession(db, userId, id);
  if (!session) throw sessionNotFound();
  return c.json(session, 200);
};

export const sendMessage: AppRouteHandler<routes.SendMessageRoute> = async (c) => {
  const { userId } = currentUser(c);
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const config = c.get("config");
  await enforceRateLimit(c, rateLimitRules(config.rateLimits).messages, userId);
  const now = new Date();
  const outcome = await postMessage(
    { db: c.get("services").db, s3: config.s3, waitUntil: (work: Promise<unknown>) => c.executionCtx.waitUntil(work) },
    userId,
    id,
    body,
    now,
  );
  const signVoiceNote = voiceNoteSigner(config.s3, now);
  switch (outcome.kind) {
    case "bad-voice-note":
      throw new ApiError("VALIDATION_FAILED", {
        detail: "body.audio_url: not a voice note uploaded with a URL presigned for you",
        errors: [{ field: "body.audio_url", message: "not a voice note uploaded with a URL presigned for you" }],
      });
    case "not-found":
      throw sessionNotFound();
    case "suspended":
      throw accountSuspended(outcome.suspension);
    case "ended":
      throw new ApiError("CONFLICT", { detail: "This session has ended; no more messages." });
    case "bad-correction":
      throw new ApiError("VALIDATION_FAILED", {
        detail: "body.corrects: not a message of your partner in this session",
        errors: [{ field: "body.corrects", message: "not a message of your partner in this session" }],
      });
    case "replayed":
      // A retry of a message already counted: it spends nothing more.
      await refundRateLimits(c);
      return c.json(await toMessageView(outcome.message, signVoiceNote), 200);
    case "client-id-reused":
      throw new ApiError("CLIENT_ID_REUSED", {
        detail:
          `client_id ${outcome.clientId} was already used for another message (${outcome.message.id}) in this session; ` +
          "a retry must send the same payload, and a new message needs a new client_id.",
        extensions: { client_id: outcome.clientId, message_id: outcome.message.id },
      });
    case "created": {
      const view = await toMessageView(outcome.message, signVoiceNote);
      c.executionCtx.waitUntil(pushToRoom(c.get("services").objects, id, { type: "message", message: view }));
      return c.json(view, 201);
    }
  }
};

export const editMessage: AppRouteHandler<routes.EditMessageRoute> = async (c) => {
  const { userId } = currentUser(c);
  const { id, message_id: messageId } = c.req.valid("param");
  const { db, objects } = c.get("services");
  const now = new Date();
  // An edit is a message sent again, as far as the partner's screen is concerned: the same limit.
  await enforceRateLimit(c, rateLimitRules(c.get("config").rateLimits).messages, userId);
  const outcome = await editStoredMessage(db, userId, id, messageId, c.req.valid("json").text, now);
  switch (outcome.kind) {
    case "not-found":
      throw messageNotFound();
    case "too-late":
      throw new ApiError("EDIT_WINDOW_CLOSED", { detail: "A message can be edited for 15 minutes after it was sent." });
    case "ended":
      throw new ApiError("CONFLICT", { detail: "This session has ended; its messages can no longer be edited." });
    case "not-editable":
      throw new ApiError("CONFLICT", {
        detail: outcome.why === "voice" ? "A voice note cannot be edited." : "This message was deleted.",
      });
    case "unchanged":
    case "edited": {
      const view = await toMessageView(outcome.message, voiceNoteSigner(c.get("config").s3, now));
      if (outcome.kind === "edited") {
        c.executionCtx.waitUntil(pushToRoom(objects, id, { type: "message.updated", message: view }));
      }
      return c.json(view, 200);
    }
  }
};

export const deleteMessage: AppRouteHandler<routes.DeleteMessageRoute> = async (c) => {
  const { userId } = currentUser(c);
  const { id, message_id: messageId } = c.req.valid("param");
  const { db, objects } = c.get("services");
  await enforceRateLimit(c, rateLimitRules(c.get("config").rateLimits).messages, userId);
  const outcome = await deleteStoredMessage(db, userId, id, messageId);
  if (outcome.kind === "not-found") throw messageNotFound();
  if (outcome.kind === "deleted") {
    const { message } = outcome;
    c.executionCtx.waitUntil(
      pushToRoom(objects, id, {
        type: "message.deleted",
        message_id: message.id,
        deleted_at: new Date(message.deleted_at ?? Date.now()).toISOString(),
      }),
    );
  }
  return c.body(null, 204);
};

export const markRead: AppRouteHandler<routes.MarkReadRoute> = async (c) => {
  const { userId } = currentUser(c);
  const { id } = c.req.valid("param");
  const { db, objects } = c.get("services");
  await enforceRateLimit(c, rateLimitRules(c.get("config").rateLimits).reads, userId);
  const outcome = await recordRead(db, id, userId, c.req.valid("json").up_to, new Date());
  if (outcome.kind === "not-found") {
    throw new ApiError("NOT_FOUND", { detail: "No such session among yours, or no such message in it." });
  }
  if (outcome.kind === "moved") c.executionCtx.waitUntil(pushToRoom(objects, id, readEvent(userId, outcome.position)));
  return c.json(outcome.position, 200);
};

export const listMessages: AppRouteHandler<routes.ListMessagesRoute> = async (c) => {
  const { cursor, limit } = c.req.valid("query");
  const rows = await pageMessages(
    c.get("services").db,
    currentUser(c).userId,
    c.req.valid("param").id,
    limit,
    cursor ? decodeCursor(cursor) : undefined,
  );
  if (!rows) throw sessionNotFound();
  const signVoiceNote = voiceNoteSigner(c.get("config").s3, new Date());
  return c.json(
    await toPage(
      rows,
      limit,
      (row) => ({ at: new Date(row.created_at), id: row.id }),
      (row) => toMessageView(row, signVoiceNote),
    ),
    200,
  );
};

export const socket: AppRouteHandler<routes.SocketRoute> = async (c) => {
  const { userId } = currentUser(c);
  const { id } = c.req.valid("param");
  const { device } = c.req.valid("query");
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("UPGRADE_REQUIRED", { detail: "Connect with a WebSocket client." });
  }
  const { db, objects } = c.get("services");
  const session = await findSession(db, userId, id);
  if (!session) throw sessionNotFound();
  const room: RoomSession = {
    id,
    participants: [userId, ...(session.partner ? [session.partner.id] : [])],
    ended: session.status === "ended",
    ended_at: session.ended_at,
  };
  const request = socketRequest(c, {
    [roomSessionHeader]: JSON.stringify(room),
    ...(device ? { [socketDeviceHeader]: device } : {}),
  });
  return objects.room(id, (stub) => stub.fetch(request));
};

export const iceServers: AppRouteHandler<routes.IceServersRoute> = async (c) => {
  const { userId } = currentUser(c);
  const { id } = c.req.valid("param");
  const config = c.get("config");
  await enforceRateLimit(c, rateLimitRules(config.rateLimits).iceServers, userId);
  const session = await findSession(c.get("services").db, userId, id);
  if (!session) throw sessionNotFound();
  if (session.status !== "active") throw new ApiError("CONFLICT", { detail: "This session has ended; no more calls." });
  const servers = await fetchIceServers(config.turn, new Date());
  return c.json({ ice_servers: servers.iceServers, expires_at: servers.expiresAt?.toISOString() ?? null }, 200);
};
