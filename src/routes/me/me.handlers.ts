import { eq } from "drizzle-orm";
import type { Database } from "../../db/client";
import { profiles } from "../../db/schema";
import { ApiError } from "../../lib/errors";
import { describeError, log } from "../../lib/logger";
import { enforceRateLimit } from "../../lib/rate-limit";
import { rateLimitRules } from "../../lib/rate-limit-rules";
import type { AppRouteHandler } from "../../lib/types";
import { currentUser } from "../../middleware/auth";
import { announceDeparture, deleteAccount } from "../../services/departures";
import { acknowledgeNotice as acknowledge, findMe } from "../../services/me";
import { deleteObjectsUnder } from "../../services/storage";
import { presignUpload, storageLayout } from "../../services/uploads";
import type * as routes from "./me.routes";

function accountGone(): ApiError {
  return new ApiError("UNAUTHORIZED", {
    detail: "This account no longer exists.",
    headers: { "WWW-Authenticate": 'Bearer realm="gaplash", error="invalid_token"' },
  });
}

/** The caller's account as `GET /me` shows it; 401 when it is gone. */
async function loadMe(db: Database, userId: string) {
  const me = await findMe(db, userId);
  if (!me) throw accountGone();
  return me;
}

export const getMe: AppRouteHandler<routes.GetMeRoute> = async (c) => {
  return c.json(await loadMe(c.get("services").db, currentUser(c).userId), 200);
};

export const acknowledgeNotice: AppRouteHandler<routes.AcknowledgeNoticeRoute> = async (c) => {
  const acknowledged = await acknowledge(
    c.get("services").db,
    currentUser(c).userId,
    c.req.valid("param").id,
    new Date(),
  );
  if (!acknowledged) throw new ApiError("NOT_FOUND", { detail: "No such notice of yours." });
  return c.body(null, 204);
};

export const patchMe: AppRouteHandler<routes.PatchMeRoute> = async (c) => {
  const { userId } = currentUser(c);
  const patch = c.req.valid("json");
  const { db } = c.get("services");
  const changed = await db
    .update(profiles)
    .set({
      displayName: patch.display_name,
      about: patch.about,
      level: patch.level,
      timezone: patch.timezone,
      interests: patch.interests,
      updatedAt: new Date(),
    })
    .where(eq(profiles.userId, userId))
    .returning();
  if (changed.length === 0) throw accountGone();
  return c.json(await loadMe(db, userId), 200);
};

export const deleteMe: AppRouteHandler<routes.DeleteMeRoute> = async (c) => {
  const { userId } = currentUser(c);
  const { pool, redis, objects } = c.get("services");
  const now = new Date();
  const departure = await deleteAccount(pool, userId, now);
  if (!departure) throw accountGone();
  await announceDeparture({ redis, objects }, userId, "deleted", departure, now);
  const { s3 } = c.get("config");
  for (const prefix of [storageLayout.avatarPrefix(userId), storageLayout.uploadPrefix(userId)]) {
    try {
      await deleteObjectsUnder(s3, prefix);
    } catch (error) {
      // The account is gone either way; orphaned objects are logged for the operator to remove.
      log("error", "personal objects not deleted", {
        request_id: c.get("requestId"),
        user_id: userId,
        prefix,
        ...describeError(error),
      });
    }
  }
  return c.body(null, 204);
};

export const uploadAvatar: AppRouteHandler<routes.UploadAvatarRoute> = async (c) => {
  const { userId } = currentUser(c);
  const { content_type, size } = c.req.valid("json");
  await enforceRateLimit(c, rateLimitRules(c.get("config").rateLimits).uploads, userId);
  const now = new Date();
  const upload = await presignUpload(
    c.get("config").s3,
    { userId, kind: "avatar", contentType: content_type, size },
    now,
  );
  const changed = await c
    .get("services")
    .db.update(profiles)
    .set({ avatarUrl: upload.url, updatedAt: now })
    .where(eq(profiles.userId, userId))
    .returning();
  if (changed.length === 0) throw accountGone();
  return c.json({ ...upload, avatar_url: upload.url }, 201);
};
