import { z } from "@hono/zod-openapi";
import { commonErrorResponses, defineRoute, jsonContent, problem } from "../../lib/openapi";
import { PageQuerySchema } from "../../lib/pagination";
import { freeText } from "../../lib/text";
import { authenticated } from "../../middleware/auth";
import { MessageSchema } from "../sessions/sessions.schemas";

export const search = defineRoute({
  operationId: "searchMessages",
  method: "get",
  path: "/messages/search",
  tags: ["Messages"],
  summary: "Search my conversations",
  description: "Trigram similarity over the messages of the caller's own sessions, best match first.",
  ...authenticated,
  request: {
    query: PageQuerySchema.extend({
      q: freeText().trim().min(3, "at least 3 characters").max(200).openapi({ example: "market" }),
    }),
  },
  responses: {
    200: jsonContent(
      z
        .object({
          items: z.array(
            MessageSchema.extend({ score: z.number().openapi({ description: "0–1, higher is closer." }) }),
          ),
          next_cursor: z.string().nullable(),
        })
        .openapi("MessageSearchPage"),
      "Matching messages, ranked.",
    ),
    400: commonErrorResponses[400],
    401: problem("No valid access token."),
    500: commonErrorResponses[500],
  },
});

export type SearchRoute = typeof search;
