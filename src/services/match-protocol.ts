import { z } from "zod";
import { levels } from "../db/schema/enums";
import { CurrentTopicSchema, SharedInterestsSchema } from "../routes/sessions/sessions.schemas";

/**
 * What `/match/ws` pushes, as the socket contract (`/asyncapi.json`) publishes it; the types the
 * Matchmaker sends are inferred from these schemas.
 */
export const matchEventSchemas = {
  matched: z
    .object({
      type: z.literal("matched"),
      attempt_id: z.uuid(),
      session_id: z.uuid(),
      partner: z.object({ id: z.uuid(), display_name: z.string().nullable(), level: z.enum(levels) }),
      band: z.array(z.enum(levels)).meta({ description: "The levels the match was made across." }),
      topic: CurrentTopicSchema,
      shared_interests: SharedInterestsSchema,
    })
    .meta({
      description:
        "Your attempt was paired: open the session. Both learners get it, the one whose `POST /match/attempt` " +
        "already answered matched included; de-duplicate by `attempt_id`.",
    }),
  expired: z
    .object({
      type: z.literal("expired"),
      attempt_id: z.uuid(),
      reason: z.enum(["timeout", "offline", "under_review"]).meta({
        description:
          "`timeout`: nobody was paired in time; `offline`: no presence ping for a minute; `under_review`: " +
          "reports hold your account for a moderator, and `POST /match/attempt` answers 403 `UNDER_REVIEW` until " +
          "one has looked (do not retry).",
      }),
    })
    .meta({ description: "Your queued attempt ended without a partner." }),
};

export type MatchedEvent = z.infer<typeof matchEventSchemas.matched>;
export type ExpiredEvent = z.infer<typeof matchEventSchemas.expired>;
export type MatchEvent = MatchedEvent | ExpiredEvent;
