import { ApiError } from "../../lib/errors";
import { enforceRateLimit } from "../../lib/rate-limit";
import { rateLimitRules } from "../../lib/rate-limit-rules";
import type { AppRouteHandler } from "../../lib/types";
import { currentUser } from "../../middleware/auth";
import { withdrawHeldAttempt } from "../../services/objects";
import { fileReport } from "../../services/reports";
import type { CreateRoute } from "./reports.routes";

export const create: AppRouteHandler<CreateRoute> = async (c) => {
  const { userId } = currentUser(c);
  const body = c.req.valid("json");
  if (body.target_user_id === userId) {
    throw new ApiError("VALIDATION_FAILED", {
      detail: "body.target_user_id: you cannot report yourself",
      errors: [{ field: "body.target_user_id", message: "you cannot report yourself" }],
    });
  }
  await enforceRateLimit(c, rateLimitRules(c.get("config").rateLimits).reports, userId);
  const { db, objects } = c.get("services");
  const now = new Date();
  const outcome = await fileReport(
    db,
    {
      reporterId: userId,
      targetUserId: body.target_user_id,
      reason: body.reason,
      note: body.note,
      sessionId: body.session_id,
    },
    c.get("config").moderation,
    now,
  );
  if (outcome.kind === "inactive-reporter") {
    throw new ApiError("FORBIDDEN", { detail: "This account cannot file reports now." });
  }
  if (outcome.kind === "unknown-target") throw new ApiError("NOT_FOUND", { detail: "No such user." });
  if (outcome.kind === "unknown-session") {
    throw new ApiError("NOT_FOUND", { detail: "No such session shared with this user." });
  }
  const withdrawn = outcome.hold?.withdrawnAttempt;
  // After the answer: the reporter does not wait for the held user's matchmaker.
  if (withdrawn) {
    c.executionCtx.waitUntil(withdrawHeldAttempt(objects, body.target_user_id, withdrawn, c.get("requestId")));
  }
  return c.json(
    {
      id: outcome.id,
      status: "open" as const,
      evidence_count: outcome.evidenceCount,
      created_at: outcome.createdAt.toISOString(),
    },
    201,
  );
};
