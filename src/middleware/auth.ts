import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { socketExpiresHeader, socketUserHeader } from "../durable-objects/socket-hub";
import { ApiError, accountSuspended } from "../lib/errors";
import { describeError, log } from "../lib/logger";
import type { AppBindings } from "../lib/types";
import { InvalidAccessTokenError, type VerifiedAccess, verifyAccessToken } from "../services/auth/tokens";
import { accessRevocation, type Revocation } from "../services/revocation";

/**
 * A 401 with its RFC 6750 challenge. An expired token has a code of its own, `TOKEN_EXPIRED`, so
 * a client refreshes on exactly that; any other refused token is `UNAUTHORIZED`.
 */
function unauthorized(detail: string, invalidToken: boolean, expired = false): ApiError {
  const challenge = invalidToken
    ? `Bearer realm="gaplash", error="invalid_token", error_description="${detail}"`
    : `Bearer realm="gaplash"`;
  return new ApiError(expired ? "TOKEN_EXPIRED" : "UNAUTHORIZED", {
    detail,
    headers: { "WWW-Authenticate": challenge },
  });
}

function presentedToken(c: Context<AppBindings>, allowQueryToken: boolean): string | undefined {
  const header = c.req.header("authorization");
  if (header) return /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
  return allowQueryToken ? c.req.query("token") : undefined;
}

function revoked(revocation: Revocation): ApiError {
  switch (revocation.reason) {
    case "suspended":
      // The revocation was written when the suspension began: its instant is the suspension's.
      return accountSuspended({ since: new Date(revocation.at), reason: revocation.suspensionReason ?? null });
    case "deleted":
      return unauthorized("This account no longer exists.", true);
    case "signed-out":
      return unauthorized("This sign-in was ended; sign in again.", true);
    default:
      // A reason a newer deploy wrote, read by this version during the rollout: refused all the same.
      return unauthorized("This sign-in is no longer valid; sign in again.", true);
  }
}

/**
 * Whether the user's tokens were revoked after `token` was issued. Redis holds the revocations;
 * when it cannot answer, the signed token alone decides (it lives at most 15 minutes), so a
 * Redis outage does not sign everyone out.
 */
async function revocationOf(c: Context<AppBindings>, access: VerifiedAccess): Promise<Revocation | null> {
  try {
    const revocation = await accessRevocation(c.get("services").redis, access.userId);
    return revocation && access.issuedAt <= revocation.at ? revocation : null;
  } catch (error) {
    log("warn", "token revocations unavailable; trusting the token", {
      request_id: c.get("requestId"),
      ...describeError(error),
    });
    return null;
  }
}

/**
 * When a request waits for its token's revocation read (docs/decisions.md, "The revocation read
 * overlaps the work it guards"):
 * - `before`: before the handler runs; every route unless it says otherwise.
 * - `alongside`: sent as the handler starts and awaited when it is done; a revoked caller gets the
 *   refusal instead of the handler's answer. Only for handlers that change nothing.
 * - `with-limits`: awaited by the handler (`admitted` in lib/admitted.ts, which its rate limit `enforceRateLimits`
 *   calls with its counters) with its first wait, before it changes anything; and at the latest
 *   when it is done.
 */
export type AccessCheckMode = "before" | "alongside" | "with-limits";

const authenticate = (allowQueryToken: boolean, mode: AccessCheckMode) =>
  createMiddleware<AppBindings>(async (c, next) => {
    const token = presentedToken(c, allowQueryToken);
    if (!token) throw unauthorized("Send the access token as `Authorization: Bearer <token>`.", false);
    let access: VerifiedAccess;
    try {
      const { jwtSecret, jwtPrevious } = c.get("config").auth;
      access = await verifyAccessToken({ current: jwtSecret, previous: jwtPrevious }, token);
    } catch (error) {
      if (error instanceof InvalidAccessTokenError) throw unauthorized(error.message, true, error.expired);
      throw unauthorized("the token is not valid", true);
    }
    c.set("userId", access.userId);
    let checked: Promise<void> | undefined;
    const accessCheck = () => {
      checked ??= revocationOf(c, access).then((revocation) => {
        if (revocation) throw revoked(revocation);
      });
      return checked;
    };
    c.set("accessCheck", accessCheck);
    c.set("auth", access);
    if (mode === "before") {
      await accessCheck();
      await next();
      return;
    }
    if (mode === "alongside") void accessCheck().catch(() => {});
    await next();
    try {
      await accessCheck();
    } catch (refusal) {
      // The refusal replaces the handler's answer whole: Hono would copy that answer's headers
      // (a 503's Retry-After, a WWW-Authenticate of its own) onto the response that replaces it.
      c.res = undefined;
      throw refusal;
    }
  });

/** `AuthRequired`: a valid, unrevoked access token in `Authorization: Bearer`, or 401 with `WWW-Authenticate`. */
export const requireAuth = authenticate(false, "before");

/**
 * For WebSocket upgrades, which browsers cannot give headers: the token may also come as
 * `?token=` (the request log redacts it).
 */
export const requireSocketAuth = authenticate(true, "before");

/** Spread into a route declaration: the route needs a bearer token, and the document says so. */
export const authenticated = { middleware: [requireAuth], security: [{ bearerAuth: [] }] };

/**
 * `authenticated`, for a handler that only reads: its statement and the token's revocation read
 * go out together, one round trip for both, and the answer leaves only once both are back.
 */
export const authenticatedRead = {
  middleware: [authenticate(false, "alongside")],
  security: [{ bearerAuth: [] }],
};

/**
 * `authenticated`, for a handler that awaits `admitted` with its first wait (its rate limit does):
 * what it waits for and the token's revocation read go out together, and it changes nothing before
 * both are back.
 */
export const authenticatedLimited = {
  middleware: [authenticate(false, "with-limits")],
  security: [{ bearerAuth: [] }],
};

/** The authenticated caller; only for handlers behind `requireAuth`. */
export function currentUser(c: Context<AppBindings>): VerifiedAccess {
  const auth = c.get("auth");
  if (!auth) throw unauthorized("Authentication is required.", false);
  return auth;
}

/**
 * The upgrade request as a Durable Object receives it, told whose socket it is and until when
 * the token it was opened with holds (the object closes it then).
 */
export function socketRequest(c: Context<AppBindings>, extraHeaders: Record<string, string> = {}): Request {
  const { userId, expiresAt } = currentUser(c);
  // What the Worker tells the object is its own word: a client's headers of the same names are dropped.
  const forwarded = [...c.req.raw.headers].filter(([name]) => !name.startsWith("x-gaplash-"));
  const headers = new Headers({ ...Object.fromEntries(forwarded), ...extraHeaders });
  headers.set(socketUserHeader, userId);
  headers.set(socketExpiresHeader, String(expiresAt));
  return new Request(c.req.raw.url, { headers });
}
