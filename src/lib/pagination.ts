import { z } from "@hono/zod-openapi";
import { ApiError } from "./errors";
import { text } from "./text";

/**
 * An integer in a query string, written as plain decimal digits: `0x10`, `1e2`, ` 5` and `+5`
 * are refused rather than read as numbers, as JavaScript's `Number()` would.
 */
function queryInteger(min: number, max: number) {
  const plainDigits = (value: unknown) =>
    typeof value === "string" && /^(0|[1-9][0-9]{0,8})$/.test(value) ? Number(value) : value;
  return z.preprocess(
    plainDigits,
    z
      .number({ error: `must be a whole number from ${min} to ${max}, in plain digits` })
      .int()
      .min(min)
      .max(max),
  );
}

export const PageQuerySchema = z.object({
  cursor: text().max(512).optional().openapi({ description: "`next_cursor` from the previous page." }),
  limit: queryInteger(1, 100).default(20),
});

/** The position after the last item of a page: newest-first lists order by (time desc, id desc). */
export interface KeysetPosition {
  at: Date;
  id: string;
}

// Our cursors carry real timestamps; anything outside these years is not one (Postgres has no year 0).
const PositionSchema = z.object({
  at: z.iso.datetime().refine((at) => {
    const year = new Date(at).getUTCFullYear();
    return year >= 2000 && year <= 9999;
  }),
  id: z.uuid(),
});

/** Cursors are opaque to clients: base64url of the keyset position. */
export function encodeCursor(position: KeysetPosition): string {
  const json = JSON.stringify({ at: position.at.toISOString(), id: position.id });
  return btoa(json).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function decodeCursor(cursor: string): KeysetPosition {
  try {
    const json = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
    const position = PositionSchema.parse(JSON.parse(json));
    return { at: new Date(position.at), id: position.id };
  } catch {
    throw new ApiError("VALIDATION_FAILED", {
      detail: "query.cursor: not a cursor this API issued",
      errors: [{ field: "query.cursor", message: "not a cursor this API issued" }],
    });
  }
}

/** Builds `{items, next_cursor}` from a page fetched with `limit + 1` rows; a view may be async (one that signs URLs). */
export async function toPage<Row, Item>(
  rows: Row[],
  limit: number,
  position: (row: Row) => KeysetPosition,
  toItem: (row: Row) => Item | Promise<Item>,
): Promise<{ items: Item[]; next_cursor: string | null }> {
  const pageRows = rows.slice(0, limit);
  const last = pageRows.at(-1);
  return {
    items: await Promise.all(pageRows.map(toItem)),
    next_cursor: rows.length > limit && last ? encodeCursor(position(last)) : null,
  };
}

const OffsetSchema = z.object({ offset: z.number().int().min(0).max(10_000) });

/** Ranked lists (search) page by position: the cursor is opaque all the same. */
export function encodeOffsetCursor(offset: number): string {
  return btoa(JSON.stringify({ offset })).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function decodeOffsetCursor(cursor: string): number {
  try {
    return OffsetSchema.parse(JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/")))).offset;
  } catch {
    throw new ApiError("VALIDATION_FAILED", {
      detail: "query.cursor: not a cursor this API issued",
      errors: [{ field: "query.cursor", message: "not a cursor this API issued" }],
    });
  }
}
