import { z } from "zod";
import { levels } from "../db/schema/enums";
import { type closeCodes, maxSocketsPerUser } from "../durable-objects/socket-hub";
import { matchEventSchemas } from "../services/match-protocol";
import { ClientFrameSchema, roomEventSchemas } from "../services/room-protocol";

/**
 * The AsyncAPI 3.0 document of the two WebSockets, `/match/ws` and `/sessions/{id}/ws`, served at
 * `/asyncapi.json`. Every frame is the JSON Schema of the zod schema the Durable Objects validate
 * with or infer their pushes from, so the document cannot drift from the code (the same habit as
 * `/openapi.json`).
 */

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { target: "draft-7", io: "output" });

/** What each close code means and what the client does; the server sends `closing` first. */
const closeCodeMeaning: Record<keyof typeof closeCodes, string> = {
  unsupportedFrame: "1008: a refused frame (not a JSON object with a type, or over the frame budget). Fix it.",
  frameTooLarge: "1009: a frame over the size limit. Fix it.",
  replaced: `4001: a newer socket of yours replaced this one (at most ${maxSocketsPerUser} a user). Do not reconnect.`,
  tokenExpired: "4003: the access token expired. Refresh it, then reconnect.",
  revoked: "4004: signed out everywhere, suspended or deleted. Do not reconnect.",
  sessionEnded: "4005: the session has ended (its `ended` frame came first). Do not reconnect.",
  silent: "4006: nothing came from this socket for 60 s during a call. Reconnect, and ping every 20 s.",
};

const closing = z
  .object({
    type: z.literal("closing"),
    code: z.number().int(),
    reason: z.string(),
  })
  .meta({
    description:
      "Sent just before the server closes the socket, whose close may reach you seconds later: act on it as " +
      `on the close. Codes: ${Object.values(closeCodeMeaning).join(" ")}`,
  });

const textFrame = (text: string, description: string) => ({
  name: text,
  title: text,
  summary: description,
  contentType: "text/plain",
  payload: { type: "string", const: text },
});

const jsonFrame = (name: string, schema: z.ZodType) => {
  const payload = json(schema);
  return {
    name,
    title: name,
    summary: typeof payload.description === "string" ? payload.description : name,
    contentType: "application/json",
    payload,
  };
};

/** The session room's client frames, one message each. */
const clientFrames = Object.fromEntries(
  ClientFrameSchema.options.map((option) => [
    option.shape.type.value.replace(".", "_"),
    jsonFrame(option.shape.type.value, option),
  ]),
);

const roomPushes = Object.fromEntries(
  Object.entries(roomEventSchemas).map(([name, schema]) => [`room_${name}`, jsonFrame(name, schema)]),
);
const matchPushes = Object.fromEntries(
  Object.entries(matchEventSchemas).map(([name, schema]) => [`match_${name}`, jsonFrame(name, schema)]),
);

/** One direction of a channel, naming the messages that travel it. */
const operation = (action: "send" | "receive", channel: string, summary: string, names: string[]) => ({
  action,
  channel: { $ref: `#/channels/${channel}` },
  summary,
  messages: names.map((name) => ({ $ref: `#/channels/${channel}/messages/${name}` })),
});

const auth = [{ $ref: "#/components/securitySchemes/accessToken" }];

/** The document for the Worker at `origin` (its own URL: production, preview or local). */
export function asyncApiDocument(origin: string, version: string) {
  const url = new URL(origin);
  const messages = {
    ping: textFrame("ping", "Keep-alive: the literal text `ping` (not JSON), answered `pong` without waking the room."),
    pong: textFrame("pong", "The answer to `ping`."),
    closing: jsonFrame("closing", closing),
  };
  return {
    asyncapi: "3.0.0",
    info: {
      title: "Gaplash sockets",
      version,
      description:
        "The two WebSockets of the Gaplash API. Authenticate the upgrade with `?token=<access token>` (browsers " +
        "cannot set headers on a WebSocket) or `Authorization: Bearer`. A refused upgrade answers 401/404 over " +
        "HTTP, which a browser only sees as a close with 1006: refresh the access token before connecting. " +
        "Idle sockets hibernate on the server; send `ping` at least every 20 s. The HTTP API is in `/openapi.json`.",
      license: { name: "CC BY 4.0", url: "https://creativecommons.org/licenses/by/4.0/" },
    },
    defaultContentType: "application/json",
    servers: {
      api: {
        host: url.host,
        protocol: url.protocol === "https:" ? "wss" : "ws",
        description: "The Worker that serves this document.",
        security: auth,
      },
    },
    channels: {
      match: {
        address: "/match/ws",
        title: "Matchmaking pushes",
        description:
          "Joins the matchmaker of `level` (query; default: the profile's level). Any frame but `ping`, or one " +
          "over 1 KB, closes the socket (1008/1009).",
        messages: { ...matchPushes, ping: messages.ping, pong: messages.pong, closing: messages.closing },
        bindings: {
          ws: {
            query: {
              type: "object",
              properties: {
                token: { type: "string", description: "The access token." },
                level: { type: "string", enum: [...levels] },
              },
            },
          },
        },
      },
      session: {
        address: "/sessions/{id}/ws",
        title: "A practice session's room",
        description:
          "Messages, the session's end and the voice call's signalling. The call's state machine is in the " +
          "repository's docs/calls.md. Frames over 24 KB close the socket (1009); more than 100 in 10 s (1008).",
        parameters: { id: { description: "The session's id (UUID)." } },
        messages: {
          ...clientFrames,
          ...roomPushes,
          ping: messages.ping,
          pong: messages.pong,
          closing: messages.closing,
        },
        bindings: {
          ws: {
            query: {
              type: "object",
              properties: {
                token: { type: "string", description: "The access token." },
                device: {
                  type: "string",
                  pattern: "^[A-Za-z0-9_-]{8,64}$",
                  description: "This device's id, the same on every reconnection: a call belongs to a device.",
                },
              },
            },
          },
        },
      },
    },
    operations: {
      receiveMatchPushes: operation("receive", "match", "What the matchmaker pushes to you.", [
        ...Object.keys(matchPushes),
        "pong",
        "closing",
      ]),
      sendMatchPing: operation("send", "match", "Keep the socket alive.", ["ping"]),
      receiveRoomPushes: operation("receive", "session", "What the session's room pushes to you.", [
        ...Object.keys(roomPushes),
        "pong",
        "closing",
      ]),
      sendCallSignalling: operation("send", "session", "Call signalling for perfect negotiation, and keep-alives.", [
        ...Object.keys(clientFrames),
        "ping",
      ]),
    },
    components: {
      securitySchemes: {
        accessToken: {
          type: "httpApiKey",
          name: "token",
          in: "query",
          description: "The `access_token` from sign-in (15 minutes), or the same as `Authorization: Bearer`.",
        },
      },
    },
  };
}
