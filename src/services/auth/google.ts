import { Google, OAuth2RequestError } from "arctic";
import { timingSafeEqual } from "hono/utils/buffer";
import { createRemoteJWKSet, jwtVerify } from "jose";
import type { Config } from "../../config";
import type { PoolDatabase } from "../../db/client";
import type { SuspensionDetails } from "../../lib/errors";
import { signInWithIdentity, suspensionOf, type User } from "./accounts";
import { issueTokenPair, type TokenPair } from "./tokens";

export const googleIssuers = ["https://accounts.google.com", "accounts.google.com"];
export const googleJwksUrl = "https://www.googleapis.com/oauth2/v3/certs";
export const googleScopes = ["openid", "email", "profile"];

type GoogleConfig = NonNullable<Config["auth"]["google"]>;

export function googleClient(config: GoogleConfig): Google {
  return new Google(config.clientId, config.clientSecret, config.redirectUri);
}

// One key set per isolate: jose caches Google's signing keys and refreshes them on rotation.
let googleKeys: ReturnType<typeof createRemoteJWKSet> | undefined;

export interface GoogleIdentity {
  subject: string;
  email: string;
  emailVerified: boolean;
}

/** Verifies the ID token Google returned: signature against Google's keys, `iss`, `aud` and `exp`. */
export async function verifyGoogleIdToken(idToken: string, clientId: string): Promise<GoogleIdentity> {
  googleKeys ??= createRemoteJWKSet(new URL(googleJwksUrl));
  const { payload } = await jwtVerify(idToken, googleKeys, {
    issuer: googleIssuers,
    audience: clientId,
    algorithms: ["RS256"],
    clockTolerance: 60,
    requiredClaims: ["sub", "exp"],
  });
  if (typeof payload.sub !== "string" || typeof payload.email !== "string") {
    throw new Error("the ID token carries no subject or email");
  }
  return {
    subject: payload.sub,
    email: payload.email.trim().toLowerCase(),
    emailVerified: payload.email_verified === true || payload.email_verified === "true",
  };
}

export type GoogleSignInOutcome =
  | { kind: "signed-in"; user: User; pair: TokenPair }
  /** Google sent the learner back with an `error` (they cancelled, or Google refused). */
  | { kind: "cancelled"; error: string }
  /** No code or state, or a state that is not the one this browser's cookie holds. */
  | { kind: "state-mismatch" }
  /** Google refused to exchange the code (its OAuth error code). */
  | { kind: "code-rejected"; error: string }
  | { kind: "google-unreachable"; cause: unknown }
  | { kind: "id-token-refused"; cause: unknown }
  | { kind: "email-not-verified" }
  | { kind: "suspended"; suspension: SuspensionDetails };

/**
 * Finishes a Google sign-in (RFC 6749 §4.1 with PKCE, RFC 7636): the `state` Google sent back
 * must be the one in the signed cookie the login set (`stored`, `<state>.<code verifier>`,
 * compared in constant time); the code is exchanged with its verifier, the ID token verified,
 * and a verified address signs in to its account, in one transaction with the token pair issued
 * for it. A suspended account gets no pair.
 */
export async function finishGoogleSignIn(
  deps: {
    pool: PoolDatabase;
    google: GoogleConfig;
    jwtSecret: string;
    adminEmails: ReadonlySet<string>;
    now: Date;
  },
  callback: { code?: string; state?: string; error?: string; stored: string | false | undefined },
): Promise<GoogleSignInOutcome> {
  if (callback.error) return { kind: "cancelled", error: callback.error };
  const [expectedState, codeVerifier] = typeof callback.stored === "string" ? callback.stored.split(".") : [];
  if (
    !callback.code ||
    !callback.state ||
    !expectedState ||
    !codeVerifier ||
    !(await timingSafeEqual(callback.state, expectedState))
  ) {
    return { kind: "state-mismatch" };
  }
  let idToken: string;
  try {
    idToken = (await googleClient(deps.google).validateAuthorizationCode(callback.code, codeVerifier)).idToken();
  } catch (error) {
    if (error instanceof OAuth2RequestError) return { kind: "code-rejected", error: error.code };
    return { kind: "google-unreachable", cause: error };
  }
  let identity: GoogleIdentity;
  try {
    identity = await verifyGoogleIdToken(idToken, deps.google.clientId);
  } catch (error) {
    return { kind: "id-token-refused", cause: error };
  }
  if (!identity.emailVerified) return { kind: "email-not-verified" };
  return deps.pool.transaction(async (tx) => {
    const user = await signInWithIdentity(
      tx,
      { provider: "google", providerUserId: identity.subject, email: identity.email, emailVerified: true },
      { isAdminEmail: deps.adminEmails.has(identity.email), now: deps.now },
    );
    if (user.status === "suspended") return { kind: "suspended" as const, suspension: suspensionOf(user) };
    const pair = await issueTokenPair(tx, deps.jwtSecret, { userId: user.id, role: user.role }, deps.now);
    return { kind: "signed-in" as const, user, pair };
  });
}
