import { createMiddleware } from "hono/factory";
import { secureHeaders } from "hono/secure-headers";
import type { Config } from "../config";
import type { AppBindings } from "../lib/types";

/**
 * The headers every answer of the Worker carries (Hono's `secure-headers`): `nosniff`, no
 * framing (`X-Frame-Options: DENY` and `frame-ancestors 'none'`, so the client cannot be framed
 * to trick clicks on End, Block or Sign out), `Referrer-Policy: no-referrer` (a socket URL
 * carries an access token), HSTS, and for everything that is not a page a CSP that loads nothing
 * (`default-src 'none'`): an API answer is never a document. A page sets its own CSP first, which
 * is kept. WebSocket upgrades are left as the object answered them: a 101 carries no document.
 */
const headers = secureHeaders({
  contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  xFrameOptions: "DENY",
  overwrite: false,
});

export const secureResponseHeaders = createMiddleware<AppBindings>(async (c, next) => {
  if (c.req.header("upgrade")?.toLowerCase() === "websocket") return next();
  return headers(c, next);
});

const origin = (url: string) => new URL(url).origin;

/**
 * The CSP of the web client's pages: its own scripts and styles only (no inline script, so an
 * injected one does not run), the API and its sockets at this origin, and object storage, where
 * voice notes are uploaded to and played from and avatars are shown from (`S3_ENDPOINT`,
 * `S3_PUBLIC_URL`). TURN is not a fetch and is outside CSP.
 */
export function appContentSecurityPolicy(s3: Config["s3"]): string {
  const storage = [...new Set([origin(s3.endpoint), origin(s3.publicUrl)])].join(" ");
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data: blob: ${storage}`,
    `media-src 'self' blob: ${storage}`,
    `connect-src 'self' ${storage}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * The CSP of Swagger UI at `/swagger`: its pinned files from this origin, the document and
 * "try it out" against this origin. Swagger UI writes inline styles, so styles may be inline;
 * scripts may not.
 */
export const swaggerContentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");
