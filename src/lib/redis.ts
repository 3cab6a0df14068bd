import { Redis } from "@upstash/redis/cloudflare";
import type { Config } from "../config";
import { DependencyUnavailableError, isTimeout } from "./dependencies";
import { currentMeter } from "./request-meter";

const clients = new Map<string, Redis>();

/**
 * One client per isolate: `@upstash/redis` speaks stateless HTTP, so unlike a database
 * connection it may be shared by every request the isolate serves. Each command (with its
 * retries) is cancelled at the Redis deadline.
 */
export function getRedis(config: Config["redis"]): Redis {
  const key = `${config.url}\n${config.token}\n${config.timeoutMs}`;
  let client = clients.get(key);
  if (!client) {
    client = new Redis({
      url: config.url,
      token: config.token,
      enableTelemetry: false,
      enableAutoPipelining: false,
      retry: { retries: 2, backoff: (attempt) => 50 * 2 ** attempt },
      signal: () => AbortSignal.timeout(config.timeoutMs),
    });
    // Counts what each request asks of Upstash: one HTTP request per call, one command each, or
    // every command of a pipeline (what Upstash bills).
    client.use((request, next) => {
      const meter = currentMeter();
      if (!meter) return next(request);
      const batched = request.path?.[0] === "pipeline" || request.path?.[0] === "multi-exec";
      meter.redis.requests += 1;
      meter.redis.commands += batched && Array.isArray(request.body) ? request.body.length : 1;
      return meter.track(next(request));
    });
    clients.set(key, client);
  }
  return client;
}

/** Awaits a Redis command; any failure, the deadline included, is Redis being unavailable. */
export async function fromRedis<T>(command: Promise<T>): Promise<T> {
  try {
    return await command;
  } catch (error) {
    throw new DependencyUnavailableError("redis", { cause: error, timedOut: isTimeout(error) });
  }
}
