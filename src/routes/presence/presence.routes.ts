import { z } from "@hono/zod-openapi";
import { levels } from "../../db/schema/enums";
import { idSchema } from "../../lib/ids";
import { commonErrorResponses, defineRoute, jsonContent, problem } from "../../lib/openapi";
import { authenticated, authenticatedLimited } from "../../middleware/auth";

const tags = ["Presence"];
const unauthorized = problem("No valid access token (`TOKEN_EXPIRED` when it has expired: refresh it, then retry).");

export const ping = defineRoute({
  operationId: "pingPresence",
  method: "post",
  path: "/presence/ping",
  tags,
  summary: "I am here (call every 30 s)",
  description:
    "Marks the caller online for 60 s, at their profile's level. A queued match attempt lives only while its owner pings.",
  ...authenticatedLimited,
  responses: {
    200: jsonContent(
      z.object({ status: z.literal("online"), expires_in: z.number().int(), level: z.enum(levels).nullable() }),
      "Online for `expires_in` seconds.",
    ),
    401: unauthorized,
    500: commonErrorResponses[500],
  },
});

export const online = defineRoute({
  operationId: "getOnlineCounts",
  method: "get",
  path: "/presence/online",
  tags,
  summary: "How many learners are online, per level",
  ...authenticated,
  responses: {
    200: jsonContent(
      z
        .object({
          total: z.number().int(),
          levels: z
            .record(z.enum(levels), z.number().int())
            .openapi({ example: { A1: 3, A2: 8, B1: 12, B2: 7, C1: 2, C2: 0 } }),
        })
        .openapi("OnlineCounts"),
      "Counts of users who pinged within the last 60 s.",
    ),
    401: unauthorized,
    500: commonErrorResponses[500],
  },
});

const UserIdsSchema = z
  .string()
  .transform((value) => [
    ...new Set(
      value
        .split(",")
        .map((id) => id.trim())
        .filter(Boolean),
    ),
  ])
  .pipe(z.array(idSchema()).min(1).max(50))
  .openapi({ description: "Comma-separated user ids, at most 50.", example: "6f1d2a9c-3b4e-4f5a-8b6c-7d8e9f0a1b2c" });

export const status = defineRoute({
  operationId: "getPresenceStatus",
  method: "get",
  path: "/presence",
  tags,
  summary: "Which of these users are online",
  description: "A user who blocked you, or whom you blocked, always reads as offline.",
  ...authenticated,
  request: { query: z.object({ user_ids: UserIdsSchema }) },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(z.object({ user_id: z.uuid(), online: z.boolean() })) }).openapi("PresenceList"),
      "One item per requested id, in the order asked.",
    ),
    400: commonErrorResponses[400],
    401: unauthorized,
    500: commonErrorResponses[500],
  },
});

export type PingRoute = typeof ping;
export type OnlineRoute = typeof online;
export type StatusRoute = typeof status;
