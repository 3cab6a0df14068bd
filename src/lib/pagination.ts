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

const toBase64Url = (json: string) => btoa(json).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

/** Reads a cursor this API issued with `schema`, or answers 400 naming `query.cursor`. */
function readCursor<T>(cursor: string, schema: z.ZodType<T>): T {
  try {
    return schema.parse(JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/"))));
  } catch {
    throw new ApiError("VALIDATION_FAILED", {
      detail: "query.cursor: not a cursor this API issued",
      errors: [{ field: "query.cursor", message: "not a cursor this API issued" }],
    });
  }
}

/** Cursors are opaque to clients: base64url of the keyset position. */
export function encodeCursor(position: KeysetPosition): string {
  return toBase64Url(JSON.stringify({ at: position.at.toISOString(), id: position.id }));
}

export function decodeCursor(cursor: string): KeysetPosition {
  const position = readCursor(cursor, PositionSchema);
  return { at: new Date(position.at), id: position.id };
}

/** The position in a ranked list (search): the last item's rank as exact decimal text, then time and id. */
export interface RankedPosition extends KeysetPosition {
  score: string;
}

const RankedPositionSchema = PositionSchema.extend({ score: z.string().regex(/^(0|1)(\.[0-9]{1,6})?$/) });

export function encodeRankedCursor(position: RankedPosition): string {
  return toBase64Url(JSON.stringify({ score: position.score, at: position.at.toISOString(), id: position.id }));
}

export function decodeRankedCursor(cursor: string): RankedPosition {
  const position = readCursor(cursor, RankedPositionSchema);
  return { score: position.score, at: new Date(position.at), id: position.id };
}

/**
 * The position in the moderators' queue: held users' reports come first, then time and id. Who
 * counts as held is decided as of `asOf`, the first page's instant: a hold made while a moderator
 * pages would otherwise move a report into the held part they already passed (a skip).
 */
export interface HeldFirstPosition extends KeysetPosition {
  held: boolean;
  asOf?: Date;
}

// `held` is absent from cursors issued before holds existed: those were all in the plain order;
// `as_of` from those issued before it was carried (the page is then ordered as of now).
const HeldFirstPositionSchema = PositionSchema.extend({
  held: z.boolean().default(false),
  as_of: PositionSchema.shape.at.optional(),
});

export function encodeHeldFirstCursor(position: HeldFirstPosition): string {
  return toBase64Url(
    JSON.stringify({
      held: position.held,
      at: position.at.toISOString(),
      id: position.id,
      ...(position.asOf ? { as_of: position.asOf.toISOString() } : {}),
    }),
  );
}

export function decodeHeldFirstCursor(cursor: string): HeldFirstPosition {
  const position = readCursor(cursor, HeldFirstPositionSchema);
  return {
    held: position.held,
    at: new Date(position.at),
    id: position.id,
    ...(position.as_of ? { asOf: new Date(position.as_of) } : {}),
  };
}

/**
 * Builds `{items, next_cursor}` from a page fetched with `limit + 1` rows; a view may be async (one
 * that signs URLs). Ranked lists pass their own position and `encode` (`encodeRankedCursor`).
 */
export async function toPage<Row, Item, Position = KeysetPosition>(
  rows: Row[],
  limit: number,
  position: (row: Row) => Position,
  toItem: (row: Row) => Item | Promise<Item>,
  encode: (position: Position) => string = encodeCursor as (position: Position) => string,
): Promise<{ items: Item[]; next_cursor: string | null }> {
  const pageRows = rows.slice(0, limit);
  const last = pageRows.at(-1);
  return {
    items: await Promise.all(pageRows.map(toItem)),
    next_cursor: rows.length > limit && last ? encode(position(last)) : null,
  };
}
