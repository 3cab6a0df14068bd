import type { Context } from "hono";
import { ApiError } from "../../lib/errors";
import { describeError, log } from "../../lib/logger";
import { decodeCursor, decodeHeldFirstCursor, encodeHeldFirstCursor, toPage } from "../../lib/pagination";
import type { AppBindings, AppRouteHandler } from "../../lib/types";
import { currentUser } from "../../middleware/auth";
import type { AdminRefusal } from "../../services/admin";
import * as admin from "../../services/admin";
import { announceDeparture } from "../../services/departures";
import { onlineCounts } from "../../services/presence";
import { restoreAccess } from "../../services/revocation";
import { toCallView } from "../../services/sessions";
import * as topics from "../../services/topics";
import { type VoiceNoteSigner, voiceNoteSigner } from "../../services/uploads";
import { userHistory } from "../../services/user-history";
import type * as routes from "./admin.routes";

function summary(
  user: {
    id: string | null;
    email: string | null;
    status: "active" | "suspended" | null;
    displayName: string | null;
  } | null,
) {
  return user?.id && user.email && user.status
    ? { id: user.id, email: user.email, display_name: user.displayName, status: user.status }
    : null;
}

/** A timestamp Postgres wrote into JSON (with its offset), as ISO 8601 UTC. */
function utc<T extends string | null>(instant: T): T {
  return (instant === null ? null : new Date(instant).toISOString()) as T;
}

/** An audit row as the API shows it. */
function auditView(row: admin.AuditEntry) {
  return {
    id: row.id,
    actor_id: row.actorId,
    action: row.action,
    target_type: row.targetType,
    target_id: row.targetId,
    metadata: row.metadata,
    created_at: row.createdAt.toISOString(),
  };
}

/** A report as moderators see it; voice notes in the evidence come with short-lived signed URLs. */
async function reportView(row: admin.ReportRow, signVoiceNote: VoiceNoteSigner) {
  const { report } = row;
  return {
    id: report.id,
    status: report.status,
    reason: report.reason,
    note: report.note,
    session_id: report.sessionId,
    evidence: report.evidence
      ? await Promise.all(
          report.evidence.map(async ({ audio_key, revisions, ...message }) => ({
            ...message,
            audio_url: audio_key ? await signVoiceNote(audio_key) : null,
            ...(revisions
              ? {
                  revisions: await Promise.all(
                    revisions.map(async ({ audio_key: revisedAudio, ...revision }) => ({
                      ...revision,
                      audio_url: revisedAudio ? await signVoiceNote(revisedAudio) : null,
                    })),
                  ),
                }
              : {}),
          })),
        )
      : null,
    calls: report.sessionId ? row.calls.map(toCallView) : null,
    left_session: report.leftSession,
    reporter: summary(row.reporter),
    target: summary(row.target),
    held: row.held,
    resolution: report.resolution,
    action: report.action,
    closed_by: report.closedBy,
    closed_at: report.closedAt?.toISOString() ?? null,
    created_at: report.createdAt.toISOString(),
  };
}

export const listReports: AppRouteHandler<routes.ListReportsRoute> = async (c) => {
  const { status, cursor, limit } = c.req.valid("query");
  const after = cursor ? decodeHeldFirstCursor(cursor) : undefined;
  // Every page is ordered as of the first one's instant (see admin.listReports).
  const asOf = after?.asOf ?? new Date();
  const rows = await admin.listReports(c.get("services").db, status, limit, after, asOf);
  return c.json(
    await toPage(
      rows,
      limit,
      (row) => admin.queuePosition(row, asOf),
      (row) => reportView(row, voiceNoteSigner(c.get("config").s3, new Date())),
      encodeHeldFirstCursor,
    ),
    200,
  );
};

export const getReport: AppRouteHandler<routes.GetReportRoute> = async (c) => {
  const row = await admin.findReport(c.get("services").db, c.req.valid("param").id);
  if (!row) throw new ApiError("NOT_FOUND", { detail: "No such report." });
  return c.json(await reportView(row, voiceNoteSigner(c.get("config").s3, new Date())), 200);
};

export const getUser: AppRouteHandler<routes.GetUserRoute> = async (c) => {
  const history = await userHistory(c.get("services").db, c.req.valid("param").id, c.req.valid("query").limit);
  if (!history) throw new ApiError("NOT_FOUND", { detail: "No such user." });
  const { user, reports, sessions, ratings } = history;
  return c.json(
    {
      user: {
        ...user,
        held_at: utc(user.held_at),
        suspended_at: utc(user.suspended_at),
        created_at: utc(user.created_at),
      },
      reports: {
        ...reports,
        items: reports.items.map((report) => ({
          ...report,
          created_at: utc(report.created_at),
          closed_at: utc(report.closed_at),
        })),
      },
      sessions: {
        ...sessions,
        items: sessions.items.map((session) => ({
          ...session,
          started_at: utc(session.started_at),
          ended_at: utc(session.ended_at),
        })),
      },
      ratings: {
        ...ratings,
        items: ratings.items.map((rating) => ({ ...rating, rated_at: utc(rating.rated_at) })),
      },
    },
    200,
  );
};

/** After a suspension commits: the user's tokens, sockets, session and queue learn of it. */
function announceSuspension(c: Context<AppBindings>, suspension: admin.Suspension | null, now: Date) {
  if (!suspension) return Promise.resolve();
  const { redis, objects } = c.get("services");
  return announceDeparture(
    { redis, objects },
    suspension.userId,
    "suspended",
    suspension.departure,
    now,
    suspension.reason,
  );
}

export const closeReport: AppRouteHandler<routes.CloseReportRoute> = async (c) => {
  const { id } = c.req.valid("param");
  const { db, pool } = c.get("services");
  const now = new Date();
  const outcome = await admin.closeReport(pool, currentUser(c).userId, id, c.req.valid("json"), now);
  if (outcome.kind === "not-found") throw new ApiError("NOT_FOUND", { detail: "No such report." });
  if (outcome.kind === "already-closed") throw new ApiError("CONFLICT", { detail: "This report is already closed." });
  if (outcome.kind === "target-deleted") {
    throw new ApiError("CONFLICT", {
      detail: "The reported account was deleted: there is nobody to warn or suspend. Close the report with `none`.",
    });
  }
  if (outcome.kind === "own-report") {
    throw new ApiError("VALIDATION_FAILED", {
      detail: "path.id: you cannot close a report about yourself",
      errors: [{ field: "path.id", message: "you cannot close a report about yourself" }],
    });
  }
  if (outcome.kind === "actor-not-admin" || outcome.kind === "outranked") throw refused(outcome);
  await announceSuspension(c, outcome.suspension, now);
  const row = await admin.findReport(db, id);
  if (!row) throw new ApiError("NOT_FOUND", { detail: "No such report." });
  return c.json(
    {
      ...(await reportView(row, voiceNoteSigner(c.get("config").s3, now))),
      audit_entries: outcome.audit.map(auditView),
    },
    200,
  );
};

/** Admins act on other accounts only: nobody suspends, unsuspends or changes the role of themselves. */
function notYourself(c: Context<AppBindings>, userId: string, what: string): string {
  const actor = currentUser(c).userId;
  if (userId === actor) {
    throw new ApiError("VALIDATION_FAILED", {
      detail: `path.id: you cannot ${what} yourself`,
      errors: [{ field: "path.id", message: `you cannot ${what} yourself` }],
    });
  }
  return actor;
}

/** The answer to a change of admin rights `mayChangeRights` refused (see services/admin.ts). */
function refused(refusal: AdminRefusal): ApiError {
  return new ApiError("FORBIDDEN", {
    detail:
      refusal.kind === "actor-not-admin"
        ? "Your admin rights were taken away while this request was on its way."
        : "This admin is listed in ADMIN_EMAILS; only another listed admin may change their rights.",
  });
}

async function changeStatus(c: Context<AppBindings>, userId: string, status: "active" | "suspended") {
  const actor = notYourself(c, userId, status === "suspended" ? "suspend" : "unsuspend");
  const { pool, redis } = c.get("services");
  const now = new Date();
  const outcome = await admin.setUserStatus(pool, actor, userId, status, now);
  if (outcome.kind === "not-found") throw new ApiError("NOT_FOUND", { detail: "No such user." });
  if (outcome.kind === "actor-not-admin" || outcome.kind === "outranked") throw refused(outcome);
  if (outcome.kind === "unchanged") {
    throw new ApiError("CONFLICT", {
      detail: status === "suspended" ? "This account is already suspended." : "This account is not suspended.",
    });
  }
  if (status === "suspended") await announceSuspension(c, outcome.suspension, now);
  else {
    await restoreAccess(redis, userId).catch((error) =>
      log("warn", "lifted suspension not cleared in Redis", { user_id: userId, ...describeError(error) }),
    );
  }
  return { id: userId, status, previous_status: outcome.previous, audit_entries: [auditView(outcome.audit)] };
}

export const suspendUser: AppRouteHandler<routes.SuspendUserRoute> = async (c) => {
  return c.json(await changeStatus(c, c.req.valid("param").id, "suspended"), 200);
};

export const unsuspendUser: AppRouteHandler<routes.UnsuspendUserRoute> = async (c) => {
  return c.json(await changeStatus(c, c.req.valid("param").id, "active"), 200);
};

export const setRole: AppRouteHandler<routes.SetRoleRoute> = async (c) => {
  const { id } = c.req.valid("param");
  const { role } = c.req.valid("json");
  const actor = notYourself(c, id, "change the role of");
  const outcome = await admin.setUserRole(
    c.get("services").pool,
    actor,
    id,
    role,
    c.get("config").auth.adminEmails,
    new Date(),
  );
  if (outcome.kind === "not-found") throw new ApiError("NOT_FOUND", { detail: "No such user." });
  if (outcome.kind === "actor-not-admin" || outcome.kind === "outranked") throw refused(outcome);
  if (outcome.kind === "unchanged") {
    throw new ApiError("CONFLICT", {
      detail: role === "admin" ? "This account is already an admin." : "This account is not an admin.",
    });
  }
  if (outcome.kind === "configured-admin") {
    throw new ApiError("CONFLICT", {
      detail:
        "This address is listed in ADMIN_EMAILS and would be an admin again at its next sign-in; remove it there.",
    });
  }
  return c.json({ id, role, previous_role: outcome.previous, audit_entries: [auditView(outcome.audit)] }, 200);
};

export const overview: AppRouteHandler<routes.OverviewRoute> = async (c) => {
  const now = new Date();
  const { db, redis } = c.get("services");
  const [figures, online] = await Promise.all([admin.overview(db, now), onlineCounts(redis, now.getTime())]);
  return c.json(
    {
      sessions_today: figures.sessionsToday,
      dau: figures.dau,
      online_now: online.total,
      waiting_in_queue: figures.waiting,
      open_reports: figures.openReports,
      minutes_spoken_today: Math.round(figures.spokenSecToday / 6) / 10,
    },
    200,
  );
};

export const queues: AppRouteHandler<routes.QueuesRoute> = async (c) => {
  const { db } = c.get("services");
  return c.json({ items: await admin.queueStats(db, new Date(), c.get("config").matching.attemptTtlMs) }, 200);
};

export const auditLogs: AppRouteHandler<routes.AuditLogsRoute> = async (c) => {
  const { cursor, limit } = c.req.valid("query");
  const rows = await admin.listAuditLogs(c.get("services").db, limit, cursor ? decodeCursor(cursor) : undefined);
  return c.json(await toPage(rows, limit, (row) => ({ at: row.createdAt, id: row.id }), auditView), 200);
};

export const listTopics: AppRouteHandler<routes.ListTopicsRoute> = async (c) => {
  const { cursor, limit, level, active } = c.req.valid("query");
  const rows = await topics.listTopics(
    c.get("services").db,
    { level, active: active === undefined ? undefined : active === "true" },
    limit,
    cursor ? decodeCursor(cursor) : undefined,
  );
  return c.json(await toPage(rows, limit, (row) => ({ at: row.createdAt, id: row.id }), topics.toAdminTopicView), 200);
};

export const createTopic: AppRouteHandler<routes.CreateTopicRoute> = async (c) => {
  const created = await topics.createTopic(
    c.get("services").pool,
    currentUser(c).userId,
    c.req.valid("json"),
    new Date(),
  );
  return c.json(topics.toAdminTopicView(created), 201);
};

export const updateTopic: AppRouteHandler<routes.UpdateTopicRoute> = async (c) => {
  const outcome = await topics.updateTopic(
    c.get("services").pool,
    currentUser(c).userId,
    c.req.valid("param").id,
    c.req.valid("json"),
    new Date(),
  );
  if (outcome.kind === "not-found") throw new ApiError("NOT_FOUND", { detail: "No such topic." });
  return c.json(topics.toAdminTopicView(outcome.topic), 200);
};
