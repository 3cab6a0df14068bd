import { Google } from "arctic";
import { createRemoteJWKSet, jwtVerify } from "jose";
import type { Config } from "../../config";

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
