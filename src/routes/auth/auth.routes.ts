import { z } from "@hono/zod-openapi";
import { idSchema } from "../../lib/ids";
import { carrying, commonErrorResponses, defineRoute, jsonBody, jsonContent, problem } from "../../lib/openapi";
import { text } from "../../lib/text";
import { EmailSchema, LogoutSchema, RefreshTokenBodySchema, SignInSchema } from "./auth.schemas";

const tags = ["Auth"];
const tooMany = problem("Rate limited: `limit` names the limit that refused, `Retry-After` says when to try again.");

export const requestEmailCode = defineRoute({
  operationId: "requestEmailCode",
  method: "post",
  path: "/auth/email/request",
  tags,
  summary: "Mail a 6-digit sign-in code",
  description:
    "Answers 202 for any address, whether or not it has an account, with a `login_id` for this sign-in. " +
    "The code is bound to that login: valid for 10 minutes, once. Several sign-ins may be pending for one " +
    "address, each with its own wrong tries. One mail a minute per address and requesting network, and per hour " +
    "at most 5 per address and network, 20 per network and 20 per address in all (not counted for a network the " +
    "owner signed in from); only mails actually sent count, so a refused request spends nothing.",
  request: { body: jsonBody(z.object({ email: EmailSchema }).openapi("EmailCodeRequest")) },
  responses: {
    202: jsonContent(
      z
        .object({
          status: z.literal("sent"),
          login_id: z.uuid().openapi({ description: "Send it back with the code to `/auth/email/verify`." }),
          expires_in: z.number().int().openapi({ example: 600 }),
        })
        .openapi("EmailCodeSent"),
      "A code is on its way.",
    ),
    ...commonErrorResponses,
    429: tooMany,
    503: problem("The mail could not be sent, or the rate limiter is unavailable."),
  },
});

export const verifyEmailCode = defineRoute({
  operationId: "verifyEmailCode",
  method: "post",
  path: "/auth/email/verify",
  tags,
  summary: "Sign in with the mailed code",
  description:
    "Creates the account on first sign-in. Wrong code (or a `login_id` not pending for this address): " +
    "`INVALID_CODE`; expired: `CODE_EXPIRED`; already used: `CODE_USED`; after 5 wrong codes for this login: " +
    "`TOO_MANY_ATTEMPTS` (ask for a new one). Wrong tries count per login and per IP address, never per address, " +
    "so nobody can lock another person out.",
  request: {
    body: jsonBody(
      z
        .object({
          email: EmailSchema,
          login_id: idSchema().openapi({ example: "5b0c2f1e-8d4a-4e6b-9c3f-1a2b3c4d5e6f" }),
          code: z
            .string()
            .regex(/^\d{6}$/, "six digits")
            .openapi({ example: "042917" }),
        })
        .openapi("EmailCodeVerify"),
    ),
  },
  responses: {
    200: jsonContent(SignInSchema, "Signed in."),
    ...commonErrorResponses,
    403: problem("The account is suspended."),
    429: tooMany,
    503: problem("The rate limiter is unavailable; sign-in fails closed."),
  },
});

export const refresh = defineRoute({
  operationId: "refreshTokens",
  method: "post",
  path: "/auth/refresh",
  tags,
  summary: "Swap a refresh token for a new pair",
  description:
    "Each refresh token works once. Presented again within `AUTH_REFRESH_REUSE_INTERVAL_SEC` (10 s) of its rotation " +
    "(two tabs, a retry after a lost answer) it answers 200 with the same successor and a fresh access token; " +
    "presented later it revokes every token of its sign-in (401 `REFRESH_TOKEN_REUSED`).",
  request: { body: jsonBody(RefreshTokenBodySchema) },
  responses: {
    200: jsonContent(SignInSchema, "A new token pair."),
    ...commonErrorResponses,
    401: problem("Unknown, expired, revoked or reused refresh token."),
    403: problem(
      "The account is suspended (`ACCOUNT_SUSPENDED`, with `suspended_at` and `reason`), also for a token the " +
        "suspension revoked.",
    ),
  },
});

export const logout = defineRoute({
  operationId: "logout",
  method: "post",
  path: "/auth/logout",
  tags,
  summary: "Sign out this device, or everywhere",
  description:
    "Revokes this sign-in's refresh tokens. With `everywhere: true` and the current refresh token, revokes every " +
    "sign-in of the account, refuses its access tokens at once and closes its sockets.",
  request: { body: jsonBody(LogoutSchema) },
  responses: {
    204: { description: "Revoked (also when the token was unknown)." },
    ...commonErrorResponses,
  },
});

export const googleLogin = defineRoute({
  operationId: "startGoogleSignIn",
  method: "get",
  path: "/auth/google/login",
  tags,
  summary: "Start Google sign-in (redirect)",
  description:
    "Redirects to Google with `state` and a PKCE (S256) challenge; both are kept in a signed HttpOnly cookie.",
  responses: {
    302: carrying({ description: "To Google's consent page." }, "Location", "Set-Cookie"),
    500: commonErrorResponses[500],
    503: problem("Google sign-in is not configured."),
  },
});

export const googleCallback = defineRoute({
  operationId: "finishGoogleSignIn",
  method: "get",
  path: "/auth/google/callback",
  tags,
  summary: "Finish Google sign-in",
  description:
    "Checks `state`, exchanges the code, verifies the ID token, and signs in. A verified address that " +
    "already signed in by email is the same account.",
  request: {
    query: z.object({
      code: text().min(1).max(2048).optional(),
      state: text().min(1).max(512).optional(),
      error: text().max(256).optional(),
    }),
  },
  // Every answer after the configuration check clears the sign-in's cookie: it is used once.
  responses: {
    200: carrying(jsonContent(SignInSchema, "Signed in."), "Set-Cookie"),
    400: carrying(problem("State mismatch, a code Google rejected, or a cancelled sign-in."), "Set-Cookie"),
    500: carrying(commonErrorResponses[500], "Set-Cookie"),
    403: carrying(problem("The Google address is not verified, or the account is suspended."), "Set-Cookie"),
    502: carrying(problem("Google's answer could not be used."), "Set-Cookie"),
    503: carrying(problem("Google sign-in is not configured, or a dependency did not answer."), "Set-Cookie"),
  },
});

export type RequestEmailCodeRoute = typeof requestEmailCode;
export type VerifyEmailCodeRoute = typeof verifyEmailCode;
export type RefreshRoute = typeof refresh;
export type LogoutRoute = typeof logout;
export type GoogleLoginRoute = typeof googleLogin;
export type GoogleCallbackRoute = typeof googleCallback;
