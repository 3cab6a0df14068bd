import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type ReportReason, reportReasons } from "../db/schema/enums";
import { DependencyUnavailableError, dependencies, ReadinessChecksSchema, TurnModeSchema } from "./dependencies";

const uuid = (description: string) =>
  z.uuid().openapi({ example: "0b7e3f7a-2c1d-4f0e-9a51-3c8d2b6e4f10" }).describe(description);

/**
 * Every error the API can answer with: its HTTP status, its human title, and the members its
 * problem adds to RFC 9457's (`extensions`, §3.2): `ApiError` takes exactly those for its code,
 * and the `Problem` schema documents each with the codes that carry it. Most codes add none.
 */
export const errorCatalog = {
  VALIDATION_FAILED: { status: 400, title: "The request is not valid" },
  MALFORMED_JSON: { status: 400, title: "The body is not valid JSON" },
  INVALID_CODE: {
    status: 400,
    title: "The code is not right",
    extensions: z.object({
      attempts_left: z
        .number()
        .int()
        .min(0)
        .openapi({ example: 4 })
        .describe("wrong codes this sign-in may still take (0: ask for a new code)"),
    }),
  },
  CODE_EXPIRED: { status: 400, title: "The code has expired" },
  CODE_USED: { status: 400, title: "The code was already used" },
  TOO_MANY_ATTEMPTS: { status: 400, title: "Too many wrong codes" },
  OAUTH_STATE_MISMATCH: { status: 400, title: "The sign-in attempt could not be matched" },
  OAUTH_CODE_REJECTED: { status: 400, title: "Google rejected the sign-in" },
  UNAUTHORIZED: { status: 401, title: "Authentication is required" },
  TOKEN_EXPIRED: { status: 401, title: "The access token has expired" },
  INVALID_REFRESH_TOKEN: { status: 401, title: "The refresh token is not valid" },
  REFRESH_TOKEN_REUSED: { status: 401, title: "The refresh token was already used" },
  FORBIDDEN: { status: 403, title: "Not allowed" },
  ACCOUNT_SUSPENDED: {
    status: 403,
    title: "The account is suspended",
    extensions: z.object({
      suspended_at: z.iso
        .datetime()
        .nullable()
        .describe("(`ACCOUNT_SUSPENDED`) since when; null for a suspension older than this member")
        .optional(),
      reason: z
        .enum(reportReasons)
        .nullable()
        .describe(
          "(`ACCOUNT_SUSPENDED`) the reason category of the report the suspension closed (never who reported); " +
            "null when an admin suspended the account without a report",
        )
        .optional(),
    }),
  },
  UNDER_REVIEW: { status: 403, title: "The account is under review" },
  EMAIL_NOT_VERIFIED: { status: 403, title: "The email address is not verified" },
  CORS_ORIGIN_NOT_ALLOWED: { status: 403, title: "This origin is not allowed" },
  NOT_FOUND: { status: 404, title: "Not found" },
  METHOD_NOT_ALLOWED: { status: 405, title: "Method not allowed" },
  CONFLICT: {
    status: 409,
    title: "Conflict",
    extensions: z.object({
      attempt_id: uuid("(`POST /match/attempt`) the attempt withdrawn while it was placed").optional(),
    }),
  },
  PRESENCE_REQUIRED: { status: 409, title: "Ping presence first" },
  ALREADY_QUEUED: {
    status: 409,
    title: "Already waiting for a partner",
    extensions: z.object({ attempt_id: uuid("the attempt you are already waiting with") }),
  },
  ALREADY_IN_SESSION: {
    status: 409,
    title: "Already in a session",
    extensions: z.object({ session_id: uuid("the session you are in") }),
  },
  EDIT_WINDOW_CLOSED: { status: 409, title: "The message can no longer be edited" },
  ALREADY_MATCHED: {
    status: 409,
    title: "Already matched",
    extensions: z.object({ session_id: uuid("the session the attempt was matched into").optional() }),
  },
  PAYLOAD_TOO_LARGE: { status: 413, title: "The body is too large" },
  CLIENT_ID_REUSED: {
    status: 422,
    title: "This client_id was used for another request",
    extensions: z.object({
      client_id: uuid("the `client_id` sent"),
      message_id: uuid("the message that already has it"),
    }),
  },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: "The body must be JSON" },
  UPGRADE_REQUIRED: { status: 426, title: "A WebSocket upgrade is required" },
  RATE_LIMITED: {
    status: 429,
    title: "Too many requests",
    extensions: z.object({
      limit: z.string().openapi({ example: "messages" }).describe("the limit that refused the request"),
    }),
  },
  INTERNAL: { status: 500, title: "Internal error" },
  BAD_GATEWAY: { status: 502, title: "An upstream service failed" },
  DEPENDENCY_UNAVAILABLE: {
    status: 503,
    title: "A dependency is unavailable",
    extensions: z.object({
      dependency: z.enum(dependencies).describe("the dependency that did not answer").optional(),
      checks: ReadinessChecksSchema.describe("(`/health/ready`) each dependency's verdict").optional(),
      turn: TurnModeSchema.describe("(`/health/ready`) whether calls get TURN relays").optional(),
    }),
  },
  GOOGLE_NOT_CONFIGURED: { status: 503, title: "Google sign-in is not configured" },
  MAIL_NOT_SENT: { status: 503, title: "The mail could not be sent" },
  SERVICE_UNAVAILABLE: { status: 503, title: "Service unavailable" },
} as const satisfies Record<string, { status: ContentfulStatusCode; title: string; extensions?: z.ZodObject }>;

export type ErrorCode = keyof typeof errorCatalog;

/** The extension members a problem of `C` carries (none for most codes). */
export type ProblemExtensions<C extends ErrorCode> = (typeof errorCatalog)[C] extends {
  extensions: infer S extends z.ZodType;
}
  ? z.input<S>
  : Record<string, never>;

export interface FieldError {
  /** Where the problem is: `body.email`, `query.limit`, `path.id`. */
  field: string;
  message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  request_id: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export interface ApiErrorOptions<C extends ErrorCode> {
  detail?: string;
  errors?: FieldError[];
  headers?: Record<string, string>;
  /** The extension members of the problem document that its code carries (RFC 9457 §3.2). */
  extensions?: ProblemExtensions<C>;
  cause?: unknown;
}

export class ApiError<C extends ErrorCode = ErrorCode> extends HTTPException {
  readonly code: C;
  readonly detail: string;
  readonly errors?: FieldError[];
  readonly headers: Record<string, string>;
  readonly extensions: Record<string, unknown>;

  constructor(code: C, options: ApiErrorOptions<C> = {}) {
    const { status, title } = errorCatalog[code];
    super(status, { message: options.detail ?? title, cause: options.cause });
    this.name = "ApiError";
    this.code = code;
    this.detail = options.detail ?? title;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
    this.extensions = options.extensions ?? {};
  }
}

/** What a suspended account is told: since when and why (docs/moderation.md#users-are-told). */
export interface SuspensionDetails {
  since: Date | null;
  reason: ReportReason | null;
}

/** The 403 of a suspended account, with `suspended_at` and `reason` whenever they are known. */
export function accountSuspended(details?: SuspensionDetails): ApiError<"ACCOUNT_SUSPENDED"> {
  return new ApiError("ACCOUNT_SUSPENDED", {
    detail: "This account is suspended.",
    extensions: details ? { suspended_at: details.since?.toISOString() ?? null, reason: details.reason } : undefined,
  });
}

const problemTypeBase = "https://gaplash.dev/problems/";

export function problemType(code: ErrorCode): string {
  return `${problemTypeBase}${code.toLowerCase().replaceAll("_", "-")}`;
}

/** The `Retry-After` of a 503 that does not set its own (s). */
export const unavailableRetryAfterSec = 2;

/** Renders an `ApiError` as an RFC 9457 `application/problem+json` response; a 503 carries `Retry-After`. */
export function problemResponse(c: Context, error: ApiError): Response {
  const { status, title } = errorCatalog[error.code];
  const body: Problem = {
    ...error.extensions,
    type: problemType(error.code),
    title,
    status,
    detail: error.detail,
    code: error.code,
    request_id: c.get("requestId") ?? "",
    ...(error.errors ? { errors: error.errors } : {}),
  };
  return c.body(JSON.stringify(body), status, {
    // RFC 9110 §10.2.3: a 503 says how soon to try again; a blip of a dependency lasts seconds.
    ...(status === 503 ? { "Retry-After": String(unavailableRetryAfterSec) } : {}),
    ...error.headers,
    "content-type": "application/problem+json",
  });
}

const statusToCode: Partial<Record<number, ErrorCode>> = {
  400: "VALIDATION_FAILED",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  409: "CONFLICT",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  429: "RATE_LIMITED",
  503: "SERVICE_UNAVAILABLE",
};

/** Maps anything thrown to the `ApiError` it should be answered with. Unknown errors become a bare 500. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof DependencyUnavailableError) {
    return new ApiError("DEPENDENCY_UNAVAILABLE", {
      detail: `${error.message[0]?.toUpperCase()}${error.message.slice(1)}; try again shortly.`,
      extensions: { dependency: error.dependency },
      cause: error,
    });
  }
  if (error instanceof HTTPException) {
    if (error.status === 400 && error.message.startsWith("Malformed JSON")) {
      return new ApiError("MALFORMED_JSON", { detail: "The body could not be parsed as JSON.", cause: error });
    }
    const code = statusToCode[error.status];
    if (code) return new ApiError(code, { detail: error.status === 400 ? error.message : undefined, cause: error });
  }
  return new ApiError("INTERNAL", {
    detail: "Something went wrong on our side. Quote the request id if you report it.",
    cause: error,
  });
}

/** The answer for a path the API does not serve, and for anything it must not admit exists. */
export function routeNotFound(c: Context): ApiError {
  return new ApiError("NOT_FOUND", { detail: `No route matches ${c.req.method} ${new URL(c.req.url).pathname}.` });
}
