import { z } from "@hono/zod-openapi";
import { parseMediaType } from "../../lib/media-type";
import { type UploadKind, uploadRules } from "../../services/uploads";

const megabytes = (bytes: number) => `${bytes / 1024 / 1024} MB`;

/**
 * The media type of an upload, as the recorder or file picker reports it: its essence must be one
 * of the kind's types, and parameters are allowed (`audio/webm;codecs=opus` is what Chrome's
 * `MediaRecorder.mimeType` says). The value is kept as sent, trimmed: it is signed into the PUT,
 * which must carry the same header, and it is the stored object's type.
 */
function uploadMediaType(kind: UploadKind) {
  const essences = Object.keys(uploadRules[kind].types);
  return z
    .string()
    .trim()
    .max(255)
    .refine((value) => essences.includes(parseMediaType(value)?.essence ?? ""), {
      error: `must be a media type of ${essences.join(", ")} (parameters such as codecs allowed)`,
    })
    .openapi({
      description: `One of ${essences.map((essence) => `\`${essence}\``).join(", ")}, with parameters if the recorder reports them.`,
      example: essences[0],
    });
}

export const VoiceUploadSchema = z.object({
  kind: z.literal("voice"),
  content_type: uploadMediaType("voice"),
  size: z
    .number()
    .int()
    .min(1)
    .max(uploadRules.voice.maxBytes, `voice notes are at most ${megabytes(uploadRules.voice.maxBytes)}`),
});

export const AvatarUploadBodySchema = z
  .object({
    content_type: uploadMediaType("avatar"),
    size: z
      .number()
      .int()
      .min(1)
      .max(uploadRules.avatar.maxBytes, `avatars are at most ${megabytes(uploadRules.avatar.maxBytes)}`),
  })
  .openapi("AvatarUploadRequest", { example: { content_type: "image/webp", size: 182004 } });

export const PresignRequestSchema = z
  .discriminatedUnion("kind", [
    VoiceUploadSchema,
    // Its own example: the one it would inherit from the avatar route's body has no `kind`.
    AvatarUploadBodySchema.extend({ kind: z.literal("avatar") }).openapi({
      example: { kind: "avatar", content_type: "image/webp", size: 182004 },
    }),
  ])
  .openapi("PresignRequest", {
    example: { kind: "voice", content_type: "audio/webm", size: 48213 },
  });

export const PresignedUploadSchema = z
  .object({
    upload_url: z.url().openapi({ description: "PUT the bytes here within `expires_in` seconds." }),
    method: z.literal("PUT"),
    headers: z
      .object({ "Content-Type": z.string(), "Content-Length": z.string() })
      .openapi({ description: "Send exactly these headers: both are part of the signature." }),
    key: z.string().openapi({ example: "uploads/6f1d2a9c-3b4e-4f5a-8b6c-7d8e9f0a1b2c/1c9e….webm" }),
    url: z.url().openapi({
      description:
        "For an avatar, its public URL. For a voice upload, its address: send it as `audio_url` of a voice message " +
        "(voice notes are private and play only from the signed URLs messages carry).",
    }),
    expires_in: z.number().int().openapi({ example: 300 }),
  })
  .openapi("PresignedUpload");
