import { z } from "@hono/zod-openapi";
import { uploadRules } from "../../services/uploads";

const megabytes = (bytes: number) => `${bytes / 1024 / 1024} MB`;

function contentTypes<K extends keyof typeof uploadRules>(kind: K) {
  return Object.keys(uploadRules[kind].types) as [string, ...string[]];
}

export const VoiceUploadSchema = z.object({
  kind: z.literal("voice"),
  content_type: z.enum(contentTypes("voice")),
  size: z
    .number()
    .int()
    .min(1)
    .max(uploadRules.voice.maxBytes, `voice notes are at most ${megabytes(uploadRules.voice.maxBytes)}`),
});

export const AvatarUploadBodySchema = z
  .object({
    content_type: z.enum(contentTypes("avatar")),
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
