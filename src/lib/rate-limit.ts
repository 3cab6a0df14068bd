import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis/cloudflare";
import type { Context } from "hono";
import type { Config } from "../config";
import { ApiError } from "./errors";
import { describeError, log } from "./logger";
import type { AppBindings } from "./types";

export interface RateLimitRule {
  /** Names the counter in Redis; rules with one name share it. */
  name: string;
  limit: number;
  windowSeconds: number;
  /** Refuse (503) rather than allow when Redis cannot answer: for sign-in, where guessing is the risk. */
  failClosed: boolean;
}

/** Presigned uploads, voice notes and avatars together: one counter per user. */
export function uploadsRule(config: Config): RateLimitRule {
  return { name: "uploads", limit: config.rateLimits.uploadsPerHour, windowSeconds: 3600, failClosed: false };
}

// Module scope, so every request of the isolate shares one limiter per rule and the cache
// that answers already-blocked identifiers without a Redis round trip.
const ephemeralCache = new Map<string, number>();
const limitersByRedis = new WeakMap<Redis, Map<string, Ratelimit>>();

function limiterFor(redis: Redis, rule: RateLimitRule): Ratelimit {
  let limiters = limitersByRedis.get(redis);
  if (!limiters) {
    limiters = new Map();
    limitersByRedis.set(redis, limiters);
  }
  const key = `${rule.name}:${rule.limit}:${rule.windowSeconds}`;
  let limiter = limiters.get(key);
  if (!limiter) {
    limiter = new Ratelimit({
      redis,
      limiter: Ratelimit.slidingWindow(rule.limit, `${rule.windowSeconds} s`),
      prefix: `ratelimit:${rule.name}`,
      ephemeralCache,
      analytics: false,
      timeout: 2000,
    });
    limiters.set(key, limiter);
  }
  return limiter;
}

/**
 * Counts one request of `identifier` against `rule`. Adds `RateLimit` and `RateLimit-Policy`
 * headers, and throws a 429 problem with `Retry-After` once the limit is reached.
 */
export async function enforceRateLimit(
  c: Context<AppBindings>,
  rule: RateLimitRule,
  identifier: string,
): Promise<void> {
  let result: Awaited<ReturnType<Ratelimit["limit"]>>;
  try {
    result = await limiterFor(c.get("services").redis, rule).limit(identifier);
  } catch (error) {
    return unavailable(c, rule, error);
  }
  c.executionCtx.waitUntil(result.pending);
  if (result.reason === "timeout") return unavailable(c, rule, new Error("rate limiter timed out"));

  const resetSeconds = Math.max(0, Math.ceil((result.reset - Date.now()) / 1000));
  const headers = {
    "RateLimit-Policy": `${rule.limit};w=${rule.windowSeconds}`,
    RateLimit: `limit=${rule.limit}, remaining=${Math.max(0, result.remaining)}, reset=${resetSeconds}`,
  };
  if (!result.success) {
    throw new ApiError("RATE_LIMITED", {
      detail: `Too many requests: at most ${rule.limit} every ${describeWindow(rule.windowSeconds)}. Try again in ${Math.max(1, resetSeconds)} s.`,
      headers: { ...headers, "Retry-After": String(Math.max(1, resetSeconds)) },
    });
  }
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
}

function unavailable(c: Context<AppBindings>, rule: RateLimitRule, error: unknown): void {
  log("warn", "rate limiter unavailable", { request_id: c.get("requestId"), rule: rule.name, ...describeError(error) });
  if (rule.failClosed) {
    throw new ApiError("SERVICE_UNAVAILABLE", { detail: "Sign-in is briefly unavailable; try again shortly." });
  }
}

function describeWindow(seconds: number): string {
  if (seconds % 3600 === 0) return seconds === 3600 ? "hour" : `${seconds / 3600} hours`;
  if (seconds % 60 === 0) return seconds === 60 ? "minute" : `${seconds / 60} minutes`;
  return `${seconds} seconds`;
}
