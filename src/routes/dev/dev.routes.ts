import { z } from "@hono/zod-openapi";
import { commonErrorResponses, defineRoute, jsonContent, problem } from "../../lib/openapi";

/** A mail as the local mailbox keeps it (Resend's `POST /emails` body, with its id and time). */
export const StoredMailSchema = z.object({
  id: z.string(),
  from: z.string(),
  to: z.array(z.string()),
  subject: z.string(),
  text: z.string().optional(),
  html: z.string().optional(),
  tags: z.array(z.object({ name: z.string(), value: z.string() })).default([]),
  created_at: z.string(),
});

export const DevMailSchema = StoredMailSchema.omit({ tags: true })
  .extend({
    login_id: z.string().nullable().openapi({ description: "The sign-in a code mail belongs to." }),
  })
  .openapi("DevMail");

export const mailbox = defineRoute({
  operationId: "readDevMailbox",
  method: "get",
  path: "/dev/mailbox",
  // Development only: kept out of the published document.
  hide: true,
  tags: ["Development"],
  summary: "Mails the local mailbox received for one address, newest first",
  request: {
    query: z.object({ email: z.email().transform((email) => email.trim().toLowerCase()) }),
  },
  responses: {
    200: jsonContent(z.object({ items: z.array(DevMailSchema) }), "The address's mails, newest first."),
    400: commonErrorResponses[400],
    404: problem("Not in development."),
    503: problem("No local mailbox is configured."),
  },
});

export type MailboxRoute = typeof mailbox;
