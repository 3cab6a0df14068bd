import { z } from "@hono/zod-openapi";
import { idSchema } from "../../lib/ids";
import { commonErrorResponses, defineRoute, jsonBody, jsonContent, problem } from "../../lib/openapi";
import { freeText } from "../../lib/text";
import { authenticatedLimited } from "../../middleware/auth";

export const reasons = ["spam", "harassment", "inappropriate", "underage", "scam", "other"] as const;

export const NewReportSchema = z
  .object({
    target_user_id: idSchema(),
    reason: z.enum(reasons),
    note: freeText().trim().max(1000).optional(),
    session_id: idSchema()
      .optional()
      .openapi({ description: "A session you shared with them: its last 50 messages are kept as evidence." }),
  })
  .openapi("NewReport", {
    example: {
      target_user_id: "5b0c2f1e-8d4a-4e6b-9c3f-1a2b3c4d5e6f",
      reason: "harassment",
      note: "Kept insulting me after I asked him to stop.",
    },
  });

export const create = defineRoute({
  operationId: "fileReport",
  method: "post",
  path: "/reports",
  tags: ["Safety"],
  summary: "Report a user",
  ...authenticatedLimited,
  request: { body: jsonBody(NewReportSchema) },
  responses: {
    201: jsonContent(
      z
        .object({
          id: z.uuid(),
          status: z.literal("open"),
          evidence_count: z.number().int().openapi({ description: "Messages kept as evidence." }),
          created_at: z.iso.datetime(),
        })
        .openapi("ReportFiled"),
      "Filed; moderators will look at it.",
    ),
    ...commonErrorResponses,
    401: problem("No valid access token (`TOKEN_EXPIRED` when it has expired: refresh it, then retry)."),
    403: problem("The account is suspended."),
    404: problem("No such user, or no session you shared with them."),
    429: problem("Too many reports; `Retry-After` says when to try again."),
  },
});

export type CreateRoute = typeof create;
