import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis/cloudflare";
import type { Context } from "hono";
import { admitted } from "./admitted";
import { ApiError } from "./errors";
import { describeError, log } from "./logger";
import type { RateLimitCheck, RateLimitRule } from "./rate-limit-rule";
import { fromRedis } from "./redis";
import type { AppBindings } from "./types";

export type { RateLimitCheck, RateLimitRule };

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

type LimitResult = Awaited<ReturnType<Ratelimit["limit"]>>;

/** The draft IETF RateLimit fields of one rule's answer: the policy and where this caller stands in it. */
function rateLimitHeaders(
  rule: Pick<RateLimitRule, "limit" | "windowSeconds">,
  result: Pick<LimitResult, "remaining" | "reset">,
) {
  const resetSeconds = Math.max(0, Math.ceil((result.reset - Date.now()) / 1000));
  return {
    resetSeconds,
    headers: {
      "RateLimit-Policy": `${rule.limit};w=${rule.windowSeconds}`,
      RateLimit: `limit=${rule.limit}, remaining=${Math.max(0, result.remaining)}, reset=${resetSeconds}`,
    },
  };
}

/**
 * How many requests of a kind, refused ones included, a caller may make for each one the rule
 * allows to succeed: what a request refused for another reason gives back, it still spends here,
 * so failing requests stay bounded (each still costs a statement and Redis commands).
 */
export const attemptsPerAllowed = 3;

/** The guard beside a rule that counts only successes: every attempt, at `attemptsPerAllowed` times its limit. */
function attemptsGuard(rule: RateLimitRule): RateLimitRule {
  return {
    name: `${rule.name}-attempts`,
    description: `${rule.description}, refused ones included`,
    limit: rule.limit * attemptsPerAllowed,
    windowSeconds: rule.windowSeconds,
    failClosed: rule.failClosed,
    countsEveryAttempt: true,
  };
}

/**
 * The 429 of `rule` (a limit of ours, or a cooldown), which refuses until `resetAt` (epoch ms): its
 * detail, `limit` extension, `Retry-After`, `RateLimit` and `RateLimit-Policy` all describe `rule`.
 */
export function rateLimited(
  rule: Pick<RateLimitRule, "name" | "description" | "limit" | "windowSeconds">,
  resetAt: number,
): ApiError {
  const { resetSeconds, headers } = rateLimitHeaders(rule, { remaining: 0, reset: resetAt });
  const retryAfter = Math.max(1, resetSeconds);
  return new ApiError("RATE_LIMITED", {
    detail: `Too many requests (${rule.description}): at most ${rule.limit} every ${describeWindow(rule.windowSeconds)}. Try again in ${retryAfter} s.`,
    headers: { ...headers, "Retry-After": String(retryAfter) },
    extensions: { limit: rule.name },
  });
}

/**
 * Counts one request against each of `checks` at once (one Redis round trip each, in parallel),
 * and awaits the caller's revocation read with them: a revoked caller is refused first.
 * When one refuses, the others' counts are given back, so a refused request consumes nothing
 * (SPEC §10), and the 429 problem, its `Retry-After`, `RateLimit` and `RateLimit-Policy` all
 * describe the rule that refused, named in the detail. When all allow, the headers describe the
 * rule closest to its limit, and the counts of rules that count only successes are given back
 * if the request does not succeed; each such rule has a guard beside it that counts every attempt
 * (`attemptsPerAllowed`). A rule whose Redis cannot answer is skipped, or refuses the request
 * with 503 when it fails closed.
 * @throws ApiError RATE_LIMITED (429) or SERVICE_UNAVAILABLE (503); the revoked caller's problem (401/403)
 */
export async function enforceRateLimits(c: Context<AppBindings>, checks: RateLimitCheck[]): Promise<void> {
  const redis = c.get("services").redis;
  const guarded = checks.flatMap((check) =>
    check.rule.countsEveryAttempt
      ? [check]
      : [check, { rule: attemptsGuard(check.rule), identifier: check.identifier }],
  );
  // The token's revocation read goes out with the counters: one round trip for both (`requireAuth`).
  const access = admitted(c).then(
    () => ({ refused: false as const }),
    (error: unknown) => ({ refused: true as const, error }),
  );
  const answers = await Promise.all(
    guarded.map(async (check) => {
      try {
        const result = await limiterFor(redis, check.rule).limit(check.identifier);
        c.executionCtx.waitUntil(result.pending);
        if (result.reason === "timeout") return { check, error: new Error("rate limiter timed out") };
        return { check, result };
      } catch (error) {
        return { check, error };
      }
    }),
  );
  const counted = answers.filter((answer) => answer.result?.success).map((answer) => answer.check);
  const checked = await access;
  try {
    if (checked?.refused) throw checked.error;
    for (const answer of answers) if (answer.error !== undefined) unavailable(c, answer.check.rule, answer.error);
    const refusal = answers.find((answer) => answer.result && !answer.result.success);
    if (refusal?.result) throw rateLimited(refusal.check.rule, refusal.result.reset);
  } catch (error) {
    await refund(c, counted);
    throw error;
  }
  // The headers speak of the quotas the caller is held to, not of the guards against refused requests.
  const tightest = answers
    .filter((answer) => checks.includes(answer.check))
    .flatMap((answer) => (answer.result ? [{ rule: answer.check.rule, result: answer.result }] : []))
    .sort((a, b) => a.result.remaining / a.rule.limit - b.result.remaining / b.rule.limit)[0];
  if (tightest) {
    for (const [name, value] of Object.entries(rateLimitHeaders(tightest.rule, tightest.result).headers)) {
      c.header(name, value);
    }
  }
  c.set("rateLimitCharges", [...(c.get("rateLimitCharges") ?? []), ...counted]);
}

/** `enforceRateLimits` with one rule. */
export function enforceRateLimit(c: Context<AppBindings>, rule: RateLimitRule, identifier: string): Promise<void> {
  return enforceRateLimits(c, [{ rule, identifier }]);
}

/**
 * Gives back the counts this request took of rules that count only successes: called for every
 * request that did not succeed (the `refundUnsuccessful` middleware), and by a handler whose
 * success did nothing new (a retried message replayed). Awaited before the answer leaves, so the
 * client's next request already sees it; a Redis that cannot answer only costs the refund (logged).
 */
export async function refundRateLimits(c: Context<AppBindings>): Promise<void> {
  const charges = c.get("rateLimitCharges") ?? [];
  c.set("rateLimitCharges", []);
  await refund(
    c,
    charges.filter((charge) => !charge.rule.countsEveryAttempt),
  );
}

/**
 * Takes one count off the sliding window's current bucket, or, when that holds none (the count was
 * taken just before the window turned), off the previous one, and never below zero: the library's
 * own refund (`rate: -1`) always lands in the current bucket, which can go negative and then
 * allows more than the limit.
 */
const refundScript = `for i = 1, #KEYS do
  local count = tonumber(redis.call("GET", KEYS[i]) or "0")
  if count > 0 then
    redis.call("DECR", KEYS[i])
    return i
  end
end
return 0`;

async function refund(c: Context<AppBindings>, checks: RateLimitCheck[]): Promise<void> {
  const redis = c.get("services").redis;
  await Promise.all(
    checks.map(({ rule, identifier }) => {
      // The keys @upstash/ratelimit's sliding window writes: `<prefix>:<identifier>:<window number>`.
      const window = Math.floor(Date.now() / (rule.windowSeconds * 1000));
      const key = (at: number) => `ratelimit:${rule.name}:${identifier}:${at}`;
      return fromRedis(redis.eval(refundScript, [key(window), key(window - 1)], [])).catch((error: unknown) =>
        log("warn", "rate limit count not given back", { rule: rule.name, ...describeError(error) }),
      );
    }),
  );
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
