import { z } from "@hono/zod-openapi";
import { badgeEnum } from "../../db/schema/enums";
import { commonErrorResponses, defineRoute, jsonContent, problem } from "../../lib/openapi";
import { authenticated } from "../../middleware/auth";

const tags = ["Progress"];

export const streak = defineRoute({
  operationId: "getStreak",
  method: "get",
  path: "/me/streaks",
  tags,
  summary: "My practice streak",
  description:
    "Days in a row with an ended session, in my time zone. A streak whose last day is before yesterday shows 0.",
  ...authenticated,
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
  ...authenticated,
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

export type StreakRoute = typeof streak;
export type BadgesRoute = typeof badges;
