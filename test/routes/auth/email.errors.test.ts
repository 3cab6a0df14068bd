import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { authEmailTokens, users } from "../../../src/db/schema";
import worker from "../../../src/index";
import { latestCode, newEmail, requestCode, signIn, verify } from "../../support/auth";
import { passResendCooldown, testDatabase } from "../../support/db";
import { baseUrl, readProblem } from "../../support/http";

const handle = testDatabase();
afterAll(() => handle.close());
afterEach(() => {
  vi.restoreAllMocks();
});

function wrongCode(code: string): string {
  return String((Number(code) + 1) % 1_000_000).padStart(6, "0");
}

async function freshCode(email = newEmail()): Promise<{ email: string; code: string }> {
  expect((await requestCode(email)).status).toBe(202);
  return { email, code: await latestCode(email) };
}

describe("POST /auth/email/verify refuses", () => {
  it("a wrong code with INVALID_CODE and the attempts left", async () => {
    const { email, code } = await freshCode();
    const response = await verify(email, wrongCode(code));
    expect(response.status).toBe(400);
    expect(await readProblem(response)).toMatchObject({ code: "INVALID_CODE", attempts_left: 4 });
  });

  it("the code after the fifth wrong try, even the right one (TOO_MANY_ATTEMPTS)", async () => {
    const { email, code } = await freshCode();
    const codes = [];
    for (let i = 0; i < 5; i += 1) codes.push((await readProblem(await verify(email, wrongCode(code)))).code);
    expect(codes).toEqual(["INVALID_CODE", "INVALID_CODE", "INVALID_CODE", "INVALID_CODE", "TOO_MANY_ATTEMPTS"]);
    const right = await verify(email, code);
    expect(right.status).toBe(400);
    expect((await readProblem(right)).code).toBe("TOO_MANY_ATTEMPTS");
    expect(await handle.db.select().from(users).where(eq(users.email, email))).toHaveLength(0);
  });

  it("a code used once already (CODE_USED)", async () => {
    const { email, code } = await freshCode();
    expect((await verify(email, code)).status).toBe(200);
    const again = await verify(email, code);
    expect(again.status).toBe(400);
    expect((await readProblem(again)).code).toBe("CODE_USED");
  });

  it("an expired code (CODE_EXPIRED)", async () => {
    const { email, code } = await freshCode();
    await handle.db
      .update(authEmailTokens)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(eq(authEmailTokens.email, email));
    const response = await verify(email, code);
    expect(response.status).toBe(400);
    expect((await readProblem(response)).code).toBe("CODE_EXPIRED");
  });

  it("an earlier code once a new one was requested", async () => {
    const { email, code: first } = await freshCode();
    await passResendCooldown(handle, email);
    expect((await requestCode(email)).status).toBe(202);
    const second = await latestCode(email);
    expect(second).not.toBe(first);
    expect((await readProblem(await verify(email, first))).code).toBe("INVALID_CODE");
    expect((await verify(email, second)).status).toBe(200);
  });

  it("a code for an address that never asked for one", async () => {
    const response = await verify(newEmail(), "123456");
    expect((await readProblem(response)).code).toBe("INVALID_CODE");
  });

  it("a code that is not six digits, naming the field", async () => {
    const response = await verify(newEmail(), "12ab");
    expect(response.status).toBe(400);
    expect((await readProblem(response)).errors).toEqual([{ field: "body.code", message: "six digits" }]);
  });

  it("a suspended account, without issuing tokens", async () => {
    const session = await signIn();
    await handle.db.update(users).set({ status: "suspended" }).where(eq(users.id, session.user.id));
    await passResendCooldown(handle, session.user.email);
    const { code } = await freshCode(session.user.email);
    const response = await verify(session.user.email, code);
    expect(response.status).toBe(403);
    expect((await readProblem(response)).code).toBe("ACCOUNT_SUSPENDED");
  });

  it("the eleventh check within 15 minutes with 429 and Retry-After", async () => {
    const email = newEmail();
    const statuses = [];
    for (let i = 0; i < 11; i += 1) statuses.push((await verify(email, "000000")).status);
    expect(statuses.slice(0, 10).every((status) => status === 400)).toBe(true);
    expect(statuses[10]).toBe(429);
    const limited = await verify(email, "000000");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});

describe("POST /auth/email/request rate limits", () => {
  it("allows one code a minute per address (429 with Retry-After)", async () => {
    const { email } = await freshCode();
    const again = await requestCode(email);
    expect(again.status).toBe(429);
    expect(Number(again.headers.get("retry-after"))).toBeGreaterThanOrEqual(59);
    expect((await readProblem(again)).code).toBe("RATE_LIMITED");
  });

  it("twelve requests for one address hit 429, and past the cooldown the hourly cap of 5 holds", async () => {
    const email = newEmail();
    const statuses = [];
    for (let i = 0; i < 12; i += 1) {
      const response = await requestCode(email);
      statuses.push(response.status);
      if (response.status === 202) await passResendCooldown(handle, email);
      else expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
    }
    expect(statuses.filter((status) => status === 202)).toHaveLength(5);
    expect(statuses.slice(5).every((status) => status === 429)).toBe(true);
    const problem = await readProblem(await requestCode(email));
    expect(problem.detail).toContain("at most 5 every hour");
  });

  it("caps code requests per IP address (20 an hour in production)", async () => {
    const production = { ...env, ENVIRONMENT: "production" };
    const ip = `198.51.100.${Math.floor(Math.random() * 200) + 1}-${crypto.randomUUID()}`;
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
