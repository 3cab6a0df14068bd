import { describe, expect, it } from "vitest";
import { api } from "./support/http";

describe("GET /health", () => {
  it("answers with the version and build of the running Worker", async () => {
    const response = await api("/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: "ok",
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      commit: "test",
      built_at: "2026-01-01T00:00:00.000Z",
    });
  });
});

describe("GET /health/ready", () => {
  it("is ready when Postgres and Redis both answer", async () => {
    const response = await api("/health/ready");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ready", checks: { postgres: "ok", redis: "ok" }, turn: "on" });
  });
});
