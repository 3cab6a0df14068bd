import { z } from "zod";

const commaSeparated = z
  .string()
  .default("")
  .transform((value) =>
    value
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean),
  );

const ConfigSchema = z.object({
  ENVIRONMENT: z.enum(["development", "production"]),
  APP_COMMIT: z.string().min(1).default("unknown"),
  APP_BUILT_AT: z.string().min(1).default("unknown"),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  // Only for local development: Neon's own proxy is used when this is not set.
  NEON_WS_PROXY: z.string().min(1).optional(),
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
});

export interface Config {
  environment: "development" | "production";
  commit: string;
  builtAt: string;
  database: { url: string; wsProxy?: string };
  redis: { url: string; token: string };
  mail: { apiKey: string; baseUrl?: string; from: string };
  corsOrigins: ReadonlySet<string>;
  maxBodyBytes: number;
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
  return {
    environment: vars.ENVIRONMENT,
    commit: vars.APP_COMMIT,
    builtAt: vars.APP_BUILT_AT,
    database: { url: vars.DATABASE_URL, wsProxy: vars.NEON_WS_PROXY },
    redis: { url: vars.UPSTASH_REDIS_REST_URL, token: vars.UPSTASH_REDIS_REST_TOKEN },
    mail: { apiKey: vars.RESEND_API_KEY, baseUrl: vars.RESEND_BASE_URL, from: vars.MAIL_FROM },
    corsOrigins: new Set(vars.CORS_ORIGINS),
    maxBodyBytes: vars.MAX_BODY_BYTES,
  };
}
