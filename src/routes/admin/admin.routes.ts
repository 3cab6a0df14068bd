import { z } from "@hono/zod-openapi";
import { levels } from "../../db/schema/enums";
import { idSchema } from "../../lib/ids";
import { commonErrorResponses, defineRoute, jsonBody, jsonContent, problem } from "../../lib/openapi";
import { PageQuerySchema } from "../../lib/pagination";
import { freeText } from "../../lib/text";
import { InterestSchema } from "../me/me.schemas";
import { reasons } from "../reports/reports.routes";
import { CallSchema, SessionSchema, TopicSchema } from "../sessions/sessions.schemas";

const tags = ["Admin"];
const security = [{ bearerAuth: [] }];
const guarded = {
  401: problem("No valid access token (`TOKEN_EXPIRED` when it has expired: refresh it, then retry)."),
  403: problem("Not an admin (read from the database on every request), or the account is suspended."),
};
const IdParamsSchema = z.object({ id: idSchema().openapi({ param: { name: "id", in: "path" } }) });

const UserSummarySchema = z
  .object({
    id: z.uuid(),
    email: z.email(),
    display_name: z.string().nullable(),
    status: z.enum(["active", "suspended"]),
  })
  .nullable()
  .openapi("UserSummary");

export const AdminReportSchema = z
  .object({
    id: z.uuid(),
    status: z.enum(["open", "closed"]),
    reason: z.enum(reasons),
    note: z.string().nullable(),
    session_id: z.uuid().nullable(),
    evidence: z
      .array(
        z.object({
          id: z.uuid(),
          sender_id: z.uuid().nullable(),
          type: z.string(),
          text: z.string().nullable(),
          audio_url: z.string().nullable(),
          created_at: z.string(),
          edited_at: z.string().nullable().optional(),
          deleted_at: z.string().nullable().optional(),
          revisions: z
            .array(
              z.object({
                kind: z.enum(["edited", "deleted"]),
                text: z.string().nullable(),
                audio_url: z
                  .string()
                  .nullable()
                  .optional()
                  .openapi({ description: "A deleted voice note's recording, for as long as it is kept (30 days)." }),
                revised_at: z.string(),
              }),
            )
            .optional()
            .openapi({ description: "What it said before each edit or its deletion, oldest first." }),
        }),
      )
      .nullable(),
    calls: z
      .array(CallSchema)
      .nullable()
      .openapi({
        description:
          "The calls of the report's session, oldest first, as recorded now (a call's record never changes once " +
          "it ended); null for a report that names no session.",
      }),
    left_session: z.boolean().openapi({
      description: "Filed with `POST /sessions/{id}/report-and-leave`: the reporter also blocked them and left.",
    }),
    reporter: UserSummarySchema,
    target: UserSummarySchema,
    held: z.boolean().openapi({
      description:
        "The reported user is held for review now: several people reported them, and they cannot look for " +
        "partners until a moderator closes their last open report (`none` or `warn` lifts the hold).",
    }),
    resolution: z.string().nullable(),
    action: z.enum(["none", "warn", "suspend"]).nullable(),
    closed_by: z.uuid().nullable(),
    closed_at: z.iso.datetime().nullable(),
    created_at: z.iso.datetime(),
  })
  .openapi("AdminReport");

export const listReports = defineRoute({
  operationId: "listReports",
  method: "get",
  path: "/admin/reports",
  tags,
  summary: "Reports, held users' open reports first, then newest first, with evidence and both users",
  security,
  request: { query: PageQuerySchema.extend({ status: z.enum(["open", "closed"]).default("open") }) },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(AdminReportSchema), next_cursor: z.string().nullable() }).openapi("AdminReportPage"),
      "A page of reports.",
    ),
    400: commonErrorResponses[400],
    ...guarded,
    500: commonErrorResponses[500],
  },
});

export const getReport = defineRoute({
  operationId: "getReport",
  method: "get",
  path: "/admin/reports/{id}",
  tags,
  summary: "One report, with its evidence, its session's calls and both users",
  security,
  request: { params: IdParamsSchema },
  responses: {
    200: jsonContent(AdminReportSchema, "The report."),
    400: commonErrorResponses[400],
    ...guarded,
    404: problem("No such report."),
    500: commonErrorResponses[500],
  },
});

export const AuditEntrySchema = z
  .object({
    id: z.uuid(),
    actor_id: z.uuid().nullable().openapi({ description: "The admin who acted; null for the system (a hold)." }),
    action: z.string().openapi({ example: "report.close" }),
    target_type: z.string().openapi({ example: "report" }),
    target_id: z.string(),
    metadata: z.record(z.string(), z.unknown()),
    created_at: z.iso.datetime(),
  })
  .openapi("AuditEntry");

const auditEntries = z.array(AuditEntrySchema).openapi({
  description: "The audit log's rows this action wrote, in its transaction: the record a moderator can point to.",
});

export const closeReport = defineRoute({
  operationId: "closeReport",
  method: "post",
  path: "/admin/reports/{id}/close",
  tags,
  summary: "Close a report, optionally warning or suspending the reported user",
  description:
    "`suspend` stops the user signing in, refreshing, matching and sending at once; of a user suspended already, " +
    "it closes the report and leaves their suspension (its time and reason) as it was. Written to the audit log.",
  security,
  request: {
    params: IdParamsSchema,
    body: jsonBody(
      z
        .object({ resolution: freeText().trim().min(1).max(1000), action: z.enum(["none", "warn", "suspend"]) })
        .openapi("CloseReport", {
          example: { resolution: "Insults confirmed in the evidence; first warning.", action: "warn" },
        }),
    ),
  },
  responses: {
    200: jsonContent(
      AdminReportSchema.extend({ audit_entries: auditEntries }).openapi("ClosedReport"),
      "The closed report, and what the audit log recorded: `report.close`, then `user.release` when the closing " +
        "lifted a hold.",
    ),
    ...commonErrorResponses,
    ...guarded,
    403: problem(
      "Not an admin (read from the database on every request), or the account is suspended; or a `suspend` of an " +
        "admin the caller may not suspend (one listed in `ADMIN_EMAILS`, by a granted admin).",
    ),
    404: problem("No such report."),
    409: problem(
      "The report is already closed, or a `warn` or `suspend` is about an account that was deleted (`none` closes it).",
    ),
  },
});

const UserStatusSchema = z
  .object({
    id: z.uuid(),
    status: z.enum(["active", "suspended"]),
    previous_status: z.enum(["active", "suspended"]),
    audit_entries: auditEntries,
  })
  .openapi("UserStatusChange");

export const getUser = defineRoute({
  operationId: "getUserHistory",
  method: "get",
  path: "/admin/users/{id}",
  tags,
  summary: "A user and their history: reports against them, sessions, ratings received",
  description:
    "What a moderator reads before deciding. Each list holds the newest `limit` items, newest first, beside its " +
    "total. Ratings are the numbers partners gave sessions with the user, without the partner's own notes.",
  security,
  request: { params: IdParamsSchema, query: PageQuerySchema.pick({ limit: true }) },
  responses: {
    200: jsonContent(
      z
        .object({
          user: z.object({
            id: z.uuid(),
            email: z.email(),
            display_name: z.string().nullable(),
            level: z.enum(levels).nullable(),
            role: z.enum(["user", "admin"]),
            status: z.enum(["active", "suspended"]),
            held_at: z.iso.datetime().nullable().openapi({ description: "Held for review since; null when not." }),
            suspended_at: z.iso.datetime().nullable(),
            suspension_reason: z.enum(reasons).nullable(),
            created_at: z.iso.datetime(),
          }),
          reports: z.object({
            total: z.number().int(),
            open: z.number().int(),
            items: z.array(
              z.object({
                id: z.uuid(),
                status: z.enum(["open", "closed"]),
                reason: z.enum(reasons),
                action: z.enum(["none", "warn", "suspend"]).nullable(),
                session_id: z.uuid().nullable(),
                reporter: UserSummarySchema,
                created_at: z.iso.datetime(),
                closed_at: z.iso.datetime().nullable(),
              }),
            ),
          }),
          sessions: z.object({
            total: z.number().int(),
            items: z.array(
              SessionSchema.pick({
                id: true,
                level: true,
                status: true,
                started_at: true,
                ended_at: true,
                duration_sec: true,
              }).extend({ partner: UserSummarySchema }),
            ),
          }),
          ratings: z.object({
            count: z.number().int(),
            average: z.number().nullable().openapi({ description: "To two decimals; null without ratings." }),
            items: z.array(
              z.object({
                session_id: z.uuid(),
                rating: z.number().int().min(1).max(5),
                by: UserSummarySchema,
                rated_at: z.iso.datetime().nullable(),
              }),
            ),
          }),
        })
        .openapi("AdminUserHistory"),
      "The user and their history.",
    ),
    400: commonErrorResponses[400],
    ...guarded,
    404: problem("No such user."),
    500: commonErrorResponses[500],
  },
});

export const suspendUser = defineRoute({
  operationId: "suspendUser",
  method: "post",
  path: "/admin/users/{id}/suspend",
  tags,
  summary: "Suspend a user",
  security,
  request: { params: IdParamsSchema },
  responses: {
    200: jsonContent(UserStatusSchema, "Suspended."),
    400: problem("Admins cannot suspend themselves."),
    ...guarded,
    404: problem("No such user."),
    409: problem("The account is already suspended (nothing changed)."),
    500: commonErrorResponses[500],
  },
});

export const unsuspendUser = defineRoute({
  operationId: "unsuspendUser",
  method: "post",
  path: "/admin/users/{id}/unsuspend",
  tags,
  summary: "Lift a suspension",
  security,
  request: { params: IdParamsSchema },
  responses: {
    200: jsonContent(UserStatusSchema, "Active again."),
    400: problem("Admins cannot unsuspend themselves."),
    ...guarded,
    404: problem("No such user."),
    409: problem("The account is not suspended (nothing changed)."),
    500: commonErrorResponses[500],
  },
});

export const setRole = defineRoute({
  operationId: "setUserRole",
  method: "post",
  path: "/admin/users/{id}/role",
  tags,
  summary: "Grant or take away the admin role",
  description:
    "Takes effect at once: admin rights are read from the database on every request. Written to the audit log. " +
    "Addresses in `ADMIN_EMAILS` are admins by configuration: their role cannot be taken away here.",
  security,
  request: {
    params: IdParamsSchema,
    body: jsonBody(z.object({ role: z.enum(["user", "admin"]) }).openapi("RoleChange", { example: { role: "admin" } })),
  },
  responses: {
    200: jsonContent(
      z
        .object({
          id: z.uuid(),
          role: z.enum(["user", "admin"]),
          previous_role: z.enum(["user", "admin"]),
          audit_entries: auditEntries,
        })
        .openapi("UserRoleChange"),
      "The role now.",
    ),
    ...commonErrorResponses,
    ...guarded,
    404: problem("No such user."),
    409: problem(
      "The account already has that role (nothing is changed or audited), or the address is in ADMIN_EMAILS: " +
        "remove it there to take the role away.",
    ),
  },
});

export const overview = defineRoute({
  operationId: "getAdminOverview",
  method: "get",
  path: "/admin/stats/overview",
  tags,
  summary: "Today at a glance (UTC day)",
  security,
  responses: {
    200: jsonContent(
      z
        .object({
          sessions_today: z.number().int(),
          dau: z.number().int().openapi({ description: "Users who signed in, talked or wrote today." }),
          online_now: z.number().int(),
          waiting_in_queue: z.number().int(),
          open_reports: z.number().int(),
          minutes_spoken_today: z
            .number()
            .openapi({ description: "Minutes spoken in calls that ended today, to a tenth of a minute." }),
        })
        .openapi("Overview"),
      "The figures.",
    ),
    ...guarded,
    500: commonErrorResponses[500],
  },
});

export const queues = defineRoute({
  operationId: "getQueueStats",
  method: "get",
  path: "/admin/stats/queues",
  tags,
  summary: "Queue analytics per level",
  security,
  responses: {
    200: jsonContent(
      z
        .object({
          items: z.array(
            z.object({
              level: z.enum(levels),
              depth: z.number().int(),
              wait_p50_ms: z.number().int().nullable(),
              wait_p95_ms: z.number().int().nullable(),
              matched_24h: z.number().int(),
              resolved_24h: z.number().int(),
              match_rate_24h: z.number().nullable(),
              hours: z
                .array(
                  z.object({
                    start: z.iso.datetime().openapi({ description: "The hour's first instant, UTC." }),
                    depth: z
                      .number()
                      .int()
                      .openapi({ description: "Learners waiting at the hour's end (now, for this hour)." }),
                    wait_p50_ms: z.number().int().nullable(),
                    wait_p95_ms: z.number().int().nullable(),
                    matched: z.number().int(),
                    resolved: z.number().int(),
                    match_rate: z.number().nullable(),
                  }),
                )
                .openapi({
                  description:
                    "The last 24 hours, oldest first: the 23 whole UTC hours before this one, then this one. An " +
                    "attempt counts in the hour it ended (matched, cancelled or expired); its wait is from asking to " +
                    "being matched.",
                }),
            }),
          ),
        })
        .openapi("QueueStats"),
      "Depth now; waits and match rate over the last 24 h, in all and hour by hour.",
    ),
    ...guarded,
    500: commonErrorResponses[500],
  },
});

export const auditLogs = defineRoute({
  operationId: "listAuditLogs",
  method: "get",
  path: "/admin/audit-logs",
  tags,
  summary: "Every admin action, newest first",
  security,
  request: { query: PageQuerySchema },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(AuditEntrySchema), next_cursor: z.string().nullable() }).openapi("AuditLogPage"),
      "A page of the audit log.",
    ),
    400: commonErrorResponses[400],
    ...guarded,
    500: commonErrorResponses[500],
  },
});

const AdminTopicSchema = TopicSchema.extend({
  active: z.boolean().openapi({ description: "Whether new sessions and `topic.next` may choose it." }),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
}).openapi("AdminTopic");

const topicFields = {
  level: z.enum(levels),
  title: freeText().trim().min(1).max(120).openapi({ example: "Street food" }),
  prompts: z
    .array(freeText().trim().min(1).max(300))
    .min(3)
    .max(5)
    .refine(
      (prompts) => new Set(prompts.map((prompt) => prompt.toLowerCase())).size === prompts.length,
      "each prompt once",
    )
    .openapi({
      description: "Three to five questions to talk about, for learners at the topic's level.",
      example: ["What street food is popular where you live?", "Where do you buy it?", "What would you never eat?"],
    }),
  tags: z
    .array(InterestSchema)
    .max(10)
    .transform((tags) => [...new Set(tags)])
    .openapi({ description: "Interests it suits, matched against learners' profile interests.", example: ["food"] }),
};

export const listTopics = defineRoute({
  operationId: "listTopics",
  method: "get",
  path: "/admin/topics",
  tags,
  summary: "Topics, newest first, of one level or all",
  security,
  request: {
    query: PageQuerySchema.extend({
      level: z.enum(levels).optional(),
      active: z.enum(["true", "false"]).optional().openapi({ description: "Only active (or only retired) topics." }),
    }),
  },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(AdminTopicSchema), next_cursor: z.string().nullable() }).openapi("AdminTopicPage"),
      "A page of topics.",
    ),
    400: commonErrorResponses[400],
    ...guarded,
    500: commonErrorResponses[500],
  },
});

export const createTopic = defineRoute({
  operationId: "createTopic",
  method: "post",
  path: "/admin/topics",
  tags,
  summary: "Add a topic (audited)",
  security,
  request: {
    body: jsonBody(
      z.object({ ...topicFields, tags: topicFields.tags.default([]) }).openapi("NewTopic", {
        example: {
          level: "A2",
          title: "Street food",
          prompts: ["What street food is popular where you live?", "Where do you buy it?", "What would you never eat?"],
          tags: ["food"],
        },
      }),
    ),
  },
  responses: {
    201: jsonContent(AdminTopicSchema, "The topic, active."),
    ...guarded,
  },
});

export const updateTopic = defineRoute({
  operationId: "updateTopic",
  method: "patch",
  path: "/admin/topics/{id}",
  tags,
  summary: "Edit or retire a topic (audited)",
  description:
    "Changes the fields sent. `active: false` retires it: it is never chosen again, and the sessions that had it " +
    "keep it; `active: true` brings it back. A topic keeps the level it was written for: for another level, add a " +
    "new topic.",
  security,
  request: {
    params: IdParamsSchema,
    body: jsonBody(
      z
        .strictObject({
          title: topicFields.title.optional(),
          prompts: topicFields.prompts.optional(),
          tags: topicFields.tags.optional(),
          active: z.boolean().optional(),
        })
        .refine((patch) => Object.keys(patch).length > 0, "send at least one field to change")
        .openapi("TopicPatch", { example: { active: false } }),
    ),
  },
  responses: {
    200: jsonContent(AdminTopicSchema, "The topic as it is now."),
    ...guarded,
    404: problem("No such topic."),
  },
});

export type ListTopicsRoute = typeof listTopics;
export type CreateTopicRoute = typeof createTopic;
export type UpdateTopicRoute = typeof updateTopic;
export type ListReportsRoute = typeof listReports;
export type GetReportRoute = typeof getReport;
export type GetUserRoute = typeof getUser;
export type CloseReportRoute = typeof closeReport;
export type SuspendUserRoute = typeof suspendUser;
export type UnsuspendUserRoute = typeof unsuspendUser;
export type SetRoleRoute = typeof setRole;
export type OverviewRoute = typeof overview;
export type QueuesRoute = typeof queues;
export type AuditLogsRoute = typeof auditLogs;
