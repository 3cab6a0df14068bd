import { createMiddleware } from "hono/factory";
import { getConfig } from "../config";
import { describeError, log } from "../lib/logger";
import type { AppBindings } from "../lib/types";
import { createServices } from "../services/services";

/** Parses the config (once per isolate) and gives the request its services, closed after the response. */
export const services = createMiddleware<AppBindings>(async (c, next) => {
  const config = getConfig(c.env);
  const requestId = c.get("requestId");
  const requestServices = createServices(config, c.env, (error) =>
    log("error", "database connection error", { request_id: requestId, ...describeError(error) }),
  );
  c.set("config", config);
  c.set("services", requestServices);
  try {
    await requestServices.run(next);
    // Standard Server-Timing: browsers' devtools and the benchmark read what a request cost the
    // database and Upstash, and how many round trips it made one after another; it reveals
    // nothing about the data.
    if (c.res.status !== 101) {
      const { database, redis, objectCalls, sequentialRoundTrips } = requestServices.usage();
      c.res.headers.append(
        "Server-Timing",
        `db;desc="${database.statements} statements, ${database.roundTrips} round trips"`,
      );
      c.res.headers.append("Server-Timing", `redis;desc="${redis.requests} requests, ${redis.commands} commands"`);
      c.res.headers.append("Server-Timing", `do;desc="${objectCalls} calls"`);
      c.res.headers.append("Server-Timing", `total;desc="${sequentialRoundTrips} round trips"`);
    }
  } finally {
    c.executionCtx.waitUntil(requestServices.close());
  }
});
