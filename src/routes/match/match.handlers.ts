import { eq } from "drizzle-orm";
import { profiles } from "../../db/schema";
import type { Level } from "../../db/schema/enums";
import { socketUserHeader } from "../../durable-objects/socket-hub";
import { ApiError } from "../../lib/errors";
import { describeError, log } from "../../lib/logger";
import { enforceRateLimit } from "../../lib/rate-limit";
import type { AppRouteHandler } from "../../lib/types";
import { currentUser } from "../../middleware/auth";
import { latestAttempt, loadCandidate, openAttempt, resolveAttempts } from "../../services/match-store";
import { band } from "../../services/matching";
import { whoIsOnline } from "../../services/presence";
import type * as routes from "./match.routes";

function matchmaker(env: Env, level: Level) {
  return env.MATCHMAKER.get(env.MATCHMAKER.idFromName(level));
}

export const attempt: AppRouteHandler<routes.AttemptRoute> = async (c) => {
  const { userId } = currentUser(c);
  const { desired_level: level } = c.req.valid("json");
  const config = c.get("config");
  const { db, redis } = c.get("services");
  await enforceRateLimit(
    c,
    { name: "match-attempt", limit: config.rateLimits.matchAttemptsPerMin, windowSeconds: 60, failClosed: false },
    userId,
  );
  const now = new Date();
  const [opened, online] = await Promise.all([openAttempt(db, userId, level, now), whoIsOnline(redis, [userId])]);
  if (!opened) throw new ApiError("UNAUTHORIZED", { detail: "This account no longer exists." });
  const { candidate } = opened;
  if (!online.has(userId)) {
    // Rare: the attempt was written with the checks before presence answered; withdraw it.
    if (opened.attemptId) await resolveAttempts(db, [opened.attemptId], "cancelled", new Date());
    throw new ApiError("PRESENCE_REQUIRED", {
      detail: "Call POST /presence/ping first; attempts live while you ping.",
    });
  }
  if (candidate.status === "suspended")
    throw new ApiError("ACCOUNT_SUSPENDED", { detail: "This account is suspended." });
  if (candidate.activeSessionId) {
    throw new ApiError("ALREADY_IN_SESSION", {
      detail: "End your current session before looking for a new partner.",
      extensions: { session_id: candidate.activeSessionId },
    });
  }
  if (!opened.attemptId) {
    // Already queued, by an earlier request or by a concurrent one from the same user.
    const queued = candidate.queuedAttempt ?? (await loadCandidate(db, userId))?.queuedAttempt;
    if (queued?.level === level) return c.json({ status: "queued" as const, attempt_id: queued.id }, 202);
    throw new ApiError("ALREADY_QUEUED", {
      detail: `You are already waiting at ${queued?.level ?? "another level"}; cancel that attempt first.`,
      extensions: { attempt_id: queued?.id },
    });
  }
  const attemptId = opened.attemptId;

  let result: Awaited<ReturnType<ReturnType<typeof matchmaker>["enqueue"]>>;
  try {
    result = await matchmaker(c.env, level).enqueue({
      userId,
      attemptId: attemptId,
      level,
      displayName: candidate.displayName,
      enqueuedAt: now.getTime(),
      blocked: candidate.blocked,
      avoid: candidate.avoid,
    });
  } catch (error) {
    log("error", "matchmaker unavailable", { request_id: c.get("requestId"), ...describeError(error) });
    await resolveAttempts(db, [attemptId], "cancelled", new Date());
    throw new ApiError("SERVICE_UNAVAILABLE", { detail: "The matchmaker did not answer; try again." });
  }
  if (result.status === "matched") {
    return c.json(
      { status: "matched" as const, attempt_id: attemptId, session_id: result.sessionId, partner: result.partner },
      200,
    );
  }
  return c.json({ status: "queued" as const, attempt_id: attemptId }, 202);
};

export const status: AppRouteHandler<routes.StatusRoute> = async (c) => {
  const { userId } = currentUser(c);
  const latest = await latestAttempt(c.get("services").db, userId);
  if (!latest) return c.json({ status: "none" as const, attempt_id: null, level: null, band: [], waited_ms: 0 }, 200);
  const waitedMs = (latest.resolvedAt ?? new Date()).getTime() - latest.createdAt.getTime();
  return c.json(
    {
      status: latest.status,
      attempt_id: latest.id,
      level: latest.level,
      ...(latest.sessionId ? { session_id: latest.sessionId } : {}),
      band: band(latest.level, waitedMs, c.get("config").matching),
      waited_ms: Math.max(0, waitedMs),
    },
    200,
  );
};

export const cancel: AppRouteHandler<routes.CancelRoute> = async (c) => {
  const { userId } = currentUser(c);
  const { db } = c.get("services");
  const latest = await latestAttempt(db, userId);
  if (latest?.status !== "queued") throw new ApiError("NOT_FOUND", { detail: "You have no queued attempt." });
  const cancelled = await resolveAttempts(db, [latest.id], "cancelled", new Date());
  if (cancelled.length === 0) {
    // The matchmaker paired it between our read and our write.
    const now = await latestAttempt(db, userId);
    throw new ApiError("ALREADY_MATCHED", {
      detail: "Your attempt was matched before it could be cancelled.",
      extensions: { session_id: now?.sessionId },
    });
  }
  await matchmaker(c.env, latest.level).cancel(userId);
  return c.body(null, 204);
};

export const socket: AppRouteHandler<routes.SocketRoute> = async (c) => {
  const { userId } = currentUser(c);
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("UPGRADE_REQUIRED", { detail: "Connect with a WebSocket client." });
  }
  let level = c.req.valid("query").level;
  if (!level) {
    const [profile] = await c
      .get("services")
      .db.select({ level: profiles.level })
      .from(profiles)
      .where(eq(profiles.userId, userId));
    level = profile?.level ?? undefined;
  }
  if (!level) {
    throw new ApiError("VALIDATION_FAILED", {
      detail: "query.level: give the level you look for a partner at (your profile has none)",
      errors: [{ field: "query.level", message: "required when the profile has no level" }],
    });
  }
  const headers = new Headers(c.req.raw.headers);
  headers.set(socketUserHeader, userId);
  return matchmaker(c.env, level).fetch(new Request(c.req.raw.url, { headers }));
};
