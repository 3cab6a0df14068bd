import { commonErrorResponses, defineRoute, jsonBody, jsonContent, problem } from "../../lib/openapi";
import { authenticatedLimited } from "../../middleware/auth";
import { PresignedUploadSchema, PresignRequestSchema } from "./uploads.schemas";

export const presign = defineRoute({
  operationId: "presignUpload",
  method: "post",
  path: "/uploads/presign",
  tags: ["Uploads"],
  summary: "Presign an upload of a voice note or an avatar",
  description:
    "Voice: webm, ogg, mpeg, mp4/aac or wav up to 10 MB. Avatar: jpeg, png or webp up to 2 MB. " +
    "The key is under the caller's own prefix; the URL works for 5 minutes, for exactly the declared type and size. " +
    "A voice upload is copied into the session when its message is sent, so uploading again later changes nothing " +
    "that was sent; unsent voice uploads are deleted after a day. Limited to 30 uploads an hour per user.",
  ...authenticatedLimited,
  request: { body: jsonBody(PresignRequestSchema) },
  responses: {
    201: jsonContent(PresignedUploadSchema, "Upload with the returned method, URL and headers."),
    ...commonErrorResponses,
    401: problem("No valid access token (`TOKEN_EXPIRED` when it has expired: refresh it, then retry)."),
    429: problem("Too many uploads this hour (30 by default); `Retry-After` says when to try again."),
  },
});

export type PresignRoute = typeof presign;
