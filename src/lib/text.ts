import { z } from "@hono/zod-openapi";

/**
 * Whether Postgres can store `value` as it was sent: no NUL character (text columns cannot hold
 * one) and no unpaired UTF-16 surrogate (it has no UTF-8 encoding and would be silently replaced).
 */
export function isStorableText(value: string): boolean {
  return !value.includes("\u0000") && value.isWellFormed();
}

/**
 * Characters that draw nothing of their own: white space, controls, format characters (`Cf`:
 * zero-width space and joiners, bidi controls, the BOM), Unicode's default-ignorable code points
 * (variation selectors, the Hangul fillers U+115F, U+1160, U+3164, U+FFA0, tags), noncharacters,
 * combining marks (alone they only decorate an absent letter), and three symbols that render
 * empty and head the lists of "invisible names": the Braille blank U+2800, the musical null
 * notehead U+1D159 and the Khitan small script filler U+16FE4. The categories are the runtime's
 * own Unicode database (regular-expression property escapes).
 */
const drawsNothing =
  /^[\p{White_Space}\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}\p{M}\u2800\u{1D159}\u{16FE4}]*$/u;

/** Whether `value` has at least one character that draws something (see `drawsNothing`). */
export function hasVisibleText(value: string): boolean {
  return !drawsNothing.test(value);
}

/**
 * Bidirectional overrides (LRO U+202D, RLO U+202E) force the order of text already typed: no
 * script needs them to be written, and they are how a name or a link is shown reversed or
 * spoofed. Marks (LRM, RLM, ALM), embeddings and isolates stay allowed in free text: writers of
 * Arabic, Hebrew, Persian or Urdu mixed with Latin text use them.
 */
const bidiOverride = /[\u202D\u202E]/;

/**
 * Every bidirectional control (marks U+200E, U+200F, U+061C; embeddings, overrides and their
 * end U+202A–U+202E; isolates U+2066–U+2069). A name is short and shown inside other text (a
 * list, a notification, "Aziza is typing"), where any of them reorders what follows.
 */
const bidiControl = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;

/**
 * The base of every string a client sends, free text or not (tokens, codes, cursors): only text
 * Postgres can store. A refused value is a 400 naming the field, never a database error.
 */
export function text() {
  return z.string().refine(isStorableText, "must not contain NUL or unpaired surrogate characters");
}

/**
 * The one rule of text people write and others read (messages, corrections, profile text, notes,
 * reports, moderators' resolutions, search queries): storable, and, unless empty, something
 * visible (not only zero-width, format or filler characters), with no bidirectional override.
 * Chain `.trim()`, `.min()`, `.max()` after it.
 */
export function freeText() {
  return text()
    .refine((value) => value.trim() === "" || hasVisibleText(value), "must contain something visible")
    .refine(
      (value) => !bidiOverride.test(value),
      "must not contain bidirectional override characters (U+202D, U+202E)",
    );
}

/** A name shown to others (a display name): free text with no bidirectional control at all. */
export function nameText() {
  return freeText().refine(
    (value) => !bidiControl.test(value),
    "must not contain bidirectional control characters (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069)",
  );
}

/**
 * A blank value (after `.trim()`) as `empty`, for an optional text a user may leave blank (a
 * report's note, a session's notes, a profile's about): `undefined` where absent is the field's
 * "nothing", `null` where null clears it. No row stores an empty string that reads as something said.
 */
export function blankAs<Empty extends null | undefined>(empty: Empty): (value: string) => string | Empty {
  return (value) => (value === "" ? empty : value);
}
