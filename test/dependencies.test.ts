import { afterAll, afterEach, describe, expect, inject, it, vi } from "vitest";
import { bearer, newEmail, signIn } from "./support/auth";
import { testDatabase } from "./support/db";
import { apiWith, type ProblemBody, readProblem } from "./support/http";
import { learner } from "./support/match";
import { pairInSession } from "./support/sessions";

/*
 * Every call to a dependency has a deadline: a dependency that stalls or is down makes the
 * request answer 503 naming it, never hang and never 500. The Worker is called with one binding
 * pointed at a server that accepts connections and never answers (a stall), or at one that is down.
 */
const { blackhole, unreachableRedisRestUrl } = inject("fixtures");
const stalledHttp = `http://${blackhole}`;
const handle = testDatabase();
afterAll(() => handle.close());

afterEach(() => {
  vi.restoreAllMocks();
});

async function unavailable(response: Response): Promise<ProblemBody> {
  expect(response.status).toBe(503);
  // A client may try again after it: the web client's refresh does.
  expect(response.headers.get("retry-after")).toBe("2");
  return readProblem(response);
}

describe("Redis", () => {
  it("that stalls: a presence ping answers 503 naming Redis at the Redis deadline", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const user = await learner("A1");
    const response = await apiWith(
      { UPSTASH_REDIS_REST_URL: stalledHttp, DEADLINE_REDIS_MS: "300" },
      "/presence/ping",
      { method: "POST", headers: bearer(user) },
    );
    expect(await unavailable(response)).toMatchObject({ code: "DEPENDENCY_UNAVAILABLE", dependency: "redis" });
  });

  it("that is down: the online counts answer 503 naming Redis", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const user = await signIn();
    const response = await apiWith({ UPSTASH_REDIS_REST_URL: unreachableRedisRestUrl }, "/presence/online", {
      headers: bearer(user),
    });
    expect(await unavailable(response)).toMatchObject({ dependency: "redis" });
  });
});

describe("Postgres", () => {
  it("that stalls over HTTP: GET /me answers 503 naming Postgres at the database deadline", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const user = await signIn();
    const response = await apiWith({ NEON_HTTP_ENDPOINT: `${stalledHttp}/sql`, DEADLINE_DATABASE_MS: "300" }, "/me", {
      headers: bearer(user),
    });
    expect(await unavailable(response)).toMatchObject({ code: "DEPENDENCY_UNAVAILABLE", dependency: "postgres" });
  });

  it("that stalls over the WebSocket: a transaction answers 503 naming Postgres at the database deadline", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const user = await signIn();
    const response = await apiWith({ NEON_WS_PROXY: `${blackhole}/v2`, DEADLINE_DATABASE_MS: "300" }, "/auth/refresh", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: user.refresh_token }),
    });
    expect(await unavailable(response)).toMatchObject({ code: "DEPENDENCY_UNAVAILABLE", dependency: "postgres" });
  });

  it("that is down: a one-statement route and a transaction both answer 503 naming Postgres", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const user = await signIn();
    const down = { DATABASE_URL: "postgres://postgres:postgres@127.0.0.1:9/postgres" };
    expect(await unavailable(await apiWith(down, "/me", { headers: bearer(user) }))).toMatchObject({
      dependency: "postgres",
    });
    const refresh = await apiWith(down, "/auth/refresh", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: user.refresh_token }),
    });
    expect(await unavailable(refresh)).toMatchObject({ dependency: "postgres" });
  });
});

describe("S3", () => {
  it("that stalls: a voice message answers 503 naming S3 at the S3 deadline", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { a, sessionId } = await pairInSession(handle);
    const upload = `${stalledHttp}/gaplash/uploads/${a.user.id}/${crypto.randomUUID()}.webm`;
    const response = await apiWith(
      { S3_ENDPOINT: stalledHttp, DEADLINE_S3_MS: "300" },
      `/sessions/${sessionId}/messages`,
      {
        method: "POST",
        headers: { ...bearer(a), "content-type": "application/json" },
        body: JSON.stringify({ type: "voice", audio_url: upload, duration_ms: 1000 }),
      },
    );
    expect(await unavailable(response)).toMatchObject({ code: "DEPENDENCY_UNAVAILABLE", dependency: "s3" });
  });
});

describe("mail", () => {
  it("that stalls: a code request answers 503 MAIL_NOT_SENT at the mail deadline", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const response = await apiWith({ RESEND_BASE_URL: stalledHttp, DEADLINE_MAIL_MS: "300" }, "/auth/email/request", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: newEmail() }),
    });
    expect(await unavailable(response)).toMatchObject({ code: "MAIL_NOT_SENT" });
  });
});
