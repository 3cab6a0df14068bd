import { ApiError, accountSuspended, type SuspensionDetails } from "../../lib/errors";
import { enforceRateLimit, refundRateLimits } from "../../lib/rate-limit";
import { rateLimitRules } from "../../lib/rate-limit-rules";
import type { AppRouteHandler } from "../../lib/types";
import { currentUser } from "../../middleware/auth";
import { pushToRoom, withdrawHeldAttempt } from "../../services/objects";
import { fileReport, fileReportAndLeave, findRepeatedReport, findReportAndLeave } from "../../services/reports";
import { endedEvent } from "../../services/room-protocol";
import type { CreateRoute, ReportAndLeaveRoute } from "./reports.routes";

export const create: AppRouteHandler<CreateRoute> = async (c) => {
  const { userId } = currentUser(c);
  const body = c.req.valid("json");
  if (body.target_user_id === userId) {
    throw new ApiError("VALIDATION_FAILED", {
      detail: "body.target_user_id: you cannot report yourself",
      errors: [{ field: "body.target_user_id", message: "you cannot report yourself" }],
    });
  }
  const { db, objects } = c.get("services");
  const report = {
    reporterId: userId,
    targetUserId: body.target_user_id,
    reason: body.reason,
    note: body.note,
    sessionId: body.session_id,
  };
  try {
    await enforceRateLimit(c, rateLimitRules(c.get("config").rateLimits).reports, userId);
  } catch (error) {
    // A retry of a report already filed is answered it (200), as report-and-leave's is: it files
    // nothing, and a 429 would say a report that went through did not. Read only when refused.
    if (!(error instanceof ApiError && error.code === "RATE_LIMITED")) throw error;
    const earlier = await findRepeatedReport(db, report);
    if (!earlier) throw error;
    return c.json(reportView(earlier), 200);
  }
  const outcome = await fileReport(db, report, c.get("config").moderation, new Date());
  if (outcome.kind === "inactive-reporter") throw inactiveReporter(outcome.suspension);
  if (outcome.kind === "unknown-target") throw new ApiError("NOT_FOUND", { detail: "No such user." });
  if (outcome.kind === "unknown-session") {
    throw new ApiError("NOT_FOUND", { detail: "No such session shared with this user." });
  }
  if (outcome.kind === "repeated") {
    // A retry of a report already counted spends nothing more, as report-and-leave's replay: a
    // flaky network's retries must not use up the hour's reports before the next real one.
    await refundRateLimits(c);
    return c.json(reportView(outcome), 200);
  }
  const withdrawn = outcome.hold?.withdrawnAttempt;
  // After the answer: the reporter does not wait for the held user's matchmaker.
  if (withdrawn) {
    c.executionCtx.waitUntil(withdrawHeldAttempt(objects, body.target_user_id, withdrawn, c.get("requestId")));
  }
  return c.json(reportView(outcome), 201);
};

/** What `POST /reports` answers of a report, filed now (201) or before (200). */
function reportView(report: { id: string; evidenceCount: number; createdAt: Date }) {
  return {
    id: report.id,
    status: "open" as const,
    evidence_count: report.evidenceCount,
    created_at: report.createdAt.toISOString(),
  };
}

export const reportAndLeave: AppRouteHandler<ReportAndLeaveRoute> = async (c) => {
  const { userId } = currentUser(c);
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const { db, objects } = c.get("services");
  try {
    await enforceRateLimit(c, rateLimitRules(c.get("config").rateLimits).reports, userId);
  } catch (error) {
    // A retry after a lost answer is answered its report (200) even once the limit is spent: it
    // files nothing, and a 429 would tell the reporter that a report they made did not go through.
    // Read only when refused, so the call stays one round trip.
    if (!(error instanceof ApiError && error.code === "RATE_LIMITED")) throw error;
    const earlier = await findReportAndLeave(db, userId, id);
    if (!earlier) throw error;
    return c.json(leftView(id, earlier), 200);
  }
  const now = new Date();
  const outcome = await fileReportAndLeave(
    db,
    { reporterId: userId, sessionId: id, reason: body.reason, note: body.note },
    c.get("config").moderation,
    now,
  );
  switch (outcome.kind) {
    case "inactive-reporter":
      throw inactiveReporter(outcome.suspension);
    case "not-found":
      throw new ApiError("NOT_FOUND", { detail: "No such session among yours." });
    case "partner-gone":
      throw new ApiError("CONFLICT", { detail: "Your partner has deleted their account: nobody to report or block." });
    case "replayed":
      // A retry of a report already counted: it spends nothing more.
      await refundRateLimits(c);
      return c.json(leftView(id, outcome), 200);
    case "filed": {
      for (const sessionId of outcome.endedSessions) {
        c.executionCtx.waitUntil(pushToRoom(objects, sessionId, endedEvent(sessionId, userId, now, "reported")));
      }
      const withdrawn = outcome.hold?.withdrawnAttempt;
      if (withdrawn) {
        c.executionCtx.waitUntil(withdrawHeldAttempt(objects, outcome.blockedUserId, withdrawn, c.get("requestId")));
      }
      return c.json(leftView(id, outcome), 201);
    }
  }
};

function leftView(
  sessionId: string,
  left: {
    report: { id: string; evidenceCount: number; createdAt: Date };
    sessionEndedAt: Date;
    blockedUserId: string | null;
  },
) {
  return {
    report: {
      id: left.report.id,
      evidence_count: left.report.evidenceCount,
      created_at: left.report.createdAt.toISOString(),
    },
    session: { id: sessionId, ended_at: left.sessionEndedAt.toISOString() },
    blocked_user_id: left.blockedUserId,
  };
}

/**
 * The 403 of a reporter whose account stopped being active after their request was admitted: a
 * suspension is told as on every other way in (`ACCOUNT_SUSPENDED`, since when and why).
 */
function inactiveReporter(suspension: SuspensionDetails | null): ApiError {
  if (suspension) return accountSuspended(suspension);
  return new ApiError("FORBIDDEN", { detail: "This account cannot file reports now." });
}
