import { createMiddleware } from "hono/factory";
import { ApiError } from "../lib/errors";
import type { AppBindings } from "../lib/types";

/**
 * For routes that take a JSON body: the body must be declared `application/json`, the one media
 * type the document lists. Other JSON-shaped types (`application/problem+json`,
 * `application/vnd.api+json`) mean something else, so they get 415 rather than a guess.
 */
export const requireJsonBody = createMiddleware<AppBindings>(async (c, next) => {
  const mediaType = c.req.header("content-type")?.split(";")[0]?.trim().toLowerCase();
  if (mediaType !== "application/json") {
    throw new ApiError("UNSUPPORTED_MEDIA_TYPE", {
      detail: mediaType
        ? `The body is \`${mediaType}\`; send it as \`application/json\`.`
        : "Send the body as `application/json` (no Content-Type was given).",
    });
  }
  await next();
});
