import { z } from "@hono/zod-openapi";
import { commonErrorResponses, defineRoute, jsonContent, problem } from "../../lib/openapi";
import { PageQuerySchema } from "../../lib/pagination";
import { freeText } from "../../lib/text";
import { authenticatedRead } from "../../middleware/auth";
import { MessageSchema } from "../sessions/sessions.schemas";

export const search = defineRoute({
  operationId: "searchMessages",
  method: "get",
  path: "/messages/search",
  tags: ["Messages"],
  summary: "Search my conversations",
  description:
    "Searches the messages of the caller's own sessions, best match first: every message that contains `q` " +
    "(case-insensitive, in any script, with `%` and `_` taken literally), then messages that resemble it by " +
    "trigram word similarity (typos in spaced scripts). The cursor is a keyset over the ranking, so a walk " +
    "never repeats or skips a hit that existed when it started.",
  ...authenticatedRead,
  request: {
    query: PageQuerySchema.extend({
      // One character is a word in Chinese and Japanese (猫, 水); it is found as any substring is.
      q: freeText().trim().min(1, "at least 1 character").max(200).openapi({ example: "market" }),
    }),
  },
  responses: {
    200: jsonContent(
      z
        .object({
          items: z.array(
            MessageSchema.extend({
              score: z.number().openapi({
                description: "0–1, higher is closer: 0.5 and above when the message contains `q`.",
              }),
            }),
          ),
          next_cursor: z.string().nullable(),
        })
        .openapi("MessageSearchPage"),
      "Matching messages, ranked.",
    ),
    400: commonErrorResponses[400],
    401: problem("No valid access token (`TOKEN_EXPIRED` when it has expired: refresh it, then retry)."),
    500: commonErrorResponses[500],
  },
});

export type SearchRoute = typeof search;
