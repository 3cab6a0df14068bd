import { z } from "@hono/zod-openapi";

/**
 * Whether Postgres can store `value` as it was sent: no NUL character (text columns cannot hold
 * one) and no unpaired UTF-16 surrogate (it has no UTF-8 encoding and would be silently replaced).
 */
export function isStorableText(value: string): boolean {
  return !value.includes("\u0000") && value.isWellFormed();
}

/**
 * The base of every free-text field a client sends: chain `.trim()`, `.min()`, `.max()` after it.
 * A refused value is a 400 naming the field, never a database error.
 */
export function text() {
  return z.string().refine(isStorableText, "must not contain NUL or unpaired surrogate characters");
}
