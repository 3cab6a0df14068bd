import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import { baseUrl, readProblem } from "./support/http";

afterEach(() => {
  vi.restoreAllMocks();
});

async function readyWith(overrides: Record<string, string>): Promise<Response> {
  vi.spyOn(console, "warn").mockImplementation(() => {});
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request(`${baseUrl}/health/ready`), { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

describe("GET /health/ready when a dependency is down", () => {
  it("answers 503 naming Redis when Redis does not answer", async () => {
    const response = await readyWith({ UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9" });
    expect(response.status).toBe(503);
    const problem = await readProblem(response);
    expect(problem).toMatchObject({
      code: "DEPENDENCY_UNAVAILABLE",
      detail: "redis did not answer.",
      checks: { postgres: "ok", redis: "failing" },
    });
  });

  it("answers 503 naming Postgres when Postgres does not answer", async () => {
    const response = await readyWith({ DATABASE_URL: "postgres://postgres:postgres@127.0.0.1:9/postgres" });
    expect(response.status).toBe(503);
    expect(await readProblem(response)).toMatchObject({
      detail: "postgres did not answer.",
      checks: { postgres: "failing", redis: "ok" },
    });
  });
});
