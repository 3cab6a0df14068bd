import { z } from "@hono/zod-openapi";
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
  })
  .openapi("Problem", { description: "An RFC 9457 problem document." });

const problemContent = { "application/problem+json": { schema: ProblemSchema } };

/** A declared error response for a route's `responses`. */
export function problem(description: string) {
  return { description, content: problemContent };
}

/** Errors any route can answer with; spread into every route's `responses`. */
export const commonErrorResponses = {
  400: problem("The request is not valid; `errors` lists each field."),
  413: problem("The body is larger than the API accepts."),
  415: problem("The body is not JSON."),
  500: problem("Something failed on the server; quote `request_id`."),
} as const;

export function jsonContent<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/** A required JSON request body: without `required`, a non-JSON request would skip validation. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { "application/json": { schema } } };
}
