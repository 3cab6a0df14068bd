import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createRoute, z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import worker from "../../src/index";
import { redact } from "../../src/lib/logger";
import { jsonBody, jsonContent } from "../../src/lib/openapi";
import { publishedDocument } from "../support/contract";
import { api, baseUrl } from "../support/http";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("log redaction", () => {
  it("hides secret fields whatever their value", () => {
    expect(
      redact({
        authorization: "Bearer abc.def.ghi",
        email: "aziza@example.com",
        code: "123456",
        refresh_token: "opaque",
        status: 200,
      }),
    ).toEqual({
      authorization: "[redacted]",
      email: "[redacted]",
      code: "[redacted]",
      refresh_token: "[redacted]",
      status: 200,
    });
  });

  it("hides emails, bearer tokens, JWTs and secret query values inside strings", () => {
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
    const redacted = String(
      redact(`/match/ws?token=${jwt}&level=B1 from aziza@example.com with Bearer xyz and ?code=654321`),
    );
    expect(redacted).not.toContain(jwt);
    expect(redacted).not.toContain("aziza@example.com");
    expect(redacted).not.toContain("xyz");
    expect(redacted).not.toContain("654321");
    expect(redacted).toContain("level=B1");
  });

  it("walks nested objects and arrays", () => {
    expect(redact({ user: { email: "a@b.co" }, notes: ["write to a@b.co"] })).toEqual({
      user: { email: "[redacted]" },
      notes: ["write to [email]"],
    });
  });
});

describe("request log", () => {
  it("writes one JSON line per request with id, method, route, status and latency, without secrets", async () => {
    // Read before listening: the contract check's own request for the document is logged too.
    await publishedDocument();
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    const response = await api("/health?token=eyJhbGciOiJIUzI1NiJ9.e30.sig&email=aziza@example.com", {
      headers: { "X-Request-Id": "log-line-1", Authorization: "Bearer super-secret" },
    });
    expect(response.status).toBe(200);
    const requestLines = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((l) => l.msg === "request");
    expect(requestLines).toHaveLength(1);
    expect(requestLines[0]).toMatchObject({
      level: "info",
      request_id: "log-line-1",
      method: "GET",
      route: "/health",
      status: 200,
      latency_ms: expect.any(Number),
    });
    const raw = lines.join("\n");
    expect(raw).not.toContain("super-secret");
    expect(raw).not.toContain("aziza@example.com");
    expect(raw).not.toContain("eyJhbGciOiJIUzI1NiJ9");
  });
});

describe("request metrics", () => {
  it("write one Analytics Engine data point per request when the binding exists", async () => {
    const points: AnalyticsEngineDataPoint[] = [];
    const metrics = { writeDataPoint: (point: AnalyticsEngineDataPoint) => points.push(point) };
    vi.spyOn(console, "log").mockImplementation(() => {});
    const ctx = createExecutionContext();
    const response = await worker.fetch(new Request(`${baseUrl}/health`), { ...env, METRICS: metrics }, ctx);
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(200);
    expect(points).toEqual([
      { indexes: ["/health"], blobs: ["/health", "GET", "200"], doubles: [expect.any(Number), 200] },
    ]);
  });
});

describe("LOG_LEVEL", () => {
  it("at warn drops the line of a successful request and keeps the lines of failures", async () => {
    const info = vi.spyOn(console, "log").mockImplementation(() => {});
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const quiet = { ...env, LOG_LEVEL: "warn" };
    for (const path of ["/health", "/no-such-route"]) {
      const ctx = createExecutionContext();
      await worker.fetch(new Request(`${baseUrl}${path}`), quiet, ctx);
      await waitOnExecutionContext(ctx);
    }
    expect(info).not.toHaveBeenCalled();
    const warned = warn.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    expect(warned).toEqual([expect.objectContaining({ msg: "request", status: 404, route: null })]);
  });
});

describe("a failed database statement in the log", () => {
  const app = createApp().openapi(
    createRoute({
      method: "post",
      path: "/__probe/statement",
      request: { body: jsonBody(z.object({ note: z.string() })) },
      responses: { 200: jsonContent(z.object({}), "never") },
    }),
    async (c) => {
      // Postgres refuses the value and quotes it in its error message.
      await c.get("services").db.execute(sql`select ${c.req.valid("json").note}::int as number`);
      return c.json({}, 200);
    },
  );

  it("names the SQL and Postgres's error code, never the values sent or Postgres's message", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    const ctx = createExecutionContext();
    const response = await app.fetch(
      new Request(`${baseUrl}/__probe/statement`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ note: "Aziza told me her secret" }),
      }),
      env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(500);
    const raw = lines.join("\n");
    expect(raw).toContain("select $1::int as number");
    expect(raw).toContain('"db_code":"22P02"');
    expect(raw).not.toContain("secret");
  });
});
