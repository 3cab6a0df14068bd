import { createRoute, type RouteConfig, z } from "@hono/zod-openapi";
import { requireJsonBody } from "../middleware/json-body";
import { type ErrorCode, errorCatalog, problemType } from "./errors";

export const ProblemSchema = z
  .object({
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
    limit: z
      .string()
      .optional()
      .openapi({ description: "On a 429: the limit that refused the request.", example: "messages" }),
  })
  .openapi("Problem", { description: "An RFC 9457 problem document." });

const problemContent = { "application/problem+json": { schema: ProblemSchema } };

/** A declared error response for a route's `responses`. */
export function problem(description: string) {
  return { description, content: problemContent };
}

/** A 503: something the request needs is unavailable; `Retry-After` says how soon to try again. */
export function unavailable(description: string) {
  return {
    description,
    headers: {
      "Retry-After": { description: "Seconds to wait before trying again.", schema: { type: "integer" as const } },
    },
    content: problemContent,
  };
}

/**
 * A 429 of a rate-limited route: the problem names the limit that refused (`limit`), and the
 * headers describe that limit (the IETF RateLimit fields draft) and when to try again.
 */
export function rateLimited(description: string) {
  return {
    description,
    headers: {
      "Retry-After": {
        description: "Seconds until the limit that refused lets a request through.",
        schema: { type: "integer" as const },
      },
      RateLimit: {
        description: "`limit=<n>, remaining=0, reset=<seconds>` of the limit that refused.",
        schema: { type: "string" as const },
      },
      "RateLimit-Policy": {
        description: "`<n>;w=<window in seconds>` of the limit that refused.",
        schema: { type: "string" as const },
      },
    },
    content: problemContent,
  };
}

/** Errors any route can answer with; spread into every route's `responses`. */
export const commonErrorResponses = {
  400: problem("The request is not valid; `errors` lists each field."),
  413: problem("The body is larger than the API accepts."),
  415: problem("The body is not `application/json`."),
  500: problem("Something failed on the server; quote `request_id`."),
} as const;

const dependencyUnavailable = unavailable(
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
    responses: {
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
    },
  });
}

export function jsonContent<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/** A required JSON request body: without `required`, a non-JSON request would skip validation. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { "application/json": { schema } } };
}
