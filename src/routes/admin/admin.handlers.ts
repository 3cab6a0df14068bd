import type { Context } from "hono";
import { ApiError } from "../../lib/errors";
import { decodeCursor, toPage } from "../../lib/pagination";
import type { AppBindings, AppRouteHandler } from "../../lib/types";
import { currentUser } from "../../middleware/auth";
import * as admin from "../../services/admin";
import { onlineCounts } from "../../services/presence";
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

function reportView(row: admin.ReportRow) {
  const { report } = row;
  return {
    id: report.id,
    status: report.status,
    reason: report.reason,
    note: report.note,
    session_id: report.sessionId,
    evidence: report.evidence,
    reporter: summary(row.reporter),
    target: summary(row.target),
    resolution: report.resolution,
    action: report.action,
    closed_by: report.closedBy,
    closed_at: report.closedAt?.toISOString() ?? null,
    created_at: report.createdAt.toISOString(),
  };
}

export const listReports: AppRouteHandler<routes.ListReportsRoute> = async (c) => {
  const { status, cursor, limit } = c.req.valid("query");
  const rows = await admin.listReports(c.get("services").db, status, limit, cursor ? decodeCursor(cursor) : undefined);
  return c.json(
    toPage(rows, limit, (row) => ({ at: row.report.createdAt, id: row.report.id }), reportView),
    200,
  );
};

export const closeReport: AppRouteHandler<routes.CloseReportRoute> = async (c) => {
  const { id } = c.req.valid("param");
  const { db } = c.get("services");
  const outcome = await admin.closeReport(db, currentUser(c).userId, id, c.req.valid("json"), new Date());
  if (outcome.kind === "not-found") throw new ApiError("NOT_FOUND", { detail: "No such report." });
  if (outcome.kind === "already-closed") throw new ApiError("CONFLICT", { detail: "This report is already closed." });
  const row = await admin.findReport(db, id);
  if (!row) throw new ApiError("NOT_FOUND", { detail: "No such report." });
  return c.json(reportView(row), 200);
};

async function changeStatus(c: Context<AppBindings>, userId: string, status: "active" | "suspended") {
  const actor = currentUser(c).userId;
  if (status === "suspended" && userId === actor) {
    throw new ApiError("VALIDATION_FAILED", {
      detail: "path.id: you cannot suspend yourself",
      errors: [{ field: "path.id", message: "you cannot suspend yourself" }],
    });
  }
  const outcome = await admin.setUserStatus(c.get("services").db, actor, userId, status, new Date());
  if (outcome.kind === "not-found") throw new ApiError("NOT_FOUND", { detail: "No such user." });
  return { id: userId, status, previous_status: outcome.previous };
}

export const suspendUser: AppRouteHandler<routes.SuspendUserRoute> = async (c) => {
  return c.json(await changeStatus(c, c.req.valid("param").id, "suspended"), 200);
};

export const unsuspendUser: AppRouteHandler<routes.UnsuspendUserRoute> = async (c) => {
  return c.json(await changeStatus(c, c.req.valid("param").id, "active"), 200);
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
    },
    200,
  );
};

export const queues: AppRouteHandler<routes.QueuesRoute> = async (c) => {
  return c.json({ items: await admin.queueStats(c.get("services").db, new Date()) }, 200);
};

export const auditLogs: AppRouteHandler<routes.AuditLogsRoute> = async (c) => {
  const { cursor, limit } = c.req.valid("query");
  const rows = await admin.listAuditLogs(c.get("services").db, limit, cursor ? decodeCursor(cursor) : undefined);
  return c.json(
    toPage(
      rows,
      limit,
      (row) => ({ at: row.createdAt, id: row.id }),
      (row) => ({
        id: row.id,
        actor_id: row.actorId,
        action: row.action,
        target_type: row.targetType,
        target_id: row.targetId,
        metadata: row.metadata,
        created_at: row.createdAt.toISOString(),
      }),
    ),
    200,
  );
};
