import { enforceRateLimit } from "../../lib/rate-limit";
import { rateLimitRules } from "../../lib/rate-limit-rules";
import type { AppRouteHandler } from "../../lib/types";
import { currentUser } from "../../middleware/auth";
import { presignUpload } from "../../services/uploads";
import type { PresignRoute } from "./uploads.routes";

export const presign: AppRouteHandler<PresignRoute> = async (c) => {
  const { userId } = currentUser(c);
  const body = c.req.valid("json");
  await enforceRateLimit(c, rateLimitRules(c.get("config").rateLimits).uploads, userId);
  const upload = await presignUpload(
    c.get("config").s3,
    { userId, kind: body.kind, contentType: body.content_type, size: body.size },
    new Date(),
  );
  return c.json(upload, 201);
};
