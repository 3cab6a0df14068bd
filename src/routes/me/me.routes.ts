import { z } from "@hono/zod-openapi";
import { idSchema } from "../../lib/ids";
import { commonErrorResponses, defineRoute, jsonBody, jsonContent, problem } from "../../lib/openapi";
import { authenticated, authenticatedLimited, authenticatedRead } from "../../middleware/auth";
import { AvatarUploadBodySchema } from "../uploads/uploads.schemas";
import { AvatarUploadSchema, MeSchema, ProfilePatchSchema } from "./me.schemas";

const tags = ["Profile"];
const unauthorized = problem(
  "No valid access token (`TOKEN_EXPIRED` when it has expired: refresh it, then retry), or the account no longer exists.",
);

export const getMe = defineRoute({
  operationId: "getMe",
  method: "get",
  path: "/me",
  tags,
  summary: "My account, profile and sign-in identities",
  ...authenticatedRead,
  responses: { 200: jsonContent(MeSchema, "The caller."), 401: unauthorized, 500: commonErrorResponses[500] },
});

export const patchMe = defineRoute({
  operationId: "updateMe",
  method: "patch",
  path: "/me",
  tags,
  summary: "Change my profile",
  description: "Only the fields sent change. `role`, `status`, `email` and any other field are refused, not ignored.",
  ...authenticated,
  request: { body: jsonBody(ProfilePatchSchema) },
  responses: { 200: jsonContent(MeSchema, "The caller, changed."), ...commonErrorResponses, 401: unauthorized },
});

export const deleteMe = defineRoute({
  operationId: "deleteMe",
  method: "delete",
  path: "/me",
  tags,
  summary: "Delete my account and personal data",
  description:
    "Deletes the account, profile, identities, tokens, blocks, streak, badges and avatar images. " +
    "Messages already delivered stay in the partner's history with the sender shown as deleted.",
  ...authenticated,
  responses: { 204: { description: "Deleted." }, 401: unauthorized, 500: commonErrorResponses[500] },
});

export const uploadAvatar = defineRoute({
  operationId: "uploadAvatar",
  method: "post",
  path: "/me/avatar",
  tags,
  summary: "Presign an avatar upload and make it my avatar",
  description: "The profile points at the new image at once; PUT it within 5 minutes.",
  ...authenticatedLimited,
  request: { body: jsonBody(AvatarUploadBodySchema) },
  responses: {
    201: jsonContent(AvatarUploadSchema, "Upload the image here."),
    ...commonErrorResponses,
    401: unauthorized,
    429: problem("Too many uploads this hour (30 by default); `Retry-After` says when to try again."),
  },
});

export const acknowledgeNotice = defineRoute({
  operationId: "acknowledgeNotice",
  method: "post",
  path: "/me/notices/{id}/ack",
  tags,
  summary: "Acknowledge a moderation notice",
  description: "`GET /me` stops showing it. Idempotent: acknowledging it again is 204 too.",
  ...authenticated,
  request: { params: z.object({ id: idSchema().openapi({ param: { name: "id", in: "path" } }) }) },
  responses: {
    204: { description: "Acknowledged." },
    400: commonErrorResponses[400],
    401: unauthorized,
    404: problem("No such notice of yours."),
    500: commonErrorResponses[500],
  },
});

export type GetMeRoute = typeof getMe;
export type AcknowledgeNoticeRoute = typeof acknowledgeNotice;
export type PatchMeRoute = typeof patchMe;
export type DeleteMeRoute = typeof deleteMe;
export type UploadAvatarRoute = typeof uploadAvatar;
