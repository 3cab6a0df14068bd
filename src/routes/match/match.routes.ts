import { z } from "@hono/zod-openapi";
import { levels } from "../../db/schema/enums";
import { commonErrorResponses, defineRoute, jsonBody, jsonContent, problem } from "../../lib/openapi";
import { text } from "../../lib/text";
import { authenticated, authenticatedLimited, requireSocketAuth } from "../../middleware/auth";
import { CurrentTopicSchema, SharedInterestsSchema } from "../sessions/sessions.schemas";

const tags = ["Matchmaking"];
const unauthorized = problem("No valid access token (`TOKEN_EXPIRED` when it has expired: refresh it, then retry).");
const LevelSchema = z.enum(levels).openapi({ example: "B1" });

export const PartnerSchema = z
  .object({ id: z.uuid(), display_name: z.string().nullable(), level: LevelSchema })
  .openapi("Partner");

export const attempt = defineRoute({
  operationId: "attemptMatch",
  method: "post",
  path: "/match/attempt",
  tags,
  summary: "Find me a partner",
  description:
    "Pairs at once with a compatible learner waiting (200), or queues (202): the one sharing the most interests, " +
    "unless a compatible learner has waited 20 s or more, who then goes first (FIFO). Idempotent while queued: " +
    "asking again for the same level returns the same attempt. Requires a presence ping within the last 60 s. " +
    "A waiting learner also accepts partners one level away after 30 s and two levels away after 90 s; the " +
    "result is pushed on `/match/ws`. Attempts expire after 5 minutes or as soon as their owner stops pinging.",
  ...authenticatedLimited,
  request: { body: jsonBody(z.object({ desired_level: LevelSchema }).openapi("MatchAttemptRequest")) },
  responses: {
    200: jsonContent(
      z
        .object({
          status: z.literal("matched"),
          attempt_id: z.uuid(),
          session_id: z.uuid(),
          partner: PartnerSchema,
          topic: CurrentTopicSchema,
          shared_interests: SharedInterestsSchema,
        })
        .openapi("MatchFound"),
      "Paired with a waiting learner.",
    ),
    202: jsonContent(
      z.object({ status: z.literal("queued"), attempt_id: z.uuid() }).openapi("MatchQueued"),
      "Waiting for a partner.",
    ),
    ...commonErrorResponses,
    401: unauthorized,
    403: problem(
      "The account is suspended (`ACCOUNT_SUSPENDED`), or held for review after several people reported it " +
        "(`UNDER_REVIEW`): a moderator will look at it.",
    ),
    409: problem("No recent presence ping, already waiting at another level, or already in a session."),
    429: problem("Too many attempts; `Retry-After` says when to try again."),
    503: problem("The matchmaker did not answer; the attempt was withdrawn."),
  },
});

export const MatchStatusSchema = z
  .object({
    status: z.enum(["none", "queued", "matched", "cancelled", "expired"]),
    attempt_id: z.uuid().nullable(),
    level: LevelSchema.nullable(),
    session_id: z.uuid().optional(),
    band: z.array(LevelSchema).openapi({ description: "Levels accepted now (or when the attempt ended)." }),
    waited_ms: z.number().int(),
  })
  .openapi("MatchStatus");

export const status = defineRoute({
  operationId: "getMatchStatus",
  method: "get",
  path: "/match/status",
  tags,
  summary: "My latest match attempt",
  ...authenticated,
  responses: {
    200: jsonContent(MatchStatusSchema, "The latest attempt, or `none`."),
    401: unauthorized,
    500: commonErrorResponses[500],
  },
});

export const cancel = defineRoute({
  operationId: "cancelMatchAttempt",
  method: "delete",
  path: "/match/attempt",
  tags,
  summary: "Stop waiting",
  ...authenticated,
  responses: {
    204: { description: "The queued attempt was cancelled." },
    401: unauthorized,
    404: problem("Nothing is queued (also once the attempt has been matched, cancelled or expired)."),
    409: problem("Too late: the attempt was just matched (`session_id` says where)."),
    500: commonErrorResponses[500],
  },
});

export const socket = defineRoute({
  operationId: "openMatchSocket",
  method: "get",
  path: "/match/ws",
  tags,
  summary: "WebSocket for matchmaking pushes",
  description:
    "Upgrade with `?token=<access token>` (browsers cannot set headers on a WebSocket) or `Authorization`. " +
    "Every frame, in both directions, is described in the AsyncAPI document at `/asyncapi.json`. " +
    "Joins the matchmaker of `level` (default: the profile's level); connect to the level you ask a match for. " +
    'Pushes `{"type":"matched","attempt_id","session_id","partner","band"}` and `{"type":"expired",...}`; ' +
    "send `ping` to get `pong`. Any other frame, or one over 1 KB, closes the socket. " +
    'Before the server closes the socket it sends `{"type":"closing","code","reason"}`: act on it as on the close, which may arrive seconds later (4001 replaced by a newer socket, 4003 token expired: refresh and reconnect, 4004 signed out or account gone: do not reconnect, 1008/1009 a refused frame).',
  middleware: [requireSocketAuth],
  security: [{ bearerAuth: [] }],
  request: {
    query: z.object({
      token: text().optional().openapi({ description: "The access token, when no header can be sent." }),
      level: LevelSchema.optional(),
    }),
  },
  responses: {
    101: { description: "Switching protocols: the socket is open." },
    400: problem("No level given and none in the profile."),
    401: unauthorized,
    426: problem("Not a WebSocket upgrade."),
    500: commonErrorResponses[500],
  },
});

export type AttemptRoute = typeof attempt;
export type StatusRoute = typeof status;
export type CancelRoute = typeof cancel;
export type SocketRoute = typeof socket;
