import { generateCodeVerifier, generateState } from "arctic";
import type { Context } from "hono";
import { deleteCookie, getSignedCookie, setSignedCookie } from "hono/cookie";
import { requesterNetwork } from "../../lib/client-ip";
import { ApiError, accountSuspended } from "../../lib/errors";
import { describeError, log } from "../../lib/logger";
import { enforceRateLimit, enforceRateLimits, rateLimited } from "../../lib/rate-limit";
import { rateLimitRules } from "../../lib/rate-limit-rules";
import type { AppBindings, AppRouteHandler } from "../../lib/types";
import {
  codeTtlMs,
  issueEmailCode,
  rememberRequester,
  resendCooldownMs,
  signInWithEmailCode,
} from "../../services/auth/email-codes";
import { finishGoogleSignIn, googleClient, googleScopes } from "../../services/auth/google";
import { revokeEverySignIn, revokeRefreshToken, rotateRefreshToken } from "../../services/auth/tokens";
import { announceDeparture } from "../../services/departures";
import type * as routes from "./auth.routes";
import { signInView } from "./auth.views";

export const requestEmailCode: AppRouteHandler<routes.RequestEmailCodeRoute> = async (c) => {
  const { email } = c.req.valid("json");
  const { auth, rateLimits } = c.get("config");
  const { db, redis, mailer } = c.get("services");
  const requester = requesterNetwork(c);
  // Counted only for a mail actually sent (a refusal or a failed mail gives its counts back):
  // per network, per address from that network, and per address from anywhere, the last one
  // not for a network the owner signed in from, so strangers cannot use it up against them.
  const rules = rateLimitRules(rateLimits);
  const reserve = (knownRequester: boolean) =>
    enforceRateLimits(c, [
      { rule: rules.codeRequestsPerNetwork, identifier: requester },
      { rule: rules.codeRequestsPerAddressAndNetwork, identifier: `${email} ${requester}` },
      ...(knownRequester ? [] : [{ rule: rules.codeMailsPerAddress, identifier: email }]),
    ]);
  const outcome = await issueEmailCode(
    { db, redis, mailer, authSecret: auth.authSecret, now: new Date(), reserve },
    email,
    requester,
  );
  switch (outcome.kind) {
    case "not-sent":
      log("error", "sign-in code not sent", { request_id: c.get("requestId"), ...describeError(outcome.error) });
      throw new ApiError("MAIL_NOT_SENT", { detail: "The code could not be mailed; try again in a moment." });
    case "cooldown":
      throw rateLimited(
        {
          name: "code-resend-cooldown",
          description: "a code was sent to this address at your request less than a minute ago",
          limit: 1,
          windowSeconds: resendCooldownMs / 1000,
        },
        Date.now() + outcome.retryAfterSeconds * 1000,
      );
    case "sent":
      return c.json({ status: "sent" as const, login_id: outcome.loginId, expires_in: codeTtlMs / 1000 }, 202);
  }
};

export const verifyEmailCode: AppRouteHandler<routes.VerifyEmailCodeRoute> = async (c) => {
  const { email, login_id: loginId, code } = c.req.valid("json");
  const { auth, rateLimits } = c.get("config");
  await enforceRateLimit(c, rateLimitRules(rateLimits).codeChecksPerNetwork, requesterNetwork(c));
  const outcome = await signInWithEmailCode(
    c.get("services").pool,
    { authSecret: auth.authSecret, jwtSecret: auth.jwtSecret, adminEmails: auth.adminEmails, now: new Date() },
    { email, loginId, code },
  );
  switch (outcome.kind) {
    case "invalid":
      throw new ApiError("INVALID_CODE", {
        detail: `That code is not right. ${outcome.attemptsLeft} attempt(s) left.`,
        extensions: { attempts_left: outcome.attemptsLeft },
      });
    case "unknown-login":
      throw new ApiError("INVALID_CODE", {
        detail: "No sign-in with this login_id is pending for this address; ask for a new code.",
        extensions: { attempts_left: 0 },
      });
    case "expired":
      throw new ApiError("CODE_EXPIRED", { detail: "That code has expired; ask for a new one." });
    case "used":
      throw new ApiError("CODE_USED", { detail: "That code was already used; ask for a new one." });
    case "too-many-attempts":
      throw new ApiError("TOO_MANY_ATTEMPTS", { detail: "Too many wrong codes; ask for a new one." });
    case "suspended":
      throw accountSuspended(outcome.suspension);
    case "signed-in":
      c.set("userId", outcome.user.id);
      // Best effort: a network not remembered is only held to the cap strangers share.
      await rememberRequester(c.get("services").redis, email, requesterNetwork(c)).catch((error: unknown) =>
        log("warn", "sign-in network not remembered", describeError(error)),
      );
      return c.json(signInView(outcome.user, outcome.pair), 200);
  }
};

export const refresh: AppRouteHandler<routes.RefreshRoute> = async (c) => {
  const { refresh_token } = c.req.valid("json");
  const { jwtSecret, authSecret, refreshReuseIntervalMs } = c.get("config").auth;
  const outcome = await rotateRefreshToken(
    c.get("services").pool,
    { jwtSecret, authSecret },
    refresh_token,
    new Date(),
    refreshReuseIntervalMs,
  );
  const challenge = { "WWW-Authenticate": 'Bearer realm="gaplash", error="invalid_token"' };
  switch (outcome.kind) {
    case "invalid":
      throw new ApiError("INVALID_REFRESH_TOKEN", {
        detail: "This refresh token is unknown, expired or revoked; sign in again.",
        headers: challenge,
      });
    case "reused":
      throw new ApiError("REFRESH_TOKEN_REUSED", {
        detail: "This refresh token was already used, so every token of this sign-in is now revoked; sign in again.",
        headers: challenge,
      });
    case "suspended":
      throw accountSuspended(outcome.suspension);
    case "rotated":
      c.set("userId", outcome.user.id);
      return c.json(signInView(outcome.user, outcome.pair), 200);
  }
};

export const logout: AppRouteHandler<routes.LogoutRoute> = async (c) => {
  const { refresh_token, everywhere } = c.req.valid("json");
  const { db, redis, objects } = c.get("services");
  const now = new Date();
  if (!everywhere) {
    await revokeRefreshToken(db, refresh_token, now);
    return c.body(null, 204);
  }
  const signedOut = await revokeEverySignIn(db, refresh_token, now);
  if (signedOut) {
    // Access tokens already issued stop at once too, and so do the sockets they opened, in the
    // matchmakers and in the rooms of the sessions that go on.
    await announceDeparture(
      { redis, objects },
      signedOut.userId,
      "signed-out",
      { endedSessions: [], leftSessions: signedOut.activeSessions, cancelledAttempt: null },
      now,
    );
  }
  return c.body(null, 204);
};

const oauthCookie = "gaplash_google_oauth";

function googleConfig(c: Context<AppBindings>) {
  const google = c.get("config").auth.google;
  if (!google) {
    throw new ApiError("GOOGLE_NOT_CONFIGURED", {
      detail: "Set GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET and GOOGLE_REDIRECT_URI to enable Google sign-in.",
    });
  }
  return google;
}

export const googleLogin: AppRouteHandler<routes.GoogleLoginRoute> = async (c) => {
  const google = googleConfig(c);
  const state = generateState();
  const codeVerifier = generateCodeVerifier();
  const url = googleClient(google).createAuthorizationURL(state, codeVerifier, googleScopes);
  await setSignedCookie(c, oauthCookie, `${state}.${codeVerifier}`, c.get("config").auth.authSecret, {
    httpOnly: true,
    secure: new URL(c.req.url).protocol === "https:",
    sameSite: "Lax",
    path: "/auth/google",
    maxAge: 600,
  });
  return c.redirect(url.toString(), 302);
};

export const googleCallback: AppRouteHandler<routes.GoogleCallbackRoute> = async (c) => {
  const google = googleConfig(c);
  const { auth } = c.get("config");
  const stored = await getSignedCookie(c, auth.authSecret, oauthCookie);
  // The cookie serves one callback, whatever its outcome.
  deleteCookie(c, oauthCookie, { path: "/auth/google" });
  const outcome = await finishGoogleSignIn(
    { pool: c.get("services").pool, google, jwtSecret: auth.jwtSecret, adminEmails: auth.adminEmails, now: new Date() },
    { ...c.req.valid("query"), stored },
  );
  switch (outcome.kind) {
    case "cancelled":
      throw new ApiError("OAUTH_CODE_REJECTED", { detail: `Google did not sign you in (${outcome.error}).` });
    case "state-mismatch":
      throw new ApiError("OAUTH_STATE_MISMATCH", {
        detail: "This sign-in did not start here or has expired; start again from /auth/google/login.",
      });
    case "code-rejected":
      throw new ApiError("OAUTH_CODE_REJECTED", { detail: `Google rejected the code (${outcome.error}).` });
    case "google-unreachable":
      throw new ApiError("BAD_GATEWAY", {
        detail: "Google could not be reached to finish sign-in.",
        cause: outcome.cause,
      });
    case "id-token-refused":
      log("warn", "google id token refused", { request_id: c.get("requestId"), ...describeError(outcome.cause) });
      throw new ApiError("BAD_GATEWAY", { detail: "Google's ID token could not be verified." });
    case "email-not-verified":
      throw new ApiError("EMAIL_NOT_VERIFIED", { detail: "Google has not verified this address; verify it first." });
    case "suspended":
      throw accountSuspended(outcome.suspension);
    case "signed-in":
      c.set("userId", outcome.user.id);
      return c.json(signInView(outcome.user, outcome.pair), 200);
  }
};
