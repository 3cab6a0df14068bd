import { eq } from "drizzle-orm";
import { SignJWT } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { refreshTokens, users } from "../../../src/db/schema";
import { sha256Hex } from "../../../src/lib/crypto";
import { bearer, type SignedIn, signIn } from "../../support/auth";
import { passResendCooldown, testDatabase } from "../../support/db";
import { api, postJson, readProblem } from "../../support/http";

const handle = testDatabase();
afterAll(() => handle.close());

const refresh = (token: string) => postJson("/auth/refresh", { refresh_token: token });
const me = (headers: Record<string, string>) => api("/me", { headers });

function encode(part: object): string {
  return btoa(JSON.stringify(part)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

describe("access tokens", () => {
  it("open /me for their user", async () => {
    const session = await signIn();
    const response = await me(bearer(session));
    expect(response.status).toBe(200);
    expect(((await response.json()) as { user: { id: string } }).user.id).toBe(session.user.id);
  });

  it("are required: without one, 401 with a Bearer challenge", async () => {
    const response = await me({});
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="gaplash"');
    expect((await readProblem(response)).code).toBe("UNAUTHORIZED");
  });

  it("are refused when forged with another key", async () => {
    const session = await signIn();
    const [, payload] = session.access_token.split(".");
    const forged = await new SignJWT(JSON.parse(atob(payload?.replaceAll("-", "+").replaceAll("_", "/") ?? "")))
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode("an-attacker-secret-that-is-long-enough-000"));
    const response = await me({ Authorization: `Bearer ${forged}` });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  it("are refused with alg: none", async () => {
    const session = await signIn();
    const [, payload] = session.access_token.split(".");
    const unsigned = `${encode({ alg: "none", typ: "JWT" })}.${payload}.`;
    expect((await me({ Authorization: `Bearer ${unsigned}` })).status).toBe(401);
  });

  it("are refused when expired, for another audience, or when a tampered role is claimed", async () => {
    const session = await signIn();
    const secret = new TextEncoder().encode("test-jwt-secret-0123456789abcdefghijklmnopqrstuv");
    const now = Math.floor(Date.now() / 1000);
    const base = { role: "user", typ: "access" };
    const expired = await new SignJWT(base)
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(session.user.id)
      .setIssuer("gaplash")
      .setAudience("gaplash-api")
      .setIssuedAt(now - 3600)
      .setExpirationTime(now - 120)
      .sign(secret);
    const otherAudience = await new SignJWT(base)
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(session.user.id)
      .setIssuer("gaplash")
      .setAudience("someone-else")
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(secret);
    const [header, , signature] = session.access_token.split(".");
    const tampered = `${header}.${encode({ sub: session.user.id, role: "admin", typ: "access" })}.${signature}`;
    // Only an expired token says so in its code: the one refusal a refresh mends.
    const expiredAnswer = await me({ Authorization: `Bearer ${expired}` });
    expect(expiredAnswer.status).toBe(401);
    expect(expiredAnswer.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect((await readProblem(expiredAnswer)).code).toBe("TOKEN_EXPIRED");
    for (const token of [otherAudience, tampered, "not-a-jwt"]) {
      const refused = await me({ Authorization: `Bearer ${token}` });
      expect(refused.status).toBe(401);
      expect((await readProblem(refused)).code).toBe("UNAUTHORIZED");
    }
  });

  it("are not read from the query string on HTTP routes", async () => {
    const session = await signIn();
    expect((await api(`/me?token=${session.access_token}`)).status).toBe(401);
  });
});

describe("POST /auth/refresh", () => {
  it("rotates: a new pair, and the new access token works", async () => {
    const session = await signIn();
    const response = await refresh(session.refresh_token);
    expect(response.status).toBe(200);
    const next = (await response.json()) as SignedIn;
    expect(next.refresh_token).not.toBe(session.refresh_token);
    expect(next.user.id).toBe(session.user.id);
    expect((await me(bearer(next))).status).toBe(200);
  });

  it("revokes the whole family when a used token is presented again past the reuse interval", async () => {
    const session = await signIn();
    const next = (await (await refresh(session.refresh_token)).json()) as SignedIn;
    await handle.db
      .update(refreshTokens)
      .set({ usedAt: new Date(Date.now() - 60_000) })
      .where(eq(refreshTokens.tokenHash, await sha256Hex(session.refresh_token)));
    const replay = await refresh(session.refresh_token);
    expect(replay.status).toBe(401);
    expect((await readProblem(replay)).code).toBe("REFRESH_TOKEN_REUSED");
    const afterReplay = await refresh(next.refresh_token);
    expect(afterReplay.status).toBe(401);
    expect((await readProblem(afterReplay)).code).toBe("INVALID_REFRESH_TOKEN");
  });

  it("refuses an unknown token", async () => {
    const response = await refresh("definitely-not-issued-by-us");
    expect(response.status).toBe(401);
    expect((await readProblem(response)).code).toBe("INVALID_REFRESH_TOKEN");
  });

  it("refuses a suspended user", async () => {
    const session = await signIn();
    await handle.db.update(users).set({ status: "suspended" }).where(eq(users.id, session.user.id));
    const response = await refresh(session.refresh_token);
    expect(response.status).toBe(403);
    expect((await readProblem(response)).code).toBe("ACCOUNT_SUSPENDED");
  });
});

describe("POST /auth/logout", () => {
  it("revokes the sign-in: its refresh tokens stop working", async () => {
    const session = await signIn();
    const next = (await (await refresh(session.refresh_token)).json()) as SignedIn;
    const response = await postJson("/auth/logout", { refresh_token: next.refresh_token });
    expect(response.status).toBe(204);
    expect((await refresh(next.refresh_token)).status).toBe(401);
  });

  it("leaves the user's other sign-ins alone", async () => {
    const phone = await signIn();
    // A second device signs in later with a new code.
    await passResendCooldown(phone.user.email);
    const laptop = await signIn(phone.user.email);
    await postJson("/auth/logout", { refresh_token: phone.refresh_token });
    expect((await refresh(laptop.refresh_token)).status).toBe(200);
  });

  it("answers 204 for a token it does not know", async () => {
    expect((await postJson("/auth/logout", { refresh_token: "unknown" })).status).toBe(204);
  });
});
