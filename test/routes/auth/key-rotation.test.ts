import { env } from "cloudflare:workers";
import { decodeProtectedHeader, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { bearer, type SignedIn, signIn } from "../../support/auth";
import { apiWith, readProblem } from "../../support/http";

/*
 * Rotating JWT_SECRET (docs/operations.md, "Rotating secrets"): the new key signs from the
 * rotation on, and the one it replaced still verifies the tokens it signed before then, for the
 * rest of their 15 minutes, so no client has to refresh early. Each Worker here is the real one
 * with the rotation's configuration; the tokens are the ones sign-in issued before it.
 */
const before = (env as unknown as { JWT_SECRET: string }).JWT_SECRET;
const after = "rotated-jwt-secret-9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c";
const minute = 60_000;

function rotatedAt(at: Date) {
  return { JWT_SECRET: after, JWT_SECRET_PREVIOUS: before, JWT_SECRET_ROTATED_AT: at.toISOString() };
}

async function meWith(config: Record<string, string | undefined>, token: string): Promise<Response> {
  return apiWith(config, "/me", { headers: bearer({ access_token: token }) });
}

/** A token the previous key signs now, with the claims of `session`'s and the given times (s). */
async function signedByPrevious(session: SignedIn, times: { iat: number; exp: number }): Promise<string> {
  const { kid } = decodeProtectedHeader(session.access_token);
  return new SignJWT({ role: "user", typ: "access" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT", kid })
    .setSubject(session.user.id)
    .setIssuer("gaplash")
    .setAudience("gaplash-api")
    .setIssuedAt(times.iat)
    .setExpirationTime(times.exp)
    .sign(new TextEncoder().encode(before));
}

describe("a JWT_SECRET rotation", () => {
  it("accepts a token signed before it with the previous key, and signs new ones with the new key", async () => {
    const session = await signIn();
    const rotation = rotatedAt(new Date(Date.now() + 1000));
    const answer = await meWith(rotation, session.access_token);
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { user: { id: string } }).user.id).toBe(session.user.id);

    const refreshed = await apiWith(rotation, "/auth/refresh", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: session.refresh_token }),
    });
    expect(refreshed.status).toBe(200);
    const next = (await refreshed.json()) as SignedIn;
    expect(decodeProtectedHeader(next.access_token).kid).not.toBe(decodeProtectedHeader(session.access_token).kid);
    expect((await meWith(rotation, next.access_token)).status).toBe(200);
    // Only the new key signed it: a Worker that knows just the old key refuses it.
    const unrotated = await meWith({}, next.access_token);
    expect(unrotated.status).toBe(401);
    expect((await readProblem(unrotated)).code).toBe("UNAUTHORIZED");
  });

  it("without the previous key, refuses every token signed before it (each client would refresh at once)", async () => {
    const session = await signIn();
    const answer = await meWith({ JWT_SECRET: after }, session.access_token);
    expect(answer.status).toBe(401);
    expect((await readProblem(answer)).code).toBe("UNAUTHORIZED");
  });

  it("refuses the previous key once its last token has expired, even on a token that claims longer", async () => {
    const session = await signIn();
    const now = Date.now();
    // Retired 17 minutes ago: its tokens lived until 15 minutes (and the minute of skew) after.
    const retired = new Date(now - 17 * minute);
    const longLived = await signedByPrevious(session, {
      iat: Math.floor((retired.getTime() - minute) / 1000),
      exp: Math.floor((now + 10 * minute) / 1000),
    });
    const answer = await meWith(rotatedAt(retired), longLived);
    expect(answer.status).toBe(401);
    expect((await readProblem(answer)).code).toBe("UNAUTHORIZED");
    // Within the window the same key and claims were good.
    expect((await meWith(rotatedAt(new Date(now - 10 * minute)), longLived)).status).toBe(200);
  });

  it("refuses a token the previous key signed after it was retired (a leaked key minting tokens)", async () => {
    const session = await signIn();
    const now = Date.now();
    const minted = await signedByPrevious(session, {
      iat: Math.floor(now / 1000),
      exp: Math.floor((now + 10 * minute) / 1000),
    });
    const answer = await meWith(rotatedAt(new Date(now - 5 * minute)), minted);
    expect(answer.status).toBe(401);
    expect((await readProblem(answer)).code).toBe("UNAUTHORIZED");
  });

  it("answers an expired token of the previous key with TOKEN_EXPIRED, so the client refreshes", async () => {
    const session = await signIn();
    const now = Date.now();
    const expired = await signedByPrevious(session, {
      iat: Math.floor((now - 20 * minute) / 1000),
      exp: Math.floor((now - 5 * minute) / 1000),
    });
    const answer = await meWith(rotatedAt(new Date(now - 10 * minute)), expired);
    expect(answer.status).toBe(401);
    expect((await readProblem(answer)).code).toBe("TOKEN_EXPIRED");
  });

  it("is configured with both the previous key and the rotation's time, or refused as a configuration error", async () => {
    const session = await signIn();
    for (const half of [{ JWT_SECRET_PREVIOUS: before }, { JWT_SECRET_ROTATED_AT: new Date().toISOString() }]) {
      const answer = await meWith({ JWT_SECRET: after, ...half }, session.access_token);
      expect(answer.status).toBe(500);
    }
  });
});
