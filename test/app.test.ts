import { env } from "cloudflare:workers";
import swaggerUiDist from "swagger-ui-dist/package.json" with { type: "json" };
import { describe, expect, it } from "vitest";
import { bearer, signIn } from "./support/auth";
import { api, readProblem } from "./support/http";

describe("request ids", () => {
  it("echoes a sane X-Request-Id and uses it in problems", async () => {
    const response = await api("/no-such-route", { headers: { "X-Request-Id": "client-req-42" } });
    expect(response.headers.get("x-request-id")).toBe("client-req-42");
    expect((await readProblem(response)).request_id).toBe("client-req-42");
  });

  it("replaces an unsafe X-Request-Id with a generated one", async () => {
    const response = await api("/health", { headers: { "X-Request-Id": "bad id <script>alert(1)</script>" } });
    const id = response.headers.get("x-request-id");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("generates an id when none is sent", async () => {
    const response = await api("/health");
    expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("unknown routes", () => {
  it("answer 404 with a problem document carrying the request id", async () => {
    const response = await api("/definitely/not/here");
    expect(response.status).toBe(404);
    const problem = await readProblem(response);
    expect(problem).toMatchObject({
      type: expect.stringContaining("not-found"),
      title: "Not found",
      status: 404,
      code: "NOT_FOUND",
      detail: "No route matches GET /definitely/not/here.",
    });
    expect(problem.request_id).toBe(response.headers.get("x-request-id"));
  });
});

describe("body size", () => {
  it("refuses a 2 MB body with 413 before any route sees it", async () => {
    const body = JSON.stringify({ padding: "x".repeat(2 * 1024 * 1024) });
    const response = await api("/auth/email/request", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    expect(response.status).toBe(413);
    expect((await readProblem(response)).code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("refuses an oversized body sent without Content-Length", async () => {
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 32; i += 1) controller.enqueue(chunk);
        controller.close();
      },
    });
    const response = await api("/auth/email/request", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
    });
    expect(response.status).toBe(413);
  });
});

describe("methods and media types", () => {
  it("answers a known path asked with another method 405, with the methods it has in Allow", async () => {
    const response = await api("/me", { method: "PUT" });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")?.split(", ").sort()).toEqual(["DELETE", "GET", "HEAD", "PATCH"]);
    expect((await readProblem(response)).code).toBe("METHOD_NOT_ALLOWED");
    expect((await api("/sessions/0b8e7c1a-2f3d-4e5f-8a9b-0c1d2e3f4a5b/messages", { method: "DELETE" })).status).toBe(
      405,
    );
  });

  it("reads integers in a query only as plain decimal digits", async () => {
    const learner = await signIn();
    for (const limit of ["0x10", "1e2", " 5", "+5", "5.0", ""]) {
      const response = await api(`/sessions?limit=${encodeURIComponent(limit)}`, { headers: bearer(learner) });
      expect(response.status, `limit=${JSON.stringify(limit)}`).toBe(400);
      expect((await readProblem(response)).errors?.[0]?.field).toBe("query.limit");
    }
    expect((await api("/sessions?limit=5", { headers: bearer(learner) })).status).toBe(200);
  });

  it("answers HEAD as GET without the content, and an OPTIONS that is not a CORS preflight as any other method", async () => {
    const head = await api("/health", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    const options = await api("/me", { method: "OPTIONS" });
    expect(options.status).toBe(405);
    expect(options.headers.get("allow")?.split(", ")).toContain("GET");
    expect(options.headers.get("access-control-allow-methods")).toBeNull();
    expect((await api(`/nowhere-${crypto.randomUUID()}`, { method: "OPTIONS" })).status).toBe(404);
  });

  it("refuses an oversized body with 413 before routing, whatever the method", async () => {
    const response = await api("/health", { method: "POST", body: "x".repeat(200 * 1024) });
    expect(response.status).toBe(413);
    expect((await readProblem(response)).code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("still answers an unknown path 404", async () => {
    const response = await api("/nowhere", { method: "PUT" });
    expect(response.status).toBe(404);
    expect(response.headers.get("allow")).toBeNull();
  });

  it("takes a JSON body only as application/json, and says what it got", async () => {
    for (const type of ["application/problem+json", "application/vnd.api+json", "text/plain"]) {
      const response = await api("/auth/email/request", {
        method: "POST",
        headers: { "content-type": type },
        body: JSON.stringify({ email: "media@example.com" }),
      });
      expect(response.status).toBe(415);
      expect((await readProblem(response)).detail).toContain(type);
    }
    const charset = await api("/auth/email/request", {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8" },
      body: JSON.stringify({ email: "not an address" }),
    });
    expect(charset.status).toBe(400);
  });
});

describe("CORS", () => {
  const allowedOrigin = "http://localhost:5173";

  it("answers a preflight from an allowed origin", async () => {
    const response = await api("/health", {
      method: "OPTIONS",
      headers: { Origin: allowedOrigin, "Access-Control-Request-Method": "GET" },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe(allowedOrigin);
    expect(response.headers.get("access-control-allow-headers")).toContain("Authorization");
  });

  it("refuses a preflight from a foreign origin", async () => {
    const response = await api("/health", {
      method: "OPTIONS",
      headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "POST" },
    });
    expect(response.status).toBe(403);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    expect((await readProblem(response)).code).toBe("CORS_ORIGIN_NOT_ALLOWED");
  });

  it("never reflects a foreign origin on simple requests", async () => {
    const response = await api("/health", { headers: { Origin: "https://evil.example" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("reflects an allowed origin and exposes the request id", async () => {
    const response = await api("/health", { headers: { Origin: allowedOrigin } });
    expect(response.headers.get("access-control-allow-origin")).toBe(allowedOrigin);
    expect(response.headers.get("access-control-expose-headers")).toContain("X-Request-Id");
  });

  it("takes its allowlist from config, with no wildcard", () => {
    expect(env.CORS_ORIGINS).not.toContain("*");
  });
});

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document with every route and the bearer scheme", async () => {
    const response = await api("/openapi.json");
    expect(response.status).toBe(200);
    const document = (await response.json()) as {
      openapi: string;
      paths: Record<string, unknown>;
      components: {
        securitySchemes: Record<string, { type: string; scheme: string }>;
        schemas: Record<string, unknown>;
      };
    };
    expect(document.openapi).toBe("3.1.0");
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        "/health",
        "/health/ready",
        "/auth/email/request",
        "/auth/email/verify",
        "/auth/refresh",
        "/auth/logout",
        "/auth/google/login",
        "/auth/google/callback",
        "/me",
        "/me/avatar",
        "/uploads/presign",
      ]),
    );
    const me = document.paths["/me"] as Record<string, { security?: unknown }>;
    expect(me.get?.security).toEqual([{ bearerAuth: [] }]);
    expect(document.paths).not.toHaveProperty("/dev/mailbox");
    expect(document.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    expect(document.components.schemas).toHaveProperty("Problem");
  });
});

describe("GET /swagger", () => {
  it("serves Swagger UI, started by a script of its own (it loads /openapi.json: see the browser check)", async () => {
    const response = await api("/swagger");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    const html = await response.text();
    expect(html).toContain('<script src="/swagger-ui/init.js');
    expect(html).toContain('data-url="/openapi.json"');
    // Its scripts and styles come from our own static assets, never from a CDN, and are the ones
    // the static assets hold.
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] ?? "");
    expect(assets).toContain(`/vendor/swagger-ui-dist@${swaggerUiDist.version}/swagger-ui-bundle.js`);
    expect(assets).toContain(`/vendor/swagger-ui-dist@${swaggerUiDist.version}/swagger-ui.css`);
    for (const asset of assets) {
      expect(asset).toMatch(/^\/[^/]/);
      expect((await env.ASSETS.fetch(new URL(asset, "http://gaplash.test"))).status, asset).toBe(200);
    }
  });
});
