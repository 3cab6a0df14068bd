import { createMiddleware } from "hono/factory";
import { ApiError } from "../lib/errors";
import { isJsonMediaType, parseMediaType } from "../lib/media-type";
import type { AppBindings } from "../lib/types";

const accepted = "`application/json` (UTF-8; parameters such as `charset=utf-8` allowed)";

/**
 * For routes that take a JSON body: the body must be declared `application/json` in any spelling
 * RFC 9110 allows (`Application/JSON ; charset="UTF-8"`), parsed once by `parseMediaType`. Other
 * JSON-shaped types (`application/problem+json`, `application/vnd.api+json`) mean something
 * else, and a charset other than UTF-8 would be misread, so they get 415 with `Accept`, and a
 * detail naming what was received and what is accepted. The request goes on declared as plain
 * `application/json` (its parameters say nothing more once the charset is UTF-8), so that what
 * validates the body downstream sees the type this check accepted: zod-openapi's own media-type
 * gate is a regular expression that refuses the whitespace RFC 9110 allows before `;` and most
 * parameter names.
 */
export const requireJsonBody = createMiddleware<AppBindings>(async (c, next) => {
  const header = c.req.header("content-type");
  const mediaType = parseMediaType(header);
  if (!isJsonMediaType(mediaType)) {
    throw new ApiError("UNSUPPORTED_MEDIA_TYPE", {
      detail: header
        ? `The body was sent as \`${header.slice(0, 200)}\`; this operation accepts ${accepted}.`
        : `No Content-Type was given; this operation accepts ${accepted}.`,
      headers: { Accept: "application/json" },
    });
  }
  if (header !== "application/json") {
    const headers = new Headers(c.req.raw.headers);
    headers.set("content-type", "application/json");
    c.req.raw = new Request(c.req.raw, { headers });
  }
  await next();
});
