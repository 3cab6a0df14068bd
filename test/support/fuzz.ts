import fc from "fast-check";
import { api } from "./http";

/*
 * Request generators for the schema fuzz: valid-looking and broken bodies, path values and
 * query strings derived from the API's own OpenAPI document, and the check every answer must pass.
 */

export const httpMethods = ["get", "put", "post", "patch", "delete"] as const;
export type HttpMethod = (typeof httpMethods)[number];

export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  example?: unknown;
  default?: unknown;
}

export interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: JsonSchema;
}

export interface Operation {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
}

export interface OpenApiDocument {
  paths: Record<string, Partial<Record<HttpMethod, Operation>>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

export interface DocumentedOperation {
  /** `POST /sessions/{id}/end`. */
  key: string;
  method: HttpMethod;
  path: string;
  operation: Operation;
}

export function operationsOf(document: OpenApiDocument): DocumentedOperation[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    httpMethods.flatMap((method) => {
      const operation = item[method];
      return operation ? [{ key: `${method.toUpperCase()} ${path}`, method, path, operation }] : [];
    }),
  );
}

export function pathParameterNames(path: string): string[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1] ?? "");
}

/** Follows `$ref`s and folds `allOf` into one object schema. */
export function resolveSchema(document: OpenApiDocument, schema: JsonSchema): JsonSchema {
  if (schema.$ref) {
    const name = schema.$ref.replace("#/components/schemas/", "");
    const target = document.components?.schemas?.[name];
    if (!target) throw new Error(`the document has no schema ${schema.$ref}`);
    return resolveSchema(document, target);
  }
  if (schema.allOf) {
    const parts = schema.allOf.map((part) => resolveSchema(document, part));
    return {
      type: "object",
      properties: Object.assign({}, ...parts.map((part) => part.properties ?? {}), schema.properties ?? {}),
      required: [...parts.flatMap((part) => part.required ?? []), ...(schema.required ?? [])],
      example: schema.example,
    };
  }
  return schema;
}

function stringMatchingOrWords(pattern: string): fc.Arbitrary<string> {
  try {
    const arbitrary = fc.stringMatching(new RegExp(pattern, "u"));
    fc.sample(arbitrary, 1);
    return arbitrary;
  } catch {
    return fc.stringMatching(/^[a-z0-9]{1,12}$/);
  }
}

function conformingString(schema: JsonSchema): fc.Arbitrary<string> {
  if (schema.format === "uuid") return fc.uuid();
  if (schema.format === "email") return fc.uuid().map((id) => `fuzz-${id}@example.com`);
  if (schema.format === "uri") return fc.constantFrom("https://example.com/a.webm", "http://localhost/x");
  if (schema.pattern) return stringMatchingOrWords(schema.pattern);
  const minLength = schema.minLength ?? 0;
  return fc.string({ minLength, maxLength: Math.max(minLength, Math.min(schema.maxLength ?? 30, 30)) });
}

/** Values the schema accepts (roughly: formats and patterns are approximated). */
export function conforming(document: OpenApiDocument, schema: JsonSchema, depth = 0): fc.Arbitrary<unknown> {
  const resolved = resolveSchema(document, schema);
  if (resolved.enum) return fc.constantFrom(...resolved.enum);
  const branches = resolved.oneOf ?? resolved.anyOf;
  if (branches) return fc.oneof(...branches.map((branch) => conforming(document, branch, depth + 1)));
  const types = Array.isArray(resolved.type) ? resolved.type : resolved.type ? [resolved.type] : [];
  if (types.length > 1) return fc.oneof(...types.map((type) => conforming(document, { ...resolved, type }, depth)));
  switch (types[0]) {
    case "null":
      return fc.constant(null);
    case "boolean":
      return fc.boolean();
    case "integer":
      return fc.integer({ min: resolved.minimum ?? -1000, max: resolved.maximum ?? 1000 });
    case "number":
      return fc.double({ min: resolved.minimum ?? -1000, max: resolved.maximum ?? 1000, noNaN: true });
    case "string":
      return conformingString(resolved);
    case "array":
      if (depth > 3) return fc.constant([]);
      return fc.array(conforming(document, resolved.items ?? {}, depth + 1), {
        maxLength: Math.min(resolved.maxItems ?? 5, 5),
      });
    case "object": {
      const properties = Object.entries(resolved.properties ?? {});
      if (depth > 3 || properties.length === 0) return fc.constant({});
      const model = Object.fromEntries(
        properties.map(([name, property]) => [name, conforming(document, property, depth + 1)]),
      );
      return fc.record(model, { requiredKeys: resolved.required ?? [] });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function nested(depth: number, leaf: unknown): unknown {
  let value = leaf;
  for (let level = 0; level < depth; level++) value = { a: value };
  return value;
}

/** Strings a careless handler or a database could choke on. */
export const nastyStrings: readonly string[] = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\uD800",
  "\uDFFF",
  "x\uDC00y",
  "%00",
  "\u202Eevil",
  "😀".repeat(200),
  "a".repeat(5000),
  "<script>alert(1)</script>",
  "' OR '1'='1' --",
  "\\",
  "%",
  "_",
  "../../etc/passwd",
  "null",
  "NaN",
  "-1",
  "1e309",
  "Ａｚｉｚａ",
  "\r\n\t",
  "e\u0301",
];

export const nastyNumbers: readonly number[] = [
  0,
  -1,
  1.5,
  -0.5,
  0.1,
  2 ** 31,
  -(2 ** 31),
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  1e21,
];

/** Any JSON value, most of them of the wrong type or range for whatever field they land in. */
export function junkValue(): fc.Arbitrary<unknown> {
  const arbitraries: fc.Arbitrary<unknown>[] = [
    fc.constantFrom<unknown>(null, true, false, [], {}, [null], [{}], { "": "" }),
    fc.constantFrom(...nastyStrings),
    fc.constantFrom(...nastyNumbers),
    fc.jsonValue({ maxDepth: 3 }),
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.constantFrom(nested(200, 1), nested(50, [])),
  ];
  return fc.oneof(...arbitraries);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A valid-looking body with one thing wrong: a field missing, of the wrong type, or one too many. */
function mutated(base: unknown, fieldNames: string[]): fc.Arbitrary<unknown> {
  if (!isRecord(base)) return junkValue();
  const names = [...new Set([...Object.keys(base), ...fieldNames])];
  const field = names.length > 0 ? fc.constantFrom(...names) : fc.constant("field");
  const unknownField = fc.constantFrom("extra", "__proto__", "constructor", "role", "id", "user_id", "status", "");
  return fc.oneof(
    field.map((name) => Object.fromEntries(Object.entries(base).filter(([key]) => key !== name))),
    fc.tuple(field, junkValue()).map(([name, value]) => ({ ...base, [name]: value })),
    fc.tuple(unknownField, junkValue()).map(([name, value]) => ({ ...base, [name]: value })),
  );
}

/** JSON number literals that `JSON.stringify` cannot produce: out of range, or spelled oddly. */
const rawNumbers = ["1e400", "-1e400", "1e-400", "123456789012345678901234567890", "1.0", "-0", "1E2", "0.1e1"];

/** Bodies sent as `application/json` that are not JSON. */
const notJson = [
  "",
  " ",
  "{",
  "}",
  '{"a":',
  "[1,]",
  "{'a':1}",
  "nul",
  "undefined",
  "NaN",
  '{"a":1}}',
  "\u0000",
  "\uFEFF{}",
  '"unterminated',
  "[".repeat(10_000),
  '{"a":'.repeat(5000),
  `${"[".repeat(10_000)}${"]".repeat(10_000)}`,
];

const otherContentTypes = [
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/xml",
  "application/json; charset=utf-16",
  "APPLICATION/JSON",
  "application/jsonx",
  "application/merge-patch+json",
  "application/problem+json",
  "*/*",
];

export interface FuzzBody {
  contentType?: string;
  body?: string;
}

const asJson = (value: unknown): FuzzBody => ({ contentType: "application/json", body: JSON.stringify(value) });

/**
 * Bodies for an operation: valid-looking ones (generated from the schema, its example, or
 * `bases` the test knows to be valid) so that requests reach the handler, and broken ones.
 */
export function bodyArbitrary(
  document: OpenApiDocument,
  schema: JsonSchema | undefined,
  bases: unknown[],
): fc.Arbitrary<FuzzBody> {
  const resolved = schema ? resolveSchema(document, schema) : undefined;
  const fieldNames = [
    ...new Set(
      [resolved, ...(resolved?.oneOf ?? [])].flatMap((part) =>
        part ? Object.keys(resolveSchema(document, part).properties ?? {}) : [],
      ),
    ),
  ];
  const examples = [resolved?.example, ...bases].filter((example) => example !== undefined);
  const valid = fc.oneof(
    ...(resolved ? [conforming(document, resolved)] : [fc.constant({})]),
    ...(examples.length > 0 ? [fc.constantFrom(...examples)] : []),
  );
  const rawNumber = fc
    .tuple(valid, fc.constantFrom(...fieldNames, "extra"), fc.constantFrom(...rawNumbers))
    .map(([base, name, raw]) => ({
      contentType: "application/json",
      body: JSON.stringify({ ...(isRecord(base) ? base : {}), [name]: "__raw__" }).replace('"__raw__"', raw),
    }));
  const duplicateKey = fc
    .tuple(valid, fc.constantFrom(...fieldNames, "extra"), junkValue())
    .map(([base, name, value]) => ({
      contentType: "application/json",
      body: `${JSON.stringify(base).replace(/}$/, "")}${isRecord(base) && Object.keys(base).length > 0 ? "," : ""}${JSON.stringify(name)}:${JSON.stringify(value)}}`,
    }));
  return fc.oneof(
    { weight: 3, arbitrary: valid.map(asJson) },
    { weight: 6, arbitrary: valid.chain((base) => mutated(base, fieldNames)).map(asJson) },
    { weight: 2, arbitrary: junkValue().map(asJson) },
    { weight: 1, arbitrary: rawNumber },
    { weight: 1, arbitrary: duplicateKey },
    { weight: 2, arbitrary: fc.constantFrom(...notJson).map((body) => ({ contentType: "application/json", body })) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.option(fc.constantFrom(...otherContentTypes), { nil: undefined }), valid)
        .map(([contentType, value]) => ({ contentType, body: JSON.stringify(value) })),
    },
    { weight: 1, arbitrary: fc.constant({ contentType: "application/json" }) },
    // Over MAX_BODY_BYTES (100 KiB by default).
    { weight: 1, arbitrary: fc.constant(asJson({ text: "a".repeat(110_000) })) },
  );
}

/** Percent-encodes any string, lone surrogates included (as U+FFFD: they have no UTF-8). */
export const encode = (value: string): string => encodeURIComponent(value.toWellFormed());

const base64Url = (text: string): string =>
  btoa(String.fromCharCode(...new TextEncoder().encode(text)))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");

/** Cursors shaped like the API's own (base64url JSON) that point somewhere odd. */
export function forgedCursor(): fc.Arbitrary<string> {
  const at = fc.constantFrom(
    "0000-01-01T00:00:00Z",
    "0000-12-31T23:59:59.999Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999Z",
    "1970-01-01T00:00:00Z",
    "2024-02-29T12:00:00.123456789Z",
    "2024-13-01T00:00:00Z",
    "not a date",
  );
  const id = fc.oneof(fc.uuid(), fc.constantFrom("00000000-0000-0000-0000-000000000000", "x", ""));
  const offset = fc.constantFrom<unknown>(-1, 0, 1.5, 10_000, 10_001, 2 ** 53, "1", null);
  return fc.oneof(
    { weight: 3, arbitrary: fc.tuple(at, id).map(([value, key]) => base64Url(JSON.stringify({ at: value, id: key }))) },
    offset.map((value) => base64Url(JSON.stringify({ offset: value }))),
    fc.constantFrom("", "null", "[]", "{}", '{"at":1e400}', "\u0000").map(base64Url),
    fc.string({ unit: "binary-ascii", maxLength: 40 }).map(encode),
    fc.constantFrom("====", "!!!", "a", "%00", "%ED%A0%80", "a".repeat(600)),
  );
}

/** Query values, already percent-encoded, that no documented parameter accepts as they are. */
const junkQueryValues = [
  "0x10",
  "1e2",
  "%205",
  "5%20",
  "-1",
  "0",
  "101",
  "1.5",
  "999999999999",
  "99999999999999999999999",
  "Infinity",
  "NaN",
  "+1",
  "abc",
  "",
  "%00",
  "a%00b",
  "%ED%A0%80",
  "%ED%B0%80",
  "%C0%AF",
  "%FF",
  "%",
  "%zz",
  "%E2%80%AE",
  "null",
  "undefined",
  "%5B%5D",
  "1,2",
  ",,,",
  "a".repeat(5000),
];

/** Values the parameter's schema documents as valid: its enum, example, default and integer bounds. */
function documentedValues(schema: JsonSchema | undefined): string[] {
  if (!schema) return [];
  const values = [...(schema.enum ?? []), schema.example, schema.default, schema.minimum, schema.maximum].filter(
    (value): value is string | number | boolean =>
      typeof value === "string" || typeof value === "number" || typeof value === "boolean",
  );
  return values.map((value) => encode(String(value)));
}

/** Just past the parameter's integer bounds. */
function outOfBounds(schema: JsonSchema | undefined): string[] {
  if (schema?.type !== "integer") return [];
  return [
    ...(schema.minimum === undefined ? [] : [schema.minimum - 1]),
    ...(schema.maximum === undefined ? [] : [schema.maximum + 1]),
  ].map(String);
}

/** One parameter as a valid client would send it: a known-good value, or left out when it may be. */
function wellFormedPairs(parameter: Parameter, valid: string[]): fc.Arbitrary<string[]> {
  const name = encode(parameter.name);
  const values = [...valid.map(encode), ...documentedValues(parameter.schema)];
  const sent = values.length > 0 ? fc.constantFrom(...values) : fc.constant("x");
  return fc.oneof(
    ...(parameter.required ? [] : [fc.constant<string[]>([])]),
    sent.map((value) => [`${name}=${value}`]),
  );
}

/** One parameter as nobody should send it: junk, a forged cursor, repeated, or without a value. */
function brokenPairs(parameter: Parameter): fc.Arbitrary<string[]> {
  const name = encode(parameter.name);
  const value = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...junkQueryValues, ...outOfBounds(parameter.schema)) },
    { weight: parameter.name === "cursor" ? 6 : 1, arbitrary: forgedCursor() },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 30 }).map(encode) },
  );
  return fc.oneof(
    { weight: 6, arbitrary: value.map((v) => [`${name}=${v}`]) },
    { weight: 1, arbitrary: fc.tuple(value, value).map(([a, b]) => [`${name}=${a}`, `${name}=${b}`]) },
    { weight: 1, arbitrary: fc.constant<string[]>([name, `${name}[]=1`]) },
  );
}

const junkQueryTails = ["", "", "", "", "foo=bar", "&&", "=x", "%=%", "a%00=1", "%ED%A0%80=1", "__proto__=1"];

/**
 * A query string (without `?`) for the documented query parameters, plus the odd stray one.
 * Mostly one parameter is broken and the others are valid, so that its value is not refused
 * for another's sake before it reaches the handler; sometimes anything goes.
 */
export function queryArbitrary(parameters: Parameter[], valid: Record<string, string[]>): fc.Arbitrary<string> {
  const variants = parameters
    .filter((parameter) => parameter.in === "query")
    .map((parameter) => ({
      wellFormed: wellFormedPairs(parameter, valid[parameter.name] ?? []),
      broken: brokenPairs(parameter),
    }));
  const tail = fc.constantFrom(...junkQueryTails);
  if (variants.length === 0) return tail;
  const oneBroken = fc
    .nat({ max: variants.length - 1 })
    .chain((index) => fc.tuple(...variants.map((variant, at) => (at === index ? variant.broken : variant.wellFormed))));
  const anything = fc.tuple(
    ...variants.map(({ wellFormed, broken }) => fc.oneof(wellFormed, broken, fc.constant<string[]>([]))),
  );
  return fc
    .tuple(fc.oneof({ weight: 3, arbitrary: oneBroken }, { weight: 1, arbitrary: anything }), tail)
    .map(([pairs, extra]) => [...pairs.flat(), ...(extra ? [extra] : [])].join("&"));
}

/** Path values, already percent-encoded, that are no id of anything. */
const junkPathValues = [
  "not-a-uuid",
  "0",
  "-1",
  "00000000-0000-0000-0000-000000000000",
  "ffffffff-ffff-ffff-ffff-ffffffffffff",
  "6F1D2A9C-3B4E-4F5A-8B6C-7D8E9F0A1B2C",
  "%00",
  "%ED%A0%80",
  "%FF",
  "%",
  "%25",
  "%2F",
  "%2E%2E",
  "a".repeat(5000),
  encode("ünïcødé 😀"),
  encode("' OR 1=1 --"),
  "null",
  "%20",
  "{id}",
];

/** Fills the path's `{…}` with real ids (so bodies and queries reach the handler) or junk. */
export function pathArbitrary(path: string, realIds: string[]): fc.Arbitrary<string> {
  const names = pathParameterNames(path);
  if (names.length === 0) return fc.constant(path);
  const segment = fc.oneof(
    ...(realIds.length > 0
      ? [
          { weight: 6, arbitrary: fc.constantFrom(...realIds) },
          {
            weight: 1,
            arbitrary: fc
              .tuple(fc.constantFrom(...realIds), fc.constantFrom("%00", "x", "%20", "/", "%2F.."))
              .map(([id, tail]) => `${id}${tail}`),
          },
          // The same id spelled in capitals: still that id to Postgres, but not to a string comparison.
          { weight: 2, arbitrary: fc.constantFrom(...realIds).map((id) => id.toUpperCase()) },
        ]
      : []),
    { weight: 2, arbitrary: fc.uuid() },
    { weight: 3, arbitrary: fc.constantFrom(...junkPathValues) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }).map(encode) },
  );
  return fc
    .array(segment, { minLength: names.length, maxLength: names.length })
    .map((values) => names.reduce((filled, name, index) => filled.replace(`{${name}}`, values[index] ?? ""), path));
}

export interface FuzzRequest {
  method: string;
  path: string;
  /** Without the `?`; already percent-encoded. */
  query: string;
  contentType?: string;
  body?: string;
}

const shorten = (text: string, max = 400): string =>
  text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;

export function describeRequest(request: FuzzRequest): string {
  const lines = [`${request.method} ${shorten(request.path)}${request.query ? `?${shorten(request.query)}` : ""}`];
  if (request.contentType !== undefined) lines.push(`content-type: ${request.contentType}`);
  if (request.body !== undefined) lines.push(`body: ${JSON.stringify(shorten(request.body))}`);
  return lines.join("\n");
}

/** Requests for one operation; fast-check prints a counterexample as the request itself. */
export function requestArbitrary(
  document: OpenApiDocument,
  operation: DocumentedOperation,
  inputs: { ids: string[]; bodies: unknown[]; query: Record<string, string[]> },
): fc.Arbitrary<FuzzRequest> {
  const { method, path } = operation;
  const schema = operation.operation.requestBody?.content?.["application/json"]?.schema;
  // GET cannot carry a body; other methods without a documented body still get some, which must be ignored.
  const body =
    method === "get"
      ? fc.constant<FuzzBody>({})
      : schema
        ? bodyArbitrary(document, schema, inputs.bodies)
        : fc.oneof({ weight: 3, arbitrary: fc.constant<FuzzBody>({}) }, bodyArbitrary(document, undefined, []));
  return fc
    .tuple(pathArbitrary(path, inputs.ids), queryArbitrary(operation.operation.parameters ?? [], inputs.query), body)
    .map(([filledPath, query, { contentType, body: text }]) => {
      const request: FuzzRequest = { method: method.toUpperCase(), path: filledPath, query };
      if (contentType !== undefined) request.contentType = contentType;
      if (text !== undefined) request.body = text;
      Object.defineProperty(request, fc.toStringMethod, { value: () => describeRequest(request) });
      return request;
    });
}

export function send(request: FuzzRequest, headers: Record<string, string>): Promise<Response> {
  const sent = new Headers(headers);
  if (request.contentType !== undefined) sent.set("content-type", request.contentType);
  return api(`${request.path}${request.query ? `?${request.query}` : ""}`, {
    method: request.method,
    headers: sent,
    // A redirect is the answer under test; following it would ask the Worker for Google's page.
    redirect: "manual",
    // Bytes, so that no content-type is added when the request has none.
    body: request.body === undefined ? undefined : new TextEncoder().encode(request.body),
  });
}

/**
 * What is wrong with an answer, if anything: a 5xx (unless `upstreamMayFail` and it is a
 * 502/503 problem), or an error that is not an RFC 9457 problem with this API's members.
 */
export async function answerFault(response: Response, upstreamMayFail = false): Promise<string | undefined> {
  const text = await response.text();
  const { status } = response;
  const contentType = response.headers.get("content-type") ?? "";
  const seen = `${status} ${contentType}: ${shorten(text, 1000)}`;
  if (status < 400) return undefined;
  if (status >= 500 && !(upstreamMayFail && (status === 502 || status === 503))) return `answered ${seen}`;
  if (!contentType.startsWith("application/problem+json")) return `answered an error that is not a problem: ${seen}`;
  let problem: unknown;
  try {
    problem = JSON.parse(text);
  } catch {
    return `answered a problem that is not JSON: ${seen}`;
  }
  if (!isRecord(problem)) return `answered a problem that is not an object: ${seen}`;
  const faults = [
    ...["type", "title", "detail", "code", "request_id"]
      .filter((member) => typeof problem[member] !== "string")
      .map((member) => `${member} is not a string`),
    ...(problem.status === status ? [] : [`status ${JSON.stringify(problem.status)} is not ${status}`]),
    ...(problem.request_id === "" ? ["request_id is empty"] : []),
  ];
  const { errors } = problem;
  if (
    errors !== undefined &&
    !(
      Array.isArray(errors) &&
      errors.every((error) => isRecord(error) && typeof error.field === "string" && typeof error.message === "string")
    )
  ) {
    faults.push("errors is not an array of {field, message} strings");
  }
  return faults.length > 0 ? `answered a malformed problem (${faults.join("; ")}): ${seen}` : undefined;
}
