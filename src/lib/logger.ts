import { DrizzleQueryError } from "drizzle-orm/errors";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

const severity: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Whether a line of `level` passes the configured `threshold`. */
export function enabled(level: LogLevel, threshold: LogLevel): boolean {
  return severity[level] >= severity[threshold];
}

const secretKeys = /authorization|cookie|token|secret|password|passcode|^code$|otp|email|api[-_]?key/i;
const emailPattern = /[\w.+-]+@[\w-]+(\.[\w-]+)+/g;
const jwtPattern = /eyJ[\w-]+\.[\w-]+\.[\w-]*/g;
const bearerPattern = /\bBearer\s+\S+/gi;
const secretQueryParams = /([?&](?:token|access_token|refresh_token|code|state|email)=)[^&#\s]*/gi;

/**
 * Removes what must never reach a log: email addresses, tokens, one-time codes and
 * credentials, whether they come as a field of their own or inside a string.
 */
export function redact(value: unknown, key = ""): unknown {
  if (key && secretKeys.test(key)) return value === undefined || value === null ? value : "[redacted]";
  if (typeof value === "string") {
    return value
      .replace(secretQueryParams, "$1[redacted]")
      .replace(bearerPattern, "Bearer [redacted]")
      .replace(jwtPattern, "[token]")
      .replace(emailPattern, "[email]");
  }
  if (Array.isArray(value)) return value.map((item) => redact(item));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k)]));
  }
  return value;
}

/** One JSON object per line: what Workers Logs and `wrangler tail` index. */
export function log(level: LogLevel, message: string, fields: LogFields = {}): void {
  const line = JSON.stringify(redact({ level, msg: message, time: new Date().toISOString(), ...fields }));
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

/** A Postgres error as the driver reports it: its message and detail may quote the values sent. */
function isPostgresError(error: Error): error is Error & Record<"code" | "constraint" | "table" | "column", unknown> {
  return "severity" in error && "code" in error && typeof error.code === "string" && /^[0-9A-Z]{5}$/.test(error.code);
}

/** The frames of a stack without its first line, which repeats the message. */
function framesOnly(stack: string | undefined): string | undefined {
  return stack
    ?.split("\n")
    .filter((line) => line.trimStart().startsWith("at "))
    .join("\n");
}

/**
 * What a log line may say about an error. A failed statement is logged by its SQL (which holds
 * placeholders, never values) and Postgres's error code and names, never by its parameters or
 * Postgres's message, which may quote what a user sent.
 */
export function describeError(error: unknown): LogFields {
  if (error instanceof DrizzleQueryError) {
    return {
      error_name: "DrizzleQueryError",
      query: error.query,
      stack: framesOnly(error.stack),
      ...(error.cause ? { cause: describeError(error.cause) } : {}),
    };
  }
  if (error instanceof Error && isPostgresError(error)) {
    return {
      error_name: error.name,
      db_code: error.code,
      db_constraint: error.constraint,
      db_table: error.table,
      db_column: error.column,
    };
  }
  if (error instanceof Error) {
    return {
      error_name: error.name,
      error_message: error.message,
      stack: error.stack,
      ...(error.cause ? { cause: describeError(error.cause) } : {}),
    };
  }
  return { error_message: String(error) };
}
