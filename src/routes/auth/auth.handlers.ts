import { generateCodeVerifier, generateState, OAuth2RequestError } from "arctic";
import type { Context } from "hono";
import { deleteCookie, getSignedCookie, setSignedCookie } from "hono/cookie";
import { timingSafeEqual } from "hono/utils/buffer";
import { requesterNetwork } from "../../lib/client-ip";
import { ApiError } from "../../lib/errors";
import { describeError, log } from "../../lib/logger";
import { enforceRateLimit, enforceRateLimits, rateLimited } from "../../lib/rate-limit";
import type { AppBindings, AppRouteHandler } from "../../lib/types";
import { signInWithIdentity } from "../../services/auth/accounts";
import {
  verifyEmailCode as checkEmailCode,
  codeTtlMs,
  issueEmailCode,
  rememberRequester,
  resendCooldownMs,
} from "../../services/auth/email-codes";
import { googleClient, googleScopes, verifyGoogleIdToken } from "../../services/auth/google";
import { issueTokenPair, revokeEverySignIn, revokeRefreshToken, rotateRefreshToken } from "../../services/auth/tokens";
import { announceDeparture } from "../../services/departures";
import type * as routes from "./auth.routes";
import { signInView } from "./auth.views";

const hour = 3600;

export const requestEmailCode: AppRouteHandler<routes.RequestEmailCodeRoute> = async (c) => {
  const { email } = c.req.valid("json");
  const { auth, rateLimits } = c.get("config");
  const { db, redis, mailer } = c.get("services");
  const requester = requesterNetwork(c);
  // Counted only for a mail actually sent (a refusal or a failed mail gives its counts back):
  // per network, per address from that network, and per address from anywhere, the last one
  // not for a network the owner signed in from, so strangers cannot use it up against them.
  const reserve = (knownRequester: boolean) =>
    enforceRateLimits(c, [
      {
        rule: {
          name: "code-requests-per-network",
          description: "sign-in codes asked from your network",
          limit: rateLimits.codeRequestsPerIpHour,
          windowSeconds: hour,
          failClosed: true,
        },
        identifier: requester,
      },
      {
        rule: {
          name: "code-requests-per-address-and-network",
          description: "sign-in codes to this address asked from your network",
          limit: rateLimits.codeRequestsPerEmailHour,
          windowSeconds: hour,
          failClosed: true,
        },
        identifier: `${email} ${requester}`,
      },
      ...(knownRequester
        ? []
        : [
            {
              rule: {
                name: "code-mails-per-address",
                description: "sign-in codes mailed to this address",
                limit: rateLimits.codeMailsPerEmailHour,
                windowSeconds: hour,
                failClosed: true,
              },
              identifier: email,
            },
          ]),
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
  await enforceRateLimit(
    c,
    {
      name: "code-checks-per-network",
      description: "sign-in code checks from your network",
      limit: rateLimits.codeChecksPerIp15Min,
      windowSeconds: 900,
      failClosed: true,
      countsEveryAttempt: true,
    },
    requesterNetwork(c),
  );
  const now = new Date();
  const result = await c.get("services").pool.transaction(async (tx) => {
    const outcome = await checkEmailCode(
      tx,
      { authSecret: auth.authSecret, adminEmails: auth.adminEmails, now },
      { email, loginId, code },
    );
    if (outcome.kind !== "signed-in" || outcome.user.status === "suspended") return { outcome };
    const claims = { userId: outcome.user.id, role: outcome.user.role };
    return { outcome, pair: await issueTokenPair(tx, auth.jwtSecret, claims, now) };
  });
  const { outcome } = result;
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
    case "signed-in":
      if (!result.pair) throw new ApiError("ACCOUNT_SUSPENDED", { detail: "This account is suspended." });
      c.set("userId", outcome.user.id);
      // Best effort: a network not remembered is only held to the cap strangers share.
      await rememberRequester(c.get("services").redis, email, requesterNetwork(c)).catch((error: unknown) =>
        log("warn", "sign-in network not remembered", describeError(error)),
      );
      return c.json(signInView(outcome.user, result.pair), 200);
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
      throw new ApiError("ACCOUNT_SUSPENDED", { detail: "This account is suspended." });
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
  const query = c.req.valid("query");
  const stored = await getSignedCookie(c, auth.authSecret, oauthCookie);
  deleteCookie(c, oauthCookie, { path: "/auth/google" });
  if (query.error) {
    throw new ApiError("OAUTH_CODE_REJECTED", { detail: `Google did not sign you in (${query.error}).` });
  }
  const [expectedState, codeVerifier] = typeof stored === "string" ? stored.split(".") : [];
  if (
    !query.code ||
    !query.state ||
    !expectedState ||
    !codeVerifier ||
    !(await timingSafeEqual(query.state, expectedState))
  ) {
    throw new ApiError("OAUTH_STATE_MISMATCH", {
      detail: "This sign-in did not start here or has expired; start again from /auth/google/login.",
    });
  }

  let idToken: string;
  try {
    idToken = (await googleClient(google).validateAuthorizationCode(query.code, codeVerifier)).idToken();
  } catch (error) {
    if (error instanceof OAuth2RequestError) {
      throw new ApiError("OAUTH_CODE_REJECTED", { detail: `Google rejected the code (${error.code}).` });
    }
    throw new ApiError("BAD_GATEWAY", { detail: "Google could not be reached to finish sign-in.", cause: error });
  }
  let identity: Awaited<ReturnType<typeof verifyGoogleIdToken>>;
  try {
    identity = await verifyGoogleIdToken(idToken, google.clientId);
  } catch (error) {
    log("warn", "google id token refused", { request_id: c.get("requestId"), ...describeError(error) });
    throw new ApiError("BAD_GATEWAY", { detail: "Google's ID token could not be verified." });
  }
  if (!identity.emailVerified) {
    throw new ApiError("EMAIL_NOT_VERIFIED", { detail: "Google has not verified this address; verify it first." });
  }

  const now = new Date();
  const { user, pair } = await c.get("services").pool.transaction(async (tx) => {
    const signedIn = await signInWithIdentity(
      tx,
      { provider: "google", providerUserId: identity.subject, email: identity.email, emailVerified: true },
      { isAdminEmail: auth.adminEmails.has(identity.email), now },
    );
    if (signedIn.status === "suspended") return { user: signedIn, pair: undefined };
    return {
      user: signedIn,
      pair: await issueTokenPair(tx, auth.jwtSecret, { userId: signedIn.id, role: signedIn.role }, now),
    };
  });
  if (!pair) throw new ApiError("ACCOUNT_SUSPENDED", { detail: "This account is suspended." });
  c.set("userId", user.id);
  return c.json(signInView(user, pair), 200);
};
