import { z } from "@hono/zod-openapi";
import { idSchema } from "../../lib/ids";
import { commonErrorResponses, defineRoute, jsonContent, problem } from "../../lib/openapi";
import { PageQuerySchema } from "../../lib/pagination";
import { authenticated } from "../../middleware/auth";

const tags = ["Safety"];
const unauthorized = problem("No valid access token (`TOKEN_EXPIRED` when it has expired: refresh it, then retry).");
const UserParamsSchema = z.object({ id: idSchema().openapi({ param: { name: "id", in: "path" } }) });

export const block = defineRoute({
  operationId: "blockUser",
  method: "post",
  path: "/users/{id}/block",
  tags,
  summary: "Block a user",
  description: "Idempotent. The two are never matched again, and any session they are in together ends at once.",
  ...authenticated,
  request: { params: UserParamsSchema },
  responses: {
    204: { description: "Blocked." },
    400: problem("You cannot block yourself."),
    401: unauthorized,
    403: problem("The account is suspended."),
    404: problem("No such user."),
    500: commonErrorResponses[500],
  },
});

export const unblock = defineRoute({
  operationId: "unblockUser",
  method: "delete",
  path: "/users/{id}/block",
  tags,
  summary: "Unblock a user",
  description: "Idempotent: 204 whether or not the user was blocked.",
  ...authenticated,
  request: { params: UserParamsSchema },
  responses: {
    204: { description: "Not blocked (any more)." },
    400: problem("You cannot unblock yourself."),
    401: unauthorized,
    500: commonErrorResponses[500],
  },
});

export const BlockedUserSchema = z
  .object({ user_id: z.uuid(), display_name: z.string().nullable(), blocked_at: z.iso.datetime() })
  .openapi("BlockedUser");

export const list = defineRoute({
  operationId: "listBlocks",
  method: "get",
  path: "/me/blocks",
  tags,
  summary: "Users I blocked, newest first",
  ...authenticated,
  request: { query: PageQuerySchema },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(BlockedUserSchema), next_cursor: z.string().nullable() }).openapi("BlockedUserPage"),
      "A page of blocked users.",
    ),
    400: commonErrorResponses[400],
    401: unauthorized,
    500: commonErrorResponses[500],
  },
});

export type BlockRoute = typeof block;
export type UnblockRoute = typeof unblock;
export type ListRoute = typeof list;
