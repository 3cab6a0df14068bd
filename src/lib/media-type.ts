import { isTokenValid, isTypeValid, parse } from "content-type";

/** A media type as RFC 9110 §8.3.1 reads it: `type/subtype` (lower case) and its parameters. */
export interface MediaType {
  /** `type/subtype` in lower case, without parameters: what two spellings of one type share. */
  essence: string;
  /** Parameter names in lower case; values as sent, unquoted. */
  parameters: Record<string, string>;
}

/** A header value as RFC 9110 §5.5 allows it, less obs-text: visible ASCII, spaces and tabs. */
const fieldValue = /^[\t\x20-\x7e]*$/;

/**
 * Parses a `Content-Type` value per RFC 9110 §8.3 (`media-type = type "/" subtype parameters`,
 * with optional whitespace around each `;`, case-insensitive type and parameter names, quoted
 * values) with the `content-type` package. Returns undefined when `value` is absent, is not a
 * media type (`json`, `application /json`, two types in one header), or holds anything but
 * visible ASCII, spaces and tabs (a control character, a line break, a non-ASCII letter), which
 * no header that is signed or stored may carry. A malformed parameter without `=` is ignored, as
 * the package ignores it.
 */
export function parseMediaType(value: string | undefined | null): MediaType | undefined {
  if (!value || !fieldValue.test(value)) return undefined;
  const { type, parameters } = parse(value);
  if (!isTypeValid(type) || !Object.keys(parameters).every((name) => isTokenValid(name))) return undefined;
  return { essence: type, parameters };
}

/**
 * Whether a JSON body declared as `mediaType` is one this API reads: `application/json` (RFC
 * 8259 §11), with no charset or UTF-8 (§8.1: JSON exchanged between systems is UTF-8), any other
 * parameter ignored.
 */
export function isJsonMediaType(mediaType: MediaType | undefined): mediaType is MediaType {
  if (mediaType?.essence !== "application/json") return false;
  const charset = mediaType.parameters.charset;
  return charset === undefined || charset.toLowerCase() === "utf-8";
}
