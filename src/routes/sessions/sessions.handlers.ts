import { ApiError } from "../../lib/errors";
import { describeError, log } from "../../lib/logger";
import { decodeCursor, toPage } from "../../lib/pagination";
import { enforceRateLimit } from "../../lib/rate-limit";
import type { AppRouteHandler } from "../../lib/types";
import { currentUser, socketRequest } from "../../middleware/auth";
import {
  isOwnVoiceUpload,
  type NewMessage,
  pageMessages,
  sendMessage as storeMessage,
  toMessageView,
} from "../../services/messages";
import { endSession, findSession, listSessions, toSessionView } from "../../services/sessions";
import type * as routes from "./sessions.routes";

function sessionNotFound(): ApiError {
  return new ApiError("NOT_FOUND", { detail: "No such session among yours." });
}

export const list: AppRouteHandler<routes.ListRoute> = async (c) => {
  const { userId } = currentUser(c);
  const { cursor, limit } = c.req.valid("query");
  const rows = await listSessions(c.get("services").db, userId, limit, cursor ? decodeCursor(cursor) : undefined);
  return c.json(
    toPage(rows, limit, (row) => ({ at: row.startedAt, id: row.id }), toSessionView),
    200,
  );
};

export const get: AppRouteHandler<routes.GetRoute> = async (c) => {
  const session = await findSession(c.get("services").db, currentUser(c).userId, c.req.valid("param").id);
  if (!session) throw sessionNotFound();
  return c.json(session, 200);
};

export const end: AppRouteHandler<routes.EndRoute> = async (c) => {
  const { userId } = currentUser(c);
  const { id } = c.req.valid("param");
  const { db, objects } = c.get("services");
  const outcome = await endSession(db, userId, id, c.req.valid("json"), new Date());
  if (outcome.kind === "not-found") throw sessionNotFound();
  if (outcome.endedNow) {
    const event = { type: "ended", session_id: id, ended_at: outcome.endedAt.toISOString(), ended_by: userId };
    c.executionCtx.waitUntil(
      objects
        .room(id, (room) => room.broadcast(event))
        .catch((error) => log("warn", "session end not pushed", { session_id: id, ...describeError(error) })),
    );
  }
  const session = await findSession(db, userId, id);
  if (!session) throw sessionNotFound();
  return c.json(session, 200);
};

export const sendMessage: AppRouteHandler<routes.SendMessageRoute> = async (c) => {
  const { userId } = currentUser(c);
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const config = c.get("config");
  await enforceRateLimit(
    c,
    { name: "messages", limit: config.rateLimits.messagesPerMin, windowSeconds: 60, failClosed: false },
    userId,
  );
  let message: NewMessage;
  if (body.type === "voice") {
    if (!(await isOwnVoiceUpload(config.s3, userId, body.audio_url))) {
      throw new ApiError("VALIDATION_FAILED", {
        detail: "body.audio_url: not a voice note uploaded with a URL presigned for you",
        errors: [{ field: "body.audio_url", message: "not a voice note uploaded with a URL presigned for you" }],
      });
    }
    message = { type: "voice", audioUrl: body.audio_url, durationMs: body.duration_ms };
  } else if (body.type === "correction") {
    message = { type: "correction", text: body.text, corrects: body.corrects };
  } else {
    message = { type: "text", text: body.text };
  }

  const outcome = await storeMessage(c.get("services").db, userId, id, message, body.client_id ?? null, new Date());
  switch (outcome.kind) {
    case "not-found":
      throw sessionNotFound();
    case "suspended":
      throw new ApiError("ACCOUNT_SUSPENDED", { detail: "This account is suspended." });
    case "ended":
      throw new ApiError("CONFLICT", { detail: "This session has ended; no more messages." });
    case "bad-correction":
      throw new ApiError("VALIDATION_FAILED", {
        detail: "body.corrects: not a message of your partner in this session",
        errors: [{ field: "body.corrects", message: "not a message of your partner in this session" }],
      });
    case "replayed":
      return c.json(outcome.message, 200);
    case "created":
      c.executionCtx.waitUntil(
        c
          .get("services")
          .objects.room(id, (room) => room.broadcast({ type: "message", message: outcome.message }))
          .catch((error) => log("warn", "message not pushed", { session_id: id, ...describeError(error) })),
      );
      return c.json(outcome.message, 201);
  }
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
  return c.json(
    toPage(rows, limit, (row) => ({ at: new Date(row.created_at), id: row.id }), toMessageView),
    200,
  );
};

export const socket: AppRouteHandler<routes.SocketRoute> = async (c) => {
  const { userId } = currentUser(c);
  const { id } = c.req.valid("param");
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("UPGRADE_REQUIRED", { detail: "Connect with a WebSocket client." });
  }
  const { db, objects } = c.get("services");
  if (!(await findSession(db, userId, id))) throw sessionNotFound();
  const request = socketRequest(c);
  return objects.room(id, (room) => room.fetch(request));
};
