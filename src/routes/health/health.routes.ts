import { createRoute, z } from "@hono/zod-openapi";
import { ReadinessChecksSchema, TurnModeSchema } from "../../lib/dependencies";
import { commonErrorResponses, declareResponseHeaders, jsonContent, problem } from "../../lib/openapi";

const tags = ["Health"];

export const HealthSchema = z
  .object({
    status: z.literal("ok"),
    version: z.string().openapi({ example: "0.1.0" }),
    commit: z.string().openapi({ example: "4f2a9c1" }),
    built_at: z.string().openapi({ example: "2026-11-26T12:00:00Z" }),
  })
  .openapi("Health");

export const ReadinessSchema = z
  .object({
    status: z.literal("ready"),
    checks: ReadinessChecksSchema,
    turn: TurnModeSchema,
  })
  .openapi("Readiness");

export const health = createRoute({
  operationId: "getHealth",
  method: "get",
  path: "/health",
  tags,
  summary: "Liveness and build information",
  description: "Answers without asking any dependency: for those, see `/health/ready`.",
  security: [],
  responses: declareResponseHeaders({
    200: jsonContent(HealthSchema, "The Worker is up."),
    413: commonErrorResponses[413],
    500: commonErrorResponses[500],
  }),
});

export const ready = createRoute({
  operationId: "getReadiness",
  method: "get",
  path: "/health/ready",
  tags,
  summary: "Readiness: Postgres and Redis answer",
  security: [],
  responses: declareResponseHeaders({
    413: commonErrorResponses[413],
    200: jsonContent(ReadinessSchema, "Every dependency answered."),
    500: commonErrorResponses[500],
    503: problem("A dependency did not answer; `checks` names it."),
  }),
});

export type HealthRoute = typeof health;
export type ReadyRoute = typeof ready;
