import { z } from "@hono/zod-openapi";
import { badgeEnum } from "../../db/schema/enums";
import { commonErrorResponses, defineRoute, jsonContent, problem } from "../../lib/openapi";
import { PageQuerySchema } from "../../lib/pagination";
import { authenticatedRead } from "../../middleware/auth";

const tags = ["Progress"];

export const streak = defineRoute({
  operationId: "getStreak",
  method: "get",
  path: "/me/streaks",
  tags,
  summary: "My practice streak",
  description:
    "Days in a row with an ended session, in my time zone. A streak whose last day is before yesterday shows 0.",
  ...authenticatedRead,
  responses: {
    200: jsonContent(
      z
        .object({
          current: z.number().int(),
          longest: z.number().int(),
          last_active_date: z.iso.date().nullable(),
        })
        .openapi("Streak"),
      "The streak.",
    ),
    401: problem("No valid access token (`TOKEN_EXPIRED` when it has expired: refresh it, then retry)."),
    500: commonErrorResponses[500],
  },
});

export const badges = defineRoute({
  operationId: "listBadges",
  method: "get",
  path: "/me/badges",
  tags,
  summary: "My badges",
  ...authenticatedRead,
  responses: {
    200: jsonContent(
      z
        .object({
          items: z.array(z.object({ badge: z.enum(badgeEnum.enumValues), awarded_at: z.iso.datetime() })),
        })
        .openapi("Badges"),
      "Badges, first awarded first.",
    ),
    401: problem("No valid access token (`TOKEN_EXPIRED` when it has expired: refresh it, then retry)."),
    500: commonErrorResponses[500],
  },
});

export const corrections = defineRoute({
  operationId: "listCorrections",
  method: "get",
  path: "/me/corrections",
  tags,
  summary: "My corrections notebook",
  description:
    "The corrections my partners made of what I wrote, newest first: what I wrote, what they made of it, who and " +
    "in which session. What I corrected of theirs is in their notebook, not mine.",
  ...authenticatedRead,
  request: { query: PageQuerySchema },
  responses: {
    200: jsonContent(
      z
        .object({
          items: z.array(
            z
              .object({
                id: z.uuid().openapi({ description: "The correction message." }),
                session_id: z.uuid(),
                original: z.string().nullable().openapi({ example: "I goes to the market on Sunday" }),
                corrected: z.string().openapi({ example: "I go to the market on Sunday" }),
                corrector: z
                  .object({ id: z.uuid(), display_name: z.string().nullable() })
                  .nullable()
                  .openapi({ description: "null once that account is deleted." }),
                created_at: z.iso.datetime(),
              })
              .openapi("Correction"),
          ),
          next_cursor: z.string().nullable(),
        })
        .openapi("CorrectionPage"),
      "A page of the notebook.",
    ),
    400: commonErrorResponses[400],
    401: problem("No valid access token (`TOKEN_EXPIRED` when it has expired: refresh it, then retry)."),
    500: commonErrorResponses[500],
  },
});

export type CorrectionsRoute = typeof corrections;
export type StreakRoute = typeof streak;
export type BadgesRoute = typeof badges;
