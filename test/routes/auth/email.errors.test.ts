import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { afterAll, afterEach, describe, expect, inject, it, vi } from "vitest";
import { authEmailTokens, users } from "../../../src/db/schema";
import worker from "../../../src/index";
import { newEmail, requestCode, signIn, startSignIn, verify } from "../../support/auth";
import { passResendCooldown, testDatabase } from "../../support/db";
import { apiWith, baseUrl, randomIp, readProblem } from "../../support/http";
import { withinOneWindow } from "../../support/windows";

const handle = testDatabase();
afterAll(() => handle.close());
const { distantRedisRestUrl, distantRedisRttMs } = inject("fixtures");
afterEach(() => {
  vi.restoreAllMocks();
});

function wrongCode(code: string): string {
  return String((Number(code) + 1) % 1_000_000).padStart(6, "0");
}

describe("POST /auth/email/verify refuses", () => {
  it("a wrong code with INVALID_CODE and the attempts left", async () => {
    const { email, loginId, code } = await startSignIn();
    const response = await verify(email, loginId, wrongCode(code));
    expect(response.status).toBe(400);
    expect(await readProblem(response)).toMatchObject({ code: "INVALID_CODE", attempts_left: 4 });
  });

  it("the code after the fifth wrong try, even the right one (TOO_MANY_ATTEMPTS)", async () => {
    const { email, loginId, code } = await startSignIn();
    const codes = [];
    for (let i = 0; i < 5; i += 1) {
      codes.push((await readProblem(await verify(email, loginId, wrongCode(code)))).code);
    }
    expect(codes).toEqual(["INVALID_CODE", "INVALID_CODE", "INVALID_CODE", "INVALID_CODE", "TOO_MANY_ATTEMPTS"]);
    const right = await verify(email, loginId, code);
    expect(right.status).toBe(400);
    expect((await readProblem(right)).code).toBe("TOO_MANY_ATTEMPTS");
    expect(await handle.db.select().from(users).where(eq(users.email, email))).toHaveLength(0);
  });

  it("a code used once already (CODE_USED)", async () => {
    const { email, loginId, code } = await startSignIn();
    expect((await verify(email, loginId, code)).status).toBe(200);
    const again = await verify(email, loginId, code);
    expect(again.status).toBe(400);
    expect((await readProblem(again)).code).toBe("CODE_USED");
  });

  it("an expired code (CODE_EXPIRED)", async () => {
    const { email, loginId, code } = await startSignIn();
    await handle.db
      .update(authEmailTokens)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(eq(authEmailTokens.id, loginId));
    const response = await verify(email, loginId, code);
    expect(response.status).toBe(400);
    expect((await readProblem(response)).code).toBe("CODE_EXPIRED");
  });

  it("a code with the login id of another sign-in, and a login id of another address", async () => {
    const first = await startSignIn();
    await passResendCooldown(first.email);
    const second = await startSignIn(first.email);
    expect(second.code).not.toBe(first.code);
    expect((await readProblem(await verify(first.email, first.loginId, second.code))).code).toBe("INVALID_CODE");
    const other = await startSignIn();
    const crossed = await readProblem(await verify(first.email, other.loginId, other.code));
    expect(crossed).toMatchObject({ code: "INVALID_CODE", attempts_left: 0 });
    expect((await verify(first.email, second.loginId, second.code)).status).toBe(200);
  });

  it("a login id that was never issued", async () => {
    const response = await verify(newEmail(), crypto.randomUUID(), "123456");
    expect((await readProblem(response)).code).toBe("INVALID_CODE");
  });

  it("a code that is not six digits or a login id that is not one, naming each field", async () => {
    const response = await verify(newEmail(), "login", "12ab");
    expect(response.status).toBe(400);
    expect((await readProblem(response)).errors?.map((error) => error.field).sort()).toEqual([
      "body.code",
      "body.login_id",
    ]);
  });

  it("a suspended account, without issuing tokens", async () => {
    const session = await signIn();
    await handle.db.update(users).set({ status: "suspended" }).where(eq(users.id, session.user.id));
    await passResendCooldown(session.user.email);
    const { loginId, code } = await startSignIn(session.user.email);
    const response = await verify(session.user.email, loginId, code);
    expect(response.status).toBe(403);
    expect((await readProblem(response)).code).toBe("ACCOUNT_SUSPENDED");
  });

  it("checks past the limit per IP address with 429 and Retry-After", async () => {
    await withinOneWindow(900_000, 10_000);
    const { email, loginId, code } = await startSignIn();
    const limited = { RATE_LIMIT_CODE_CHECKS_PER_IP_15MIN: "3" };
    const ip = { "cf-connecting-ip": randomIp() };
    const check = () =>
      apiWith(limited, "/auth/email/verify", {
        method: "POST",
        headers: { "content-type": "application/json", ...ip },
        body: JSON.stringify({ email, login_id: loginId, code: wrongCode(code) }),
      });
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await check()).status);
    expect(statuses).toEqual([400, 400, 400, 429]);
    expect(Number((await check()).headers.get("retry-after"))).toBeGreaterThan(0);
  });
});

describe("a stranger who knows an address cannot lock its owner out", () => {
  it("their wrong guesses kill only the sign-in they started; the owner's own code still works", async () => {
    const owner = await startSignIn();
    await passResendCooldown(owner.email);
    const stranger = await startSignIn(owner.email);
    for (let i = 0; i < 5; i += 1) await verify(owner.email, stranger.loginId, wrongCode(stranger.code));
    expect((await readProblem(await verify(owner.email, stranger.loginId, stranger.code))).code).toBe(
      "TOO_MANY_ATTEMPTS",
    );
    const signedIn = await verify(owner.email, owner.loginId, owner.code);
    expect(signedIn.status).toBe(200);
  });

  it("their checks against the address from their own IP leave the owner's checks untouched", async () => {
    const owner = await startSignIn();
    const strangerIp = { "cf-connecting-ip": randomIp() };
    const statuses = [];
    for (let i = 0; i < 12; i += 1) {
      statuses.push((await verify(owner.email, crypto.randomUUID(), "000000", strangerIp)).status);
    }
    expect(statuses.every((status) => status === 400)).toBe(true);
    expect((await verify(owner.email, owner.loginId, owner.code)).status).toBe(200);
  });
});

describe("POST /auth/email/request rate limits", () => {
  it("allows one code a minute per address (429 with Retry-After)", async () => {
    const { email } = await startSignIn();
    const again = await requestCode(email);
    expect(again.status).toBe(429);
    expect(Number(again.headers.get("retry-after"))).toBeGreaterThanOrEqual(59);
    expect((await readProblem(again)).code).toBe("RATE_LIMITED");
  });

  it("twelve requests for one address hit 429, and past the cooldown the hourly cap of 5 holds", async () => {
    await withinOneWindow(3_600_000, 10_000);
    const email = newEmail();
    const statuses = [];
    for (let i = 0; i < 12; i += 1) {
      const response = await requestCode(email);
      statuses.push(response.status);
      if (response.status === 202) await passResendCooldown(email);
      else expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
    }
    expect(statuses.filter((status) => status === 202)).toHaveLength(5);
    expect(statuses.slice(5).every((status) => status === 429)).toBe(true);
    const problem = await readProblem(await requestCode(email));
    expect(problem.detail).toContain("at most 5 every hour");
  });

  it("caps code requests per IP address (20 an hour in production)", async () => {
    await withinOneWindow(3_600_000, 10_000);
    const production = { ...env, ENVIRONMENT: "production" };
    const ip = randomIp();
    const statuses = [];
    for (let i = 0; i < 21; i += 1) {
      const ctx = createExecutionContext();
      const response = await worker.fetch(
        new Request(`${baseUrl}/auth/email/request`, {
          method: "POST",
          headers: { "content-type": "application/json", "cf-connecting-ip": ip },
          body: JSON.stringify({ email: newEmail() }),
        }),
        production,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      statuses.push(response.status);
    }
    expect(statuses.slice(0, 20).every((status) => status === 202)).toBe(true);
    expect(statuses[20]).toBe(429);
  });

  it("leaves no cooldown behind when Redis answers too late: asked again, the code is sent", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    vi.spyOn(console, "error").mockImplementation(() => {});
    const email = newEmail();
    // Every command reaches Redis and runs; its answer comes back after the deadline.
    const late = { UPSTASH_REDIS_REST_URL: distantRedisRestUrl, DEADLINE_REDIS_MS: String(distantRedisRttMs / 4) };
    const failed = await apiWith(late, "/auth/email/request", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email }),
    });
    expect(failed.status).toBe(503);
    expect(await readProblem(failed)).toMatchObject({ dependency: "redis" });
    // What the request sent on its way out lands on the server too.
    await new Promise((resolve) => setTimeout(resolve, distantRedisRttMs));
    const again = await requestCode(email);
    expect(again.status).toBe(202);
  });

  it("fails closed when Redis cannot answer", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const ctx = createExecutionContext();
    const response = await worker.fetch(
      new Request(`${baseUrl}/auth/email/request`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: newEmail() }),
      }),
      { ...env, UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9" },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(503);
  });
});
