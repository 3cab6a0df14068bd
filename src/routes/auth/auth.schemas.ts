import { z } from "@hono/zod-openapi";
import { text } from "../../lib/text";

export const EmailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .pipe(z.email())
  .openapi({ example: "aziza@example.com", description: "Trimmed and lower-cased before use." });

export const UserSchema = z
  .object({
    id: z.uuid(),
    email: z.email(),
    role: z.enum(["user", "admin"]),
    status: z.enum(["active", "suspended"]),
    created_at: z.iso.datetime(),
  })
  .openapi("User");

export const SignInSchema = z
  .object({
    access_token: z.string().openapi({ description: "JWT, valid for `expires_in` seconds." }),
    refresh_token: z.string().openapi({ description: "Opaque; valid 7 days, usable once." }),
    token_type: z.literal("Bearer"),
    expires_in: z.number().int().openapi({ example: 900 }),
    user: UserSchema,
  })
  .openapi("SignIn");

export const RefreshTokenBodySchema = z
  .object({ refresh_token: text().min(1).max(512) })
  .openapi("RefreshTokenBody", { example: { refresh_token: "q7Vd…" } });

export const LogoutSchema = RefreshTokenBodySchema.extend({
  everywhere: z
    .boolean()
    .default(false)
    .openapi({ description: "Sign out every device of the account, not only this one." }),
}).openapi("Logout", { example: { refresh_token: "q7Vd…", everywhere: false } });
