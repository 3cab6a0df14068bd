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

  it("refuses a token that claims to live longer than 15 minutes, so the previous key's window cannot be stretched", async () => {
    const session = await signIn();
    const now = Date.now();
    const retired = new Date(now - minute);
    // Backdated to the rotation and valid for a year: what a leaked previous key could mint.
    const stretched = await signedByPrevious(session, {
      iat: Math.floor(retired.getTime() / 1000),
      exp: Math.floor((now + 365 * 24 * 60 * minute) / 1000),
    });
    const answer = await meWith(rotatedAt(retired), stretched);
    expect(answer.status).toBe(401);
    expect((await readProblem(answer)).code).toBe("UNAUTHORIZED");
    // The same key and times with an honest lifetime are good until they expire.
    const honest = await signedByPrevious(session, {
      iat: Math.floor(retired.getTime() / 1000),
      exp: Math.floor(retired.getTime() / 1000) + 15 * 60,
    });
    expect((await meWith(rotatedAt(retired), honest)).status).toBe(200);
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

  it("takes a half-made or implausible rotation as none, and keeps serving (secrets change one at a time)", async () => {
    const session = await signIn();
    const now = Date.now();
    // The old key put aside before the new one lands: it is the current key, so nothing changes.
    expect((await meWith({ JWT_SECRET_PREVIOUS: before }, session.access_token)).status).toBe(200);
    expect(
      (
        await meWith(
          { JWT_SECRET_PREVIOUS: before, JWT_SECRET_ROTATED_AT: new Date(now).toISOString() },
          session.access_token,
        )
      ).status,
    ).toBe(200);
    const halves = [
      { JWT_SECRET: after, JWT_SECRET_PREVIOUS: before },
      { JWT_SECRET: after, JWT_SECRET_ROTATED_AT: new Date(now).toISOString() },
      // A typo's year: the old key would stay a signing key until then.
      { ...rotatedAt(new Date(now + 365 * 24 * 60 * minute)) },
    ];
    for (const half of halves) {
      const answer = await meWith(half, session.access_token);
      expect(answer.status, JSON.stringify(Object.keys(half))).toBe(401);
      expect((await readProblem(answer)).code).toBe("UNAUTHORIZED");
      expect((await apiWith(half, "/health")).status).toBe(200);
    }
  });
});
