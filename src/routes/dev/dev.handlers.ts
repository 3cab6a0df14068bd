import { ApiError } from "../../lib/errors";
import type { AppRouteHandler } from "../../lib/types";
import { DevMailSchema, type MailboxRoute } from "./dev.routes";

export const mailbox: AppRouteHandler<MailboxRoute> = async (c) => {
  const { mail } = c.get("config");
  if (!mail.baseUrl) {
    throw new ApiError("SERVICE_UNAVAILABLE", { detail: "RESEND_BASE_URL does not point at a local mailbox." });
  }
  const { email } = c.req.valid("query");
  const response = await fetch(`${mail.baseUrl}/mailbox?email=${encodeURIComponent(email)}`, {
    headers: { authorization: `Bearer ${mail.apiKey}` },
  });
  if (!response.ok) {
    throw new ApiError("SERVICE_UNAVAILABLE", { detail: `The local mailbox answered ${response.status}.` });
  }
  const items = DevMailSchema.array().parse(await response.json());
  return c.json({ items }, 200);
};
