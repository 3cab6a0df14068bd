import { sql } from "drizzle-orm";
import packageJson from "../../../package.json" with { type: "json" };
import { ApiError } from "../../lib/errors";
import { describeError, log } from "../../lib/logger";
import type { AppRouteHandler } from "../../lib/types";
import { checkReadiness } from "../../services/readiness";
import type { HealthRoute, ReadyRoute } from "./health.routes";

const readinessTimeoutMs = 3000;

export const health: AppRouteHandler<HealthRoute> = (c) => {
  const config = c.get("config");
  return c.json(
    { status: "ok" as const, version: packageJson.version, commit: config.commit, built_at: config.builtAt },
    200,
  );
};

export const ready: AppRouteHandler<ReadyRoute> = async (c) => {
  const { db, redis } = c.get("services");
  const turn = c.get("config").turn ? ("on" as const) : ("off" as const);
  const readiness = await checkReadiness(
    [
      { name: "postgres", check: () => db.execute(sql`select 1`) },
      { name: "redis", check: () => redis.ping() },
    ],
    readinessTimeoutMs,
  );
  if (!readiness.ready) {
    for (const failure of readiness.failures) {
      log("warn", "dependency not ready", {
        request_id: c.get("requestId"),
        dependency: failure.name,
        ...describeError(failure.error),
      });
    }
    const failing = readiness.failures.map((failure) => failure.name).join(" and ");
    throw new ApiError("DEPENDENCY_UNAVAILABLE", {
      detail: `${failing} did not answer.`,
      extensions: { checks: readiness.checks, turn },
    });
  }
  return c.json({ status: "ready" as const, checks: readiness.checks, turn }, 200);
};
