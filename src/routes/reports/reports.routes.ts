import { z } from "@hono/zod-openapi";
import { idSchema } from "../../lib/ids";
import { commonErrorResponses, defineRoute, jsonBody, jsonContent, problem } from "../../lib/openapi";
import { blankAs, freeText } from "../../lib/text";
import { authenticatedLimited } from "../../middleware/auth";
import { SessionParamsSchema } from "../sessions/sessions.schemas";

export const reasons = ["spam", "harassment", "inappropriate", "underage", "scam", "other"] as const;

export const NewReportSchema = z
  .object({
    target_user_id: idSchema(),
    reason: z.enum(reasons),
    note: freeText().trim().max(1000).transform(blankAs(undefined)).optional(),
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

const ReportFiledSchema = z
  .object({
    id: z.uuid(),
    status: z.literal("open"),
    evidence_count: z.number().int().openapi({ description: "Messages kept as evidence." }),
    created_at: z.iso.datetime(),
  })
  .openapi("ReportFiled");

export const create = defineRoute({
  operationId: "fileReport",
  method: "post",
  path: "/reports",
  tags: ["Safety"],
  summary: "Report a user",
  ...authenticatedLimited,
  description:
    "A report that says what an open report of yours already says (the same user, session, reason and note) is " +
    "that report: a retry after a lost answer, or a second tap, answers 200 with it, files nothing and spends " +
    "none of the rate limit, also once the limit is spent.",
  request: { body: jsonBody(NewReportSchema) },
  responses: {
    200: jsonContent(ReportFiledSchema, "You filed this report already; it is still open."),
    201: jsonContent(ReportFiledSchema, "Filed; moderators will look at it."),
    ...commonErrorResponses,
    401: problem("No valid access token (`TOKEN_EXPIRED` when it has expired: refresh it, then retry)."),
    403: problem("The account is suspended."),
    404: problem("No such user, or no session you shared with them."),
    429: problem("Too many reports; `Retry-After` says when to try again."),
  },
});

/** The reason and note of `POST /reports`, with the same limits: the reported user is the session's other participant. */
export const ReportAndLeaveSchema = NewReportSchema.pick({ reason: true, note: true }).openapi("ReportAndLeave", {
  example: { reason: "harassment", note: "Kept insulting me after I asked him to stop." },
});

export const LeftWithReportSchema = z
  .object({
    report: z.object({
      id: z.uuid(),
      evidence_count: z.number().int().openapi({ description: "Messages kept as evidence." }),
      created_at: z.iso.datetime(),
    }),
    session: z.object({
      id: z.uuid(),
      ended_at: z.iso.datetime().openapi({
        description: "When the session ended: now, or earlier if it had ended before (you left, then reported).",
      }),
    }),
    blocked_user_id: z
      .uuid()
      .nullable()
      .openapi({ description: "Your partner, now blocked. null only on a retry after they deleted their account." }),
  })
  .openapi("LeftWithReport");

export const reportAndLeave = defineRoute({
  operationId: "reportAndLeave",
  method: "post",
  path: "/sessions/{id}/report-and-leave",
  tags: ["Safety"],
  summary: "Report your partner, block them and leave the session, in one step",
  description:
    "For the moment something goes wrong: ends the session for both (your partner gets `ended` with reason " +
    "`reported` on the session socket, and a call going on ends with `reported`), blocks your partner as " +
    "`POST /users/{id}/block` does, and files a report against them as `POST /reports` does with this session: its " +
    "last 50 messages are kept as evidence, and moderators see its calls. A session that has ended already stays as " +
    "it ended, and the block and report are still made. One report and one block, however often asked: a retry " +
    "(after a lost answer, with any body) answers 200 with the first report and changes nothing. Reports filed " +
    "either way share one rate limit.",
  ...authenticatedLimited,
  request: { params: SessionParamsSchema, body: jsonBody(ReportAndLeaveSchema) },
  responses: {
    201: jsonContent(LeftWithReportSchema, "Reported, blocked and left; moderators will look at the report."),
    200: jsonContent(LeftWithReportSchema, "Done before: the report the first call filed; nothing changed now."),
    ...commonErrorResponses,
    401: problem("No valid access token (`TOKEN_EXPIRED` when it has expired: refresh it, then retry)."),
    403: problem("The account is suspended."),
    404: problem("No such session among yours (the same answer whether or not it exists)."),
    409: problem("Your partner has deleted their account: there is nobody to report or block."),
    429: problem("Too many reports; `Retry-After` says when to try again."),
  },
});

export type CreateRoute = typeof create;
export type ReportAndLeaveRoute = typeof reportAndLeave;
