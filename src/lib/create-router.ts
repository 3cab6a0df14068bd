import { OpenAPIHono } from "@hono/zod-openapi";
import type { z } from "zod";
import { ApiError, type FieldError } from "./errors";
import type { AppBindings, AppOpenAPI } from "./types";

const targetNames: Record<string, string> = { json: "body", query: "query", param: "path", header: "header" };

export function fieldErrors(error: z.ZodError, target: string): FieldError[] {
  const prefix = targetNames[target] ?? target;
  return error.issues.flatMap((issue) => {
    const path = [prefix, ...issue.path.map(String)];
    // A refused extra field is reported at that field, like any other bad field.
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({ field: [...path, key].join("."), message: "is not a field you can set" }));
    }
    return [{ field: path.join("."), message: issue.message }];
  });
}

/** Every router shares one validation hook, so every invalid request gets the same problem shape. */
export function createRouter(): AppOpenAPI {
  return new OpenAPIHono<AppBindings>({
    strict: false,
    defaultHook: (result) => {
      if (!result.success) {
        const errors = fieldErrors(result.error, result.target);
        throw new ApiError("VALIDATION_FAILED", {
          detail: errors.map((error) => `${error.field}: ${error.message}`).join("; "),
          errors,
        });
      }
    },
  });
}
