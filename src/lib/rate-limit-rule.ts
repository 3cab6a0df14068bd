/**
 * What a rate limit is, apart from how it is enforced (`rate-limit.ts`): the request context
 * (`types.ts`) carries the checks a request was charged, and needs their shape only.
 */

export interface RateLimitRule {
  /** Names the counter in Redis (rules with one name share it) and the rule in a 429's `limit`. */
  name: string;
  /** What is counted, as a 429's detail names it: "messages you send". */
  description: string;
  limit: number;
  windowSeconds: number;
  /** Refuse (503) rather than allow when Redis cannot answer: for sign-in, where guessing is the risk. */
  failClosed: boolean;
  /**
   * Every request the rule lets through counts, whatever its answer: for sign-in code checks,
   * where the wrong guesses are what is limited. Otherwise only a request that succeeds (2xx)
   * keeps its count; one that is refused afterwards gets it back (`refundRateLimits`).
   */
  countsEveryAttempt?: boolean;
}

/** One rule and whose counter of it a request is counted against. */
export interface RateLimitCheck {
  rule: RateLimitRule;
  identifier: string;
}
