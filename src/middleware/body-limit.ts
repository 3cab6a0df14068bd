import { bodyLimit as honoBodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { ApiError } from "../lib/errors";
import type { AppBindings } from "../lib/types";

/** Refuses bodies over `MAX_BODY_BYTES`, whether declared by Content-Length or streamed. */
export const bodyLimit = createMiddleware<AppBindings>((c, next) => {
  const maxSize = c.get("config").maxBodyBytes;
  return honoBodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError("PAYLOAD_TOO_LARGE", { detail: `Bodies are limited to ${maxSize} bytes.` });
    },
  })(c, next);
});
