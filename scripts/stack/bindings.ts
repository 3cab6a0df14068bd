/** The Worker variables that point at the running local stack, by binding name. */
export interface StackBindings {
  DATABASE_URL: string;
  NEON_WS_PROXY: string;
  NEON_HTTP_ENDPOINT: string;
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
  S3_ENDPOINT: string;
  S3_BUCKET: string;
  S3_REGION: string;
  S3_ACCESS_KEY_ID: string;
  S3_SECRET_ACCESS_KEY: string;
  RESEND_BASE_URL: string;
  RESEND_API_KEY: string;
  TURN_KEY_ID: string;
  TURN_KEY_API_TOKEN: string;
  TURN_API_URL: string;
}

/** Addresses of misbehaving dependencies, for the tests that prove every call has a deadline. */
export interface FaultFixtures {
  /** `host:port` of a server that accepts connections and never says a word: a stalled dependency. */
  blackhole: string;
  /** An Upstash REST endpoint whose Redis cannot be reached. */
  unreachableRedisRestUrl: string;
  /**
   * An Upstash REST endpoint in front of the stack's own Redis, `distantRedisRttMs` away: with a
   * Redis deadline under that, every command runs and its answer misses the deadline.
   */
  distantRedisRestUrl: string;
  distantRedisRttMs: number;
}
