import { eq } from "drizzle-orm";
import { profiles } from "../../db/schema";
import type { Level } from "../../db/schema/enums";
import { ApiError, accountSuspended } from "../../lib/errors";
import { describeError, log } from "../../lib/logger";
import { enforceRateLimit } from "../../lib/rate-limit";
import { rateLimitRules } from "../../lib/rate-limit-rules";
import type { AppRouteHandler } from "../../lib/types";
import { currentUser, socketRequest } from "../../middleware/auth";
import { reattach } from "../../services/attempts";
import { latestAttempt, resolveAttempts } from "../../services/match-store";
import { band } from "../../services/matching";
import { type PlacementRefusal, placeAttempt } from "../../services/placement";
import { whoIsOnline } from "../../services/presence";
import type * as routes from "./match.routes";

/** The problem each refusal of an attempt is answered with. */
function refused(refusal: PlacementRefusal): ApiError {
  switch (refusal.reason) {
    case "offline":
      return new ApiError("PRESENCE_REQUIRED", {
        detail: "Call POST /presence/ping first; attempts live while you ping.",
      });
    case "no-account":
      return new ApiError("UNAUTHORIZED", { detail: "This account no longer exists." });
    case "suspended":
      return accountSuspended(refusal.suspension);
    case "under-review":
      return new ApiError("UNDER_REVIEW", {
        detail:
          "Several people reported this account; a moderator will look at it soon. Until then you cannot look for partners.",
      });
    case "in-session":
      return new ApiError("ALREADY_IN_SESSION", {
        detail: "End your current session before looking for a new partner.",
        extensions: { session_id: refusal.sessionId },
      });
    case "changed":
      return new ApiError("CONFLICT", { detail: "Your attempt changed while it was placed; try again." });
    case "queued-elsewhere":
      return new ApiError("ALREADY_QUEUED", {
        detail: `You are already waiting at ${refusal.level}; cancel that attempt first.`,
        extensions: { attempt_id: refusal.attemptId },
      });
    case "withdrawn":
      return new ApiError("CONFLICT", {
        detail: "This attempt was cancelled or expired while it was being queued; try again.",
        extensions: { attempt_id: refusal.attemptId },
      });
  }
}

export const attempt: AppRouteHandler<routes.AttemptRoute> = async (c) => {
  const { userId } = currentUser(c);
  const { desired_level: level } = c.req.valid("json");
  const config = c.get("config");
  // Presence, the rate limit and the token's revocation read go to Redis together: one round trip.
  const online = whoIsOnline(c.get("services").redis, [userId]);
  void online.catch(() => {});
  await enforceRateLimit(c, rateLimitRules(config.rateLimits).matchAttempts, userId);
  const deps = {
    ...c.get("services"),
    waitUntil: (work: Promise<unknown>) => c.executionCtx.waitUntil(work),
    requestId: c.get("requestId"),
  };
  const placed = await placeAttempt(deps, userId, level, new Date(), online);
  switch (placed.status) {
    case "matched": {
      const { attemptId, sessionId, partner, topic, sharedInterests } = placed;
      return c.json(
        {
          status: "matched" as const,
          attempt_id: attemptId,
          session_id: sessionId,
          partner,
          topic,
          shared_interests: sharedInterests,
        },
        200,
      );
    }
    case "queued":
      return c.json({ status: "queued" as const, attempt_id: placed.attemptId }, 202);
    case "refused":
      throw refused(placed);
  }
};

export const status: AppRouteHandler<routes.StatusRoute> = async (c) => {
  const { userId } = currentUser(c);
  const { db, objects } = c.get("services");
  let latest = await latestAttempt(db, userId);
  if (latest?.status === "queued") {
    // Waiting learners ask this often: each time, make sure the attempt is held by its object.
    const reattached = await reattach({ db, objects }, { ...latest, userId }).catch((error: unknown) => {
      log("warn", "queued attempt not checked with its matchmaker", {
        request_id: c.get("requestId"),
        ...describeError(error),
      });
      return "held" as const;
    });
    if (reattached !== "held") latest = await latestAttempt(db, userId);
  }
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
  const { db, objects } = c.get("services");
  const latest = await latestAttempt(db, userId);
  if (latest?.status !== "queued") throw new ApiError("NOT_FOUND", { detail: "You have no queued attempt." });
  const cancelled = await resolveAttempts(db, [latest.id], "cancelled", new Date());
  if (cancelled.length === 0) {
    // The matchmaker paired it between our read and our write.
    const now = await latestAttempt(db, userId);
    throw new ApiError("ALREADY_MATCHED", {
      detail: "Your attempt was matched before it could be cancelled.",
      extensions: { session_id: now?.sessionId ?? undefined },
    });
  }
  // The database is the truth from here on: an object that misses this forgets the attempt when
  // it next tries to pair it, so a failure to tell it is logged, not answered.
  try {
    await objects.matchmaker(latest.level, (matchmaker) => matchmaker.cancel(latest.id));
  } catch (error) {
    log("warn", "cancelled attempt not withdrawn from its matchmaker", {
      request_id: c.get("requestId"),
      attempt_id: latest.id,
      ...describeError(error),
    });
  }
  return c.body(null, 204);
};

export const socket: AppRouteHandler<routes.SocketRoute> = async (c) => {
  const { userId } = currentUser(c);
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("UPGRADE_REQUIRED", { detail: "Connect with a WebSocket client." });
  }
  let level: Level | undefined = c.req.valid("query").level;
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
  const request = socketRequest(c);
  return c.get("services").objects.matchmaker(level, (matchmaker) => matchmaker.fetch(request));
};
