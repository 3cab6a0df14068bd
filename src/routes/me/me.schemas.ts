import { z } from "@hono/zod-openapi";
import { levels, noticeActionEnum, reportReasonEnum } from "../../db/schema";
import { blankAs, freeText, hasVisibleText, nameText, text } from "../../lib/text";
import { canonicalTimeZone } from "../../lib/time-zones";
import { UserSchema } from "../auth/auth.schemas";
import { PresignedUploadSchema } from "../uploads/uploads.schemas";

export const LevelSchema = z.enum(levels).openapi({ description: "CEFR level.", example: "B1" });

// Marks after the first letter: Hindi, Bengali or vowelled Arabic words are letters and marks.
const interestPattern = /^[\p{L}\p{N}][\p{L}\p{M}\p{N} _-]*$/u;

export const InterestSchema = z
  .string()
  // One spelling per interest, so that two learners' interests (and topics' tags) match however
  // their keyboards composed them: "café" typed as e + U+0301, full-width letters.
  .normalize("NFKC")
  .trim()
  .toLowerCase()
  .min(1)
  .max(30)
  .regex(interestPattern, "letters, digits, spaces, - and _ only")
  // Hangul fillers are letters (Lo) that draw nothing.
  .refine(hasVisibleText, "must contain something visible")
  // The generator would print JavaScript's `/u` into the pattern; JSON Schema patterns are
  // ECMA-262 regexes read in Unicode mode already, so the source alone is the pattern.
  .openapi({ pattern: interestPattern.source, example: "football" });

export const ProfileSchema = z
  .object({
    display_name: z.string().nullable(),
    about: z.string().nullable(),
    level: LevelSchema.nullable(),
    timezone: z.string().openapi({ example: "Asia/Tashkent" }),
    interests: z.array(z.string()).openapi({ example: ["travel", "football"] }),
    avatar_url: z.url().nullable(),
    updated_at: z.iso.datetime(),
  })
  .openapi("Profile");

export const IdentitySchema = z
  .object({
    provider: z.enum(["email", "google"]),
    email: z.email(),
    email_verified: z.boolean(),
    created_at: z.iso.datetime(),
  })
  .openapi("Identity");

export const ModerationNoticeSchema = z
  .object({
    id: z.uuid(),
    action: z.enum(noticeActionEnum.enumValues).openapi({
      description: "`warn`: a moderator warned you; `suspend`: the account was suspended (shown once it is lifted).",
    }),
    reason: z.enum(reportReasonEnum.enumValues).openapi({ description: "What the report was about." }),
    created_at: z.iso.datetime().openapi({ description: "When the moderator decided." }),
  })
  .openapi("ModerationNotice", {
    description: "A moderator's decision about you; who reported you is never shown.",
    example: {
      id: "0f6e1b9c-3d2a-4c5b-8e7f-9a0b1c2d3e4f",
      action: "warn",
      reason: "harassment",
      created_at: "2026-12-02T09:30:00.000Z",
    },
  });

export const MeSchema = z
  .object({
    user: UserSchema,
    profile: ProfileSchema,
    identities: z.array(IdentitySchema),
    notices: z.array(ModerationNoticeSchema).openapi({
      description:
        "Moderation notices not yet acknowledged, oldest first: show each, then `POST /me/notices/{id}/ack` it.",
    }),
  })
  .openapi("Me");

export const ProfilePatchSchema = z
  .strictObject({
    display_name: nameText().trim().min(1).max(50).nullable().optional(),
    about: freeText().trim().max(500).transform(blankAs(null)).nullable().optional(),
    level: LevelSchema.nullable().optional(),
    // Stored as the zone's primary IANA name, whatever case or link the client sent (see canonicalTimeZone).
    timezone: text()
      .trim()
      .max(64)
      .transform(async (name, ctx) => {
        const canonical = await canonicalTimeZone(name);
        if (canonical === undefined) {
          ctx.addIssue({
            code: "custom",
            message: "not an IANA time zone name such as Asia/Tashkent, UTC or Etc/GMT-5",
          });
          return z.NEVER;
        }
        return canonical;
      })
      .openapi({
        description:
          "An IANA time zone name in any case, links included (`asia/calcutta`, `US/Eastern`, `GMT`); stored as its " +
          "primary name (`Asia/Kolkata`). UTC offsets are refused.",
        example: "Asia/Tashkent",
      })
      .optional(),
    interests: z
      .array(InterestSchema)
      .max(10)
      .transform((tags) => [...new Set(tags)])
      .optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, "send at least one field to change")
  .openapi("ProfilePatch", { example: { display_name: "Aziza", level: "B1", timezone: "Asia/Tashkent" } });

export const AvatarUploadSchema = PresignedUploadSchema.extend({ avatar_url: z.url() }).openapi("AvatarUpload");
