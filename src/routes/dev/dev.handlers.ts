import { ApiError } from "../../lib/errors";
import type { AppRouteHandler } from "../../lib/types";
import { type MailboxRoute, StoredMailSchema } from "./dev.routes";

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
  const items = StoredMailSchema.array()
    .parse(await response.json())
    .map(({ tags, ...mail }) => ({ ...mail, login_id: tags.find((tag) => tag.name === "login_id")?.value ?? null }));
  return c.json({ items }, 200);
};
