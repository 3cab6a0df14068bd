import { createRoute, type RouteConfig, z } from "@hono/zod-openapi";
import { requireJsonBody } from "../middleware/json-body";
import { type ErrorCode, errorCatalog, problemType } from "./errors";

/**
 * Every extension member of the catalogue as one optional property of `Problem`, described by the
 * codes that carry it: `attempt_id` is "On `ALREADY_QUEUED`, …; on `CONFLICT`, …".
 */
function extensionProperties(): Record<string, z.ZodType> {
  const members = new Map<string, { schema: z.ZodType; uses: string[] }>();
  for (const [code, entry] of Object.entries(errorCatalog)) {
    if (!("extensions" in entry)) continue;
    for (const [name, member] of Object.entries(entry.extensions.shape as Record<string, z.ZodType>)) {
      const inner = member instanceof z.ZodOptional ? (member.unwrap() as z.ZodType) : member;
      const description = member.description ?? inner.description;
      const known = members.get(name) ?? { schema: inner, uses: [] };
      known.uses.push(`on \`${code}\`${description ? `, ${description}` : ""}`);
      members.set(name, known);
    }
  }
  return Object.fromEntries(
    [...members].map(([name, { schema, uses }]) => {
      const text = uses.join("; ");
      return [name, schema.optional().openapi({ description: `${text[0]?.toUpperCase()}${text.slice(1)}.` })];
    }),
  );
}

export const ProblemSchema = z
  .strictObject({
    type: z.string().openapi({ example: problemType("VALIDATION_FAILED") }),
    title: z.string().openapi({ example: errorCatalog.VALIDATION_FAILED.title }),
    status: z.number().int().openapi({ example: 400 }),
    detail: z.string().openapi({ example: "body.email: Invalid email address" }),
    code: z.enum(Object.keys(errorCatalog) as [ErrorCode, ...ErrorCode[]]).openapi({ example: "VALIDATION_FAILED" }),
    request_id: z.string().openapi({ example: "3f0c6a43-5e0a-4b7e-a3c4-8d1f6f0e2b9a" }),
    errors: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .openapi({ example: [{ field: "body.email", message: "Invalid email address" }] }),
    ...extensionProperties(),
  })
  .openapi("Problem", {
    description: "An RFC 9457 problem document. `code` says which extension members it carries, if any.",
  });

const problemContent = { "application/problem+json": { schema: ProblemSchema } };

/** A declared error response for a route's `responses`. */
export function problem(description: string) {
  return { description, content: problemContent };
}

/**
 * The response headers the API sets, declared once as `components.headers` and referenced by
 * each response that can carry them (`declareResponseHeaders`). Headers every HTTP answer may carry
 * alike (`Content-Type`, `Content-Length`, CORS, the security headers) are not listed: see
 * docs/contract.md.
 */
export const responseHeaders = {
  "X-Request-Id": {
    description:
      "The request's id: the client's own `X-Request-Id` when it is 1–128 safe characters, else a UUID we made. " +
      "Problems repeat it as `request_id`; quote it when reporting a fault.",
    schema: { type: "string", maxLength: 128, example: "3f0c6a43-5e0a-4b7e-a3c4-8d1f6f0e2b9a" },
  },
  "Server-Timing": {
    description:
      'W3C Server Timing: `db;desc="<n> statements, <m> round trips"`, what the request cost the database; ' +
      '`redis;desc="<n> requests, <m> commands"`, what it asked of Redis; `do;desc="<n> calls"`, the Durable ' +
      'Object calls it started (pushes after the answer included); `total;desc="<n> round trips"`, the ' +
      "round trips to both it made one after another (overlapping ones count once). Absent on a WebSocket upgrade.",
    schema: {
      type: "string",
      example:
        'db;desc="1 statements, 1 round trips", redis;desc="1 requests, 1 commands", do;desc="0 calls", ' +
        'total;desc="1 round trips"',
    },
  },
  "Retry-After": {
    description:
      "RFC 9110 §10.2.3, in seconds: on a 429, when the limit that refused lets a request through; on a 503, how " +
      "soon to try again.",
    schema: { type: "integer", minimum: 1, example: 2 },
  },
  RateLimit: {
    description:
      "IETF RateLimit header fields draft: `limit=<n>, remaining=<n>, reset=<seconds>` of the limit this caller is " +
      "closest to (on a 429, of the limit that refused).",
    schema: { type: "string", example: "limit=30, remaining=29, reset=60" },
  },
  "RateLimit-Policy": {
    description: "IETF RateLimit header fields draft: `<n>;w=<window in seconds>` of the limit `RateLimit` describes.",
    schema: { type: "string", example: "30;w=60" },
  },
  "WWW-Authenticate": {
    description:
      'RFC 6750 §3: `Bearer realm="gaplash"`, with `error="invalid_token"` and an `error_description` when a ' +
      "token was sent and refused.",
    schema: { type: "string", example: 'Bearer realm="gaplash", error="invalid_token"' },
  },
  Accept: {
    description: "RFC 9110 §12.5.1: on a 415, the media type the route takes: `application/json`.",
    schema: { type: "string", example: "application/json" },
  },
  Location: {
    description: "RFC 9110 §10.2.2: where the redirect leads.",
    schema: { type: "string", format: "uri" },
  },
  "Set-Cookie": {
    description:
      "RFC 6265: the signed, HttpOnly `gaplash_google_oauth` cookie of a Google sign-in (`state` and the PKCE verifier, " +
      "10 minutes, path `/auth/google`), set by the login and cleared by the callback. No other route sets a cookie.",
    schema: { type: "string" },
  },
  Allow: {
    description:
      "RFC 9110 §10.2.1: on a 405, the methods the path answers. It is the answer to a method a path has no " +
      "operation for, so no operation lists it.",
    schema: { type: "string", example: "GET, PATCH" },
  },
} as const satisfies Record<string, { description: string; schema: Record<string, unknown> }>;

export type ResponseHeader = keyof typeof responseHeaders;

/**
 * The names of the headers a response of `status` can carry (`responseHeaders`): the request id
 * and the database's Server-Timing on every one; `WWW-Authenticate` on a 401; `Accept` on a 415;
 * `Retry-After` on a
 * 429 or 503; and `RateLimit`/`RateLimit-Policy` on every answer of a rate-limited route, since
 * the limits are counted before the route decides.
 */
export function headersOf(status: number, route: { rateLimited: boolean }): ResponseHeader[] {
  return [
    "X-Request-Id",
    ...(status === 101 ? [] : (["Server-Timing"] as const)),
    ...(status === 401 ? (["WWW-Authenticate"] as const) : []),
    ...(status === 415 ? (["Accept"] as const) : []),
    ...(status === 429 || status === 503 ? (["Retry-After"] as const) : []),
    ...(route.rateLimited ? (["RateLimit", "RateLimit-Policy"] as const) : []),
  ];
}

type Responses = RouteConfig["responses"];
type Response = Exclude<Responses[string], { $ref: string }>;

const headerRefs = (names: ResponseHeader[]) =>
  Object.fromEntries(names.map((name) => [name, { $ref: `#/components/headers/${name}` }]));

/** `response`, declared to carry `names` as well as the headers of its status (`headersOf`). */
export function carrying<const T extends Response>(response: T, ...names: ResponseHeader[]): T {
  return { ...response, headers: { ...response.headers, ...headerRefs(names) } };
}

/** `responses` with each one's headers (`headersOf`, and its own) referenced from `components.headers`. */
export function declareResponseHeaders<const T extends Responses>(responses: T): T {
  const route = { rateLimited: "429" in responses };
  return Object.fromEntries(
    Object.entries(responses).map(([status, response]) => [
      status,
      "$ref" in response
        ? response
        : { ...response, headers: { ...headerRefs(headersOf(Number(status), route)), ...response.headers } },
    ]),
  ) as T;
}

/** Errors any route can answer with; spread into every route's `responses`. */
export const commonErrorResponses = {
  400: problem("The request is not valid; `errors` lists each field."),
  413: problem("The body is larger than the API accepts."),
  415: problem("The body is not `application/json`."),
  500: problem("Something failed on the server; quote `request_id`."),
} as const;

const dependencyUnavailable = problem(
  "A dependency (Postgres, Redis, object storage, mail, a Durable Object) did not answer in time; `dependency` " +
    "names it. Nothing was changed; try again shortly.",
);

/**
 * `createRoute` with the answers every route of its kind can give, so that the document lists
 * each status a client may see: 400 when it takes input, 401 and 403 behind a bearer token, 413
 * (the body limit comes before routing), 415 when it takes a JSON body, 500, and 503 when a
 * dependency does not answer. A route's own entry for a status wins. A route without `security`
 * is public and says so (`security: []`). A route that takes a JSON body takes it only as
 * `application/json`.
 */
export function defineRoute<const R extends RouteConfig>(config: R) {
  const bearer = config.security?.some((requirement) => "bearerAuth" in requirement) ?? false;
  const middleware = config.middleware === undefined ? [] : [config.middleware].flat();
  return createRoute({
    ...config,
    // After authentication, so that a stranger learns nothing about the body it sent.
    middleware: config.request?.body ? [...middleware, requireJsonBody] : middleware,
    security: config.security ?? [],
    responses: declareResponseHeaders({
      ...(config.request ? { 400: commonErrorResponses[400] } : {}),
      ...(bearer
        ? {
            401: problem(
              "No valid access token (`TOKEN_EXPIRED` when it has expired: refresh it, then retry); `WWW-Authenticate` says why.",
            ),
            403: problem("The account is suspended."),
          }
        : {}),
      413: commonErrorResponses[413],
      ...(config.request?.body ? { 415: commonErrorResponses[415] } : {}),
      500: commonErrorResponses[500],
      503: dependencyUnavailable,
      ...config.responses,
    }),
  });
}

export function jsonContent<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/** A required JSON request body: without `required`, a non-JSON request would skip validation. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { "application/json": { schema } } };
}
