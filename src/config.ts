import { z } from "zod";
import { type LogLevel, log } from "./lib/logger";

const commaSeparated = z
  .string()
  .default("")
  .transform((value) =>
    value
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean),
  );

const secret = (name: string) =>
  z.string().min(32, { message: `${name} must be at least 32 characters of random data` });

const positiveInt = (fallback: number) => z.coerce.number().int().min(1).default(fallback);
const deadline = (fallback: number) => z.coerce.number().int().min(50).max(60_000).default(fallback);

const ConfigSchema = z.object({
  ENVIRONMENT: z.enum(["development", "production"]),
  APP_COMMIT: z.string().min(1).default("unknown"),
  APP_BUILT_AT: z.string().min(1).default("unknown"),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  // Only for local development: Neon's own proxy is used when this is not set.
  NEON_WS_PROXY: z.string().min(1).optional(),
  // Only for local development: Neon's own SQL-over-HTTP endpoint is used when this is not set.
  NEON_HTTP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  // "off" sends one-shot statements over the WebSocket pool too: for a Postgres without Neon's HTTP endpoint.
  DATABASE_HTTP: z.enum(["on", "off"]).default("on"),
  UPSTASH_REDIS_REST_URL: z.url({ protocol: /^https?$/ }),
  UPSTASH_REDIS_REST_TOKEN: z.string().min(1),
  RESEND_API_KEY: z.string().min(1),
  RESEND_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  MAIL_FROM: z.string().min(3),
  CORS_ORIGINS: commaSeparated.pipe(
    z.array(
      z.url({ protocol: /^https?$/ }).refine((origin) => new URL(origin).origin === origin, {
        message: "must be a bare origin such as https://app.example.com",
      }),
    ),
  ),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(10_485_760).default(102_400),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  JWT_SECRET: secret("JWT_SECRET"),
  // A rotation of JWT_SECRET: the key it replaced and when (ISO 8601), so that access tokens
  // signed before it stay good for the rest of their lifetime (docs/operations.md). Both or neither.
  JWT_SECRET_PREVIOUS: secret("JWT_SECRET_PREVIOUS").optional(),
  JWT_SECRET_ROTATED_AT: z.iso.datetime({ offset: true }).optional(),
  AUTH_SECRET: secret("AUTH_SECRET"),
  ADMIN_EMAILS: commaSeparated.transform((emails) => emails.map((email) => email.toLowerCase())),
  GOOGLE_CLIENT_ID: z.string().min(1).optional(),
  GOOGLE_CLIENT_SECRET: z.string().min(1).optional(),
  GOOGLE_REDIRECT_URI: z.url({ protocol: /^https?$/ }).optional(),
  S3_ENDPOINT: z.url({ protocol: /^https?$/ }),
  S3_BUCKET: z.string().min(1),
  S3_REGION: z.string().min(1).default("auto"),
  S3_ACCESS_KEY_ID: z.string().min(1),
  S3_SECRET_ACCESS_KEY: z.string().min(1),
  // Where uploaded objects are served from (an R2 public domain or a CDN); defaults to the bucket URL.
  S3_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  VOICE_URL_TTL_SEC: z.coerce
    .number()
    .int()
    .min(60)
    .max(7 * 24 * 3600)
    .default(3600),
  // A refresh token presented again this soon after its rotation (two tabs, a retried request
  // whose answer was lost) gets its successor again instead of revoking the sign-in; 0 turns it off.
  AUTH_REFRESH_REUSE_INTERVAL_SEC: z.coerce.number().int().min(0).max(60).default(10),
  // Per address and requester network: what a stranger's requests can use up is their own.
  RATE_LIMIT_CODE_REQUESTS_PER_EMAIL_HOUR: positiveInt(5),
  // Per address, whoever asks (but not from a network the owner signed in from): the cap on mails
  // actually sent, against mail-bombing.
  RATE_LIMIT_CODE_MAILS_PER_EMAIL_HOUR: positiveInt(20),
  // Unset: 20 in production, 1,000 in development so local load tests from one address work.
  RATE_LIMIT_CODE_REQUESTS_PER_IP_HOUR: z.coerce.number().int().min(1).optional(),
  // Unset: 60 in production, 1,000 in development, like code requests per IP.
  RATE_LIMIT_CODE_CHECKS_PER_IP_15MIN: z.coerce.number().int().min(1).optional(),
  RATE_LIMIT_MATCH_ATTEMPTS_PER_MIN: positiveInt(30),
  RATE_LIMIT_MESSAGES_PER_MIN: positiveInt(60),
  RATE_LIMIT_REPORTS_PER_HOUR: positiveInt(10),
  RATE_LIMIT_UPLOADS_PER_HOUR: positiveInt(30),
  RATE_LIMIT_READS_PER_MIN: positiveInt(120),
  MATCH_WIDEN_ADJACENT_AFTER_SEC: positiveInt(30),
  MATCH_WIDEN_TWO_AFTER_SEC: positiveInt(90),
  MATCH_ATTEMPT_TTL_SEC: positiveInt(300),
  // How long a waiting learner may be passed over for a partner sharing more interests; 0 is plain FIFO.
  MATCH_INTEREST_FAIRNESS_SEC: z.coerce.number().int().min(0).max(3600).default(20),
  // Automatic holds (docs/moderation.md#automatic-holds): this many distinct reporters who have had a
  // session with the account, within the window, hold it for review; fewer for an account younger
  // than HOLD_NEW_ACCOUNT_HOURS.
  HOLD_REPORTERS: positiveInt(3),
  HOLD_NEW_ACCOUNT_REPORTERS: positiveInt(2),
  HOLD_WINDOW_HOURS: z.coerce.number().int().min(1).max(720).default(24),
  HOLD_NEW_ACCOUNT_HOURS: z.coerce.number().int().min(0).max(720).default(24),
  // Cloudflare Realtime TURN: the key id is a var, its API token a secret; both or neither.
  TURN_KEY_ID: z.string().min(1).optional(),
  TURN_KEY_API_TOKEN: z.string().min(1).optional(),
  // Only for local development: the stand-in of Cloudflare's credentials API in front of coturn.
  TURN_API_URL: z.url({ protocol: /^https?$/ }).default("https://rtc.live.cloudflare.com"),
  TURN_CREDENTIAL_TTL_SEC: z.coerce
    .number()
    .int()
    .min(60)
    .max(48 * 3600)
    .default(3600),
  RATE_LIMIT_ICE_SERVERS_PER_MIN: positiveInt(20),
  DEADLINE_TURN_MS: deadline(3000),
  DEADLINE_DATABASE_MS: deadline(5000),
  DEADLINE_REDIS_MS: deadline(1000),
  DEADLINE_S3_MS: deadline(3000),
  DEADLINE_MAIL_MS: deadline(5000),
  DEADLINE_DURABLE_OBJECT_MS: deadline(5000),
});

export interface Config {
  environment: "development" | "production";
  commit: string;
  builtAt: string;
  /** Every dependency has a deadline (`timeoutMs`): past it the request answers 503 naming it. */
  database: { url: string; wsProxy?: string; httpEndpoint?: string; http: boolean; timeoutMs: number };
  redis: { url: string; token: string; timeoutMs: number };
  mail: { apiKey: string; baseUrl?: string; from: string; timeoutMs: number };
  corsOrigins: ReadonlySet<string>;
  maxBodyBytes: number;
  /** The least severe level written; `warn` drops the per-request line of successful requests. */
  logLevel: LogLevel;
  auth: {
    /** Signs every access token, and verifies those that name it (`kid`) or name no key. */
    jwtSecret: string;
    /** The key `jwtSecret` replaced, and when (epoch ms): it verifies tokens it signed before then. */
    jwtPrevious?: { secret: string; retiredAt: number };
    authSecret: string;
    adminEmails: ReadonlySet<string>;
    /** How long after its rotation a refresh token presented again is a retry, not theft (ms). */
    refreshReuseIntervalMs: number;
    google?: { clientId: string; clientSecret: string; redirectUri: string };
  };
  s3: {
    endpoint: string;
    bucket: string;
    region: string;
    accessKeyId: string;
    secretAccessKey: string;
    publicUrl: string;
    /** How long a signed URL to play a voice note works. */
    voiceUrlTtlSeconds: number;
    timeoutMs: number;
  };
  rateLimits: {
    codeRequestsPerEmailHour: number;
    codeMailsPerEmailHour: number;
    codeRequestsPerIpHour: number;
    codeChecksPerIp15Min: number;
    matchAttemptsPerMin: number;
    messagesPerMin: number;
    reportsPerHour: number;
    uploadsPerHour: number;
    readsPerMin: number;
    iceServersPerMin: number;
  };
  matching: MatchingConfig;
  moderation: ModerationConfig;
  /** How long a request waits on a Durable Object call before it answers 503 naming the object. */
  durableObjectTimeoutMs: number;
  /** Cloudflare Realtime TURN; absent, calls get STUN only. */
  turn?: { keyId: string; apiToken: string; apiUrl: string; credentialTtlSeconds: number; timeoutMs: number };
}

export interface MatchingConfig {
  /** After this long alone in the queue, a user also accepts partners one level away. */
  widenAdjacentAfterMs: number;
  /** After this long, two levels away. */
  widenTwoAfterMs: number;
  /** A queued attempt expires after this long. */
  attemptTtlMs: number;
  /**
   * Until a compatible user has waited this long, an arrival prefers the one sharing the most
   * interests; from then on it is strict FIFO for them (SPEC §10). 0 turns the preference off.
   */
  interestFairnessMs: number;
}

/** When reports hold an account for review (docs/moderation.md#automatic-holds). */
export interface ModerationConfig {
  /** Distinct counted reporters within `holdWindowMs` that hold an account. */
  holdReporters: number;
  /** The same for an account younger than `newAccountMs`. */
  holdNewAccountReporters: number;
  /** How far back open reports count (ms). */
  holdWindowMs: number;
  /** Until this age (ms) an account is new; 0: none is. */
  newAccountMs: number;
}

/** How far ahead of now `JWT_SECRET_ROTATED_AT` may be: a rotation's own deploy, not a typo's year. */
const rotationLeadMs = 10 * 60 * 1000;

/**
 * The key a `JWT_SECRET` rotation replaced, when the configuration describes one completely: the
 * previous key, different from the current one, and when it was replaced, at most 10 minutes
 * ahead. Anything less is taken as no rotation, with a warning, never as a configuration error: a
 * secret put or deleted one at a time passes through such states, and refusing them would fail
 * every request (ignoring them can only refuse the old key's tokens, which clients refresh).
 */
function previousJwtKey(
  vars: { JWT_SECRET: string; JWT_SECRET_PREVIOUS?: string; JWT_SECRET_ROTATED_AT?: string },
  now: number,
): Config["auth"]["jwtPrevious"] {
  const { JWT_SECRET_PREVIOUS: secret, JWT_SECRET_ROTATED_AT: rotatedAt } = vars;
  if (!secret && !rotatedAt) return undefined;
  const retiredAt = rotatedAt ? Date.parse(rotatedAt) : Number.NaN;
  const problem = !secret
    ? "JWT_SECRET_ROTATED_AT is set without JWT_SECRET_PREVIOUS"
    : !rotatedAt
      ? "JWT_SECRET_PREVIOUS is set without JWT_SECRET_ROTATED_AT"
      : secret === vars.JWT_SECRET
        ? "JWT_SECRET_PREVIOUS is the current JWT_SECRET"
        : retiredAt > now + rotationLeadMs
          ? `JWT_SECRET_ROTATED_AT (${rotatedAt}) is more than 10 minutes ahead`
          : undefined;
  if (problem) {
    log("warn", "the previous JWT key is not used", { reason: problem });
    return undefined;
  }
  return secret ? { secret, retiredAt } : undefined;
}

export class ConfigError extends Error {
  constructor(issues: string[]) {
    super(`Invalid configuration (see .dev.vars.example): ${issues.join("; ")}`);
    this.name = "ConfigError";
  }
}

// The bindings object is the same for every request an isolate serves, so this parses once
// per isolate; a different object (a test's own env) gets its own parse.
const parsed = new WeakMap<object, Config>();

export function getConfig(env: object): Config {
  const cached = parsed.get(env);
  if (cached) return cached;
  const config = parseConfig(env);
  parsed.set(env, config);
  return config;
}

export function parseConfig(env: object): Config {
  const result = ConfigSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join(".") || "env"}: ${issue.message}`));
  }
  const vars = result.data;
  const googleVars = [vars.GOOGLE_CLIENT_ID, vars.GOOGLE_CLIENT_SECRET, vars.GOOGLE_REDIRECT_URI];
  if (googleVars.some(Boolean) && !googleVars.every(Boolean)) {
    throw new ConfigError([
      "GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET and GOOGLE_REDIRECT_URI must be set together (or none of them)",
    ]);
  }
  if (Boolean(vars.TURN_KEY_ID) !== Boolean(vars.TURN_KEY_API_TOKEN)) {
    throw new ConfigError(["TURN_KEY_ID and TURN_KEY_API_TOKEN must be set together (or neither)"]);
  }
  const s3Endpoint = vars.S3_ENDPOINT.replace(/\/$/, "");
  return {
    environment: vars.ENVIRONMENT,
    commit: vars.APP_COMMIT,
    builtAt: vars.APP_BUILT_AT,
    database: {
      url: vars.DATABASE_URL,
      wsProxy: vars.NEON_WS_PROXY,
      httpEndpoint: vars.NEON_HTTP_ENDPOINT,
      http: vars.DATABASE_HTTP === "on",
      timeoutMs: vars.DEADLINE_DATABASE_MS,
    },
    redis: {
      url: vars.UPSTASH_REDIS_REST_URL,
      token: vars.UPSTASH_REDIS_REST_TOKEN,
      timeoutMs: vars.DEADLINE_REDIS_MS,
    },
    mail: {
      apiKey: vars.RESEND_API_KEY,
      baseUrl: vars.RESEND_BASE_URL,
      from: vars.MAIL_FROM,
      timeoutMs: vars.DEADLINE_MAIL_MS,
    },
    corsOrigins: new Set(vars.CORS_ORIGINS),
    maxBodyBytes: vars.MAX_BODY_BYTES,
    logLevel: vars.LOG_LEVEL,
    auth: {
      jwtSecret: vars.JWT_SECRET,
      jwtPrevious: previousJwtKey(vars, Date.now()),
      authSecret: vars.AUTH_SECRET,
      adminEmails: new Set(vars.ADMIN_EMAILS),
      refreshReuseIntervalMs: vars.AUTH_REFRESH_REUSE_INTERVAL_SEC * 1000,
      google:
        vars.GOOGLE_CLIENT_ID && vars.GOOGLE_CLIENT_SECRET && vars.GOOGLE_REDIRECT_URI
          ? {
              clientId: vars.GOOGLE_CLIENT_ID,
              clientSecret: vars.GOOGLE_CLIENT_SECRET,
              redirectUri: vars.GOOGLE_REDIRECT_URI,
            }
          : undefined,
    },
    s3: {
      endpoint: s3Endpoint,
      bucket: vars.S3_BUCKET,
      region: vars.S3_REGION,
      accessKeyId: vars.S3_ACCESS_KEY_ID,
      secretAccessKey: vars.S3_SECRET_ACCESS_KEY,
      publicUrl: (vars.S3_PUBLIC_URL ?? `${s3Endpoint}/${vars.S3_BUCKET}`).replace(/\/$/, ""),
      voiceUrlTtlSeconds: vars.VOICE_URL_TTL_SEC,
      timeoutMs: vars.DEADLINE_S3_MS,
    },
    rateLimits: {
      codeRequestsPerEmailHour: vars.RATE_LIMIT_CODE_REQUESTS_PER_EMAIL_HOUR,
      codeMailsPerEmailHour: vars.RATE_LIMIT_CODE_MAILS_PER_EMAIL_HOUR,
      codeRequestsPerIpHour:
        vars.RATE_LIMIT_CODE_REQUESTS_PER_IP_HOUR ?? (vars.ENVIRONMENT === "development" ? 10_000 : 20),
      codeChecksPerIp15Min:
        vars.RATE_LIMIT_CODE_CHECKS_PER_IP_15MIN ?? (vars.ENVIRONMENT === "development" ? 10_000 : 60),
      matchAttemptsPerMin: vars.RATE_LIMIT_MATCH_ATTEMPTS_PER_MIN,
      messagesPerMin: vars.RATE_LIMIT_MESSAGES_PER_MIN,
      reportsPerHour: vars.RATE_LIMIT_REPORTS_PER_HOUR,
      uploadsPerHour: vars.RATE_LIMIT_UPLOADS_PER_HOUR,
      readsPerMin: vars.RATE_LIMIT_READS_PER_MIN,
      iceServersPerMin: vars.RATE_LIMIT_ICE_SERVERS_PER_MIN,
    },
    matching: {
      widenAdjacentAfterMs: vars.MATCH_WIDEN_ADJACENT_AFTER_SEC * 1000,
      widenTwoAfterMs: Math.max(vars.MATCH_WIDEN_TWO_AFTER_SEC, vars.MATCH_WIDEN_ADJACENT_AFTER_SEC) * 1000,
      attemptTtlMs: vars.MATCH_ATTEMPT_TTL_SEC * 1000,
      interestFairnessMs: vars.MATCH_INTEREST_FAIRNESS_SEC * 1000,
    },
    moderation: {
      holdReporters: vars.HOLD_REPORTERS,
      holdNewAccountReporters: vars.HOLD_NEW_ACCOUNT_REPORTERS,
      holdWindowMs: vars.HOLD_WINDOW_HOURS * 3_600_000,
      newAccountMs: vars.HOLD_NEW_ACCOUNT_HOURS * 3_600_000,
    },
    durableObjectTimeoutMs: vars.DEADLINE_DURABLE_OBJECT_MS,
    turn:
      vars.TURN_KEY_ID && vars.TURN_KEY_API_TOKEN
        ? {
            keyId: vars.TURN_KEY_ID,
            apiToken: vars.TURN_KEY_API_TOKEN,
            apiUrl: vars.TURN_API_URL.replace(/\/$/, ""),
            credentialTtlSeconds: vars.TURN_CREDENTIAL_TTL_SEC,
            timeoutMs: vars.DEADLINE_TURN_MS,
          }
        : undefined,
  };
}
