import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createRoute, z } from "@hono/zod-openapi";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import { jsonBody, jsonContent } from "../src/lib/openapi";
import { baseUrl, type ProblemBody, readProblem } from "./support/http";

/*
 * The foundation has no JSON route of its own yet, so these tests mount one on the real app
 * (its middleware, validation hook and error handler) to pin down how every JSON route behaves.
 */
const ProfileSchema = z.object({
  name: z.string().min(1).max(40),
  age: z.number().int().min(13),
});

const app = createApp()
  .openapi(
    createRoute({
      method: "post",
      path: "/__probe/json",
      request: { body: jsonBody(ProfileSchema) },
      responses: { 200: jsonContent(ProfileSchema, "echo") },
    }),
    (c) => c.json(c.req.valid("json"), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/__probe/crash",
      responses: { 200: jsonContent(z.object({}), "never") },
    }),
    () => {
      throw new Error("connection string postgres://admin:hunter2@db.internal leaked");
    },
  );

async function call(path: string, init?: RequestInit, bindings: object = env): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.fetch(new Request(`${baseUrl}${path}`, init), bindings, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("JSON routes", () => {
  it("accept a valid body", async () => {
    const response = await call("/__probe/json", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "Aziza", age: 19 }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ name: "Aziza", age: 19 });
  });

  it("answer an invalid field with 400 naming each field", async () => {
    const response = await call("/__probe/json", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "", age: 9.5 }),
    });
    expect(response.status).toBe(400);
    const problem = await readProblem(response);
    expect(problem.code).toBe("VALIDATION_FAILED");
    expect(problem.errors?.map((error) => error.field).sort()).toEqual(["body.age", "body.name"]);
    expect(problem.detail).toContain("body.name");
  });

  it("answer a non-JSON body with 415", async () => {
    const response = await call("/__probe/json", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "name=Aziza",
    });
    expect(response.status).toBe(415);
    expect((await readProblem(response)).code).toBe("UNSUPPORTED_MEDIA_TYPE");
  });

  it("answer a form body with 415", async () => {
    const response = await call("/__probe/json", { method: "POST", body: new URLSearchParams({ name: "Aziza" }) });
    expect(response.status).toBe(415);
  });

  it("answer an empty JSON body with 400", async () => {
    const response = await call("/__probe/json", { method: "POST", headers: { "content-type": "application/json" } });
    expect(response.status).toBe(400);
    expect((await readProblem(response)).code).toBe("MALFORMED_JSON");
  });

  it("answer a request without any body with 400", async () => {
    const response = await call("/__probe/json", { method: "POST" });
    expect(response.status).toBe(400);
    expect((await readProblem(response)).status).toBe(400);
  });

  it("answer malformed JSON with 400", async () => {
    const response = await call("/__probe/json", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"name": "Aziza",',
    });
    expect(response.status).toBe(400);
    expect((await readProblem(response)).code).toBe("MALFORMED_JSON");
  });
});

describe("unexpected errors", () => {
  it("answer 500 without internals and log them with the request id", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const response = await call("/__probe/crash", { headers: { "X-Request-Id": "crash-1" } });
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("postgres://");
    const problem = JSON.parse(text) as ProblemBody;
    expect(problem).toMatchObject({ code: "INTERNAL", status: 500, request_id: "crash-1" });
    const logged = errors.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    const failure = logged.find((line) => line.msg === "request failed");
    expect(failure).toMatchObject({ request_id: "crash-1", error_name: "Error" });
    expect(JSON.stringify(failure)).toContain("leaked");
  });
});

describe("configuration", () => {
  it("fails every request clearly when a variable is missing, naming it only in the log", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const { DATABASE_URL: _missing, ...incomplete } = env as unknown as Record<string, unknown>;
    const response = await call("/health", undefined, incomplete);
    expect(response.status).toBe(500);
    expect(await response.text()).not.toContain("DATABASE_URL");
    const logged = errors.mock.calls.map(([line]) => String(line)).join("\n");
    expect(logged).toContain("Invalid configuration");
    expect(logged).toContain("DATABASE_URL");
  });

  it("refuses a CORS allowlist with a wildcard", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const response = await call("/health", undefined, { ...env, CORS_ORIGINS: "*" });
    expect(response.status).toBe(500);
    expect(errors.mock.calls.map(([line]) => String(line)).join("\n")).toContain("CORS_ORIGINS");
  });
});
