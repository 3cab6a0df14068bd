import { z } from "@hono/zod-openapi";
import { callEndReasons, levels } from "../../db/schema/enums";
import { idSchema } from "../../lib/ids";
import { blankAs, freeText } from "../../lib/text";

export const SessionParamsSchema = z.object({ id: idSchema().openapi({ param: { name: "id", in: "path" } }) });

/** Something to talk about (SPEC §10): the session's current topic, chosen for its level. */
export const TopicSchema = z
  .object({
    id: z.uuid(),
    level: z.enum(levels),
    title: z.string().openapi({ example: "Food I like" }),
    prompts: z
      .array(z.string())
      .min(3)
      .max(5)
      .openapi({
        example: ["What do you eat for breakfast?", "What is your favourite fruit?", "Do you cook at home?"],
      }),
    tags: z.array(z.string()).openapi({ description: "Interests it suits.", example: ["food", "cooking"] }),
  })
  .openapi("Topic");

/** A session's current topic; null only when its level had no active topic when it was chosen. */
export const CurrentTopicSchema = TopicSchema.nullable().openapi({
  description:
    "What the two are talking about: chosen when the session was made (of its level, preferring the interests " +
    "both share, never one either had in their last 10 sessions) and changed by `topic.next`. null when the " +
    "level had no active topic.",
});

/** The interests two partners share, as their match saw them (SPEC §10). */
export const SharedInterestsSchema = z.array(z.string()).openapi({
  description:
    "The interests both partners' profiles had when they queued, in alphabetical order: the same list for both. " +
    "The matchmaker prefers partners who share more of them, and the session's topics prefer them. Empty when " +
    "they share none.",
  example: ["football", "travel"],
});

/** One call of a session, as the session's room recorded it. */
export const CallSchema = z
  .object({
    id: z.uuid(),
    started_by: z.uuid().nullable(),
    started_at: z.iso.datetime(),
    connected_at: z.iso.datetime().nullable(),
    ended_at: z.iso.datetime().nullable(),
    duration_sec: z.number().int().nullable().openapi({
      description: "Seconds spoken, from connection to end (0 for a call never connected); null while it lasts.",
    }),
    end_reason: z.enum(callEndReasons).nullable(),
  })
  .openapi("Call");

export const SessionSchema = z
  .object({
    id: z.uuid(),
    level: z.enum(levels),
    status: z.enum(["active", "ended"]),
    started_at: z.iso.datetime(),
    ended_at: z.iso.datetime().nullable(),
    duration_sec: z.number().int().nullable(),
    spoken_sec: z.number().int().openapi({ description: "Seconds spoken in the session's calls so far." }),
    calls: z.array(CallSchema).openapi({ description: "The session's calls, oldest first." }),
    partner: z
      .object({ id: z.uuid(), display_name: z.string().nullable(), level: z.enum(levels).nullable() })
      .nullable()
      .openapi({ description: "null when the partner deleted their account." }),
    my_rating: z.number().int().min(1).max(5).nullable(),
    my_notes: z.string().nullable(),
    topic: CurrentTopicSchema,
    shared_interests: SharedInterestsSchema,
    unread_count: z.number().int().min(0).openapi({ description: "Your partner's messages after your read position." }),
    partner_read_up_to: z
      .uuid()
      .nullable()
      .openapi({ description: "The newest message your partner has read (ticks: every message up to it)." }),
    partner_last_read_at: z.iso.datetime().nullable().openapi({ description: "When your partner last read." }),
  })
  .openapi("Session");

export const ReadPositionSchema = z
  .object({
    up_to: z.uuid().openapi({ description: "The newest message read." }),
    read_at: z.iso.datetime(),
  })
  .openapi("ReadPosition");

export const MarkReadSchema = z
  .object({ up_to: z.uuid().openapi({ description: "The newest message of the session you have seen." }) })
  .openapi("MarkRead", { example: { up_to: "0b7e3f7a-2c1d-4f0e-9a51-3c8d2b6e4f10" } });

export const EndSessionSchema = z
  .object({
    rating: z.number().int().min(1).max(5).openapi({ description: "How the session went for you, 1–5." }),
    notes: freeText().trim().max(1000).transform(blankAs(undefined)).optional(),
  })
  .openapi("EndSession", { example: { rating: 5, notes: "Great conversation about football" } });

export const MessageSchema = z
  .object({
    id: z.uuid(),
    session_id: z.uuid(),
    sender_id: z.uuid().nullable().openapi({ description: "null when the sender deleted their account." }),
    type: z.enum(["text", "voice", "correction"]),
    text: z.string().nullable(),
    audio_url: z
      .url()
      .nullable()
      .openapi({ description: "For a voice note: a signed URL that plays it, valid for an hour (ask again after)." }),
    duration_ms: z.number().int().nullable(),
    corrects: z.uuid().nullable().openapi({ description: "For a correction: the partner's message it corrects." }),
    client_id: z.uuid().nullable(),
    created_at: z.iso.datetime(),
    edited_at: z.iso.datetime().nullable().openapi({ description: "When its sender last edited it." }),
    deleted_at: z.iso
      .datetime()
      .nullable()
      .openapi({ description: "When its sender deleted it: then it has no text and no audio." }),
  })
  .openapi("Message");

export const MessageParamsSchema = z.object({
  id: idSchema().openapi({ param: { name: "id", in: "path" } }),
  message_id: idSchema().openapi({ param: { name: "message_id", in: "path" } }),
});

export const MessageEditSchema = z
  .strictObject({ text: freeText().trim().min(1).max(4000) })
  .openapi("MessageEdit", { example: { text: "Salom! How are you today?" } });

const clientId = idSchema()
  .optional()
  .openapi({ description: "Your id for this send: a retry with the same id returns the first message." });

export const NewMessageSchema = z
  .discriminatedUnion("type", [
    z.object({ type: z.literal("text"), text: freeText().trim().min(1).max(4000), client_id: clientId }),
    z.object({
      type: z.literal("voice"),
      audio_url: z.url().openapi({ description: "The `url` of a voice upload presigned for you and uploaded." }),
      duration_ms: z
        .number()
        .int()
        .min(1)
        .max(10 * 60 * 1000),
      client_id: clientId,
    }),
    z.object({
      type: z.literal("correction"),
      corrects: idSchema(),
      text: freeText().trim().min(1).max(4000),
      client_id: clientId,
    }),
  ])
  .openapi("NewMessage", {
    example: { type: "text", text: "Salom! How are you?", client_id: "0d9e7c1a-3f2b-4c6d-8e5f-a1b2c3d4e5f6" },
  });

export const IceServersSchema = z
  .object({
    ice_servers: z
      .array(
        z.object({
          urls: z.array(z.string()),
          username: z.string().optional(),
          credential: z.string().optional(),
        }),
      )
      .openapi({ description: "Pass as `iceServers` to `new RTCPeerConnection(...)`." }),
    expires_at: z.iso
      .datetime()
      .nullable()
      .openapi({ description: "When the TURN credentials stop working (null: STUN only, nothing expires)." }),
  })
  .openapi("IceServers", {
    example: {
      ice_servers: [
        { urls: ["stun:stun.cloudflare.com:3478"] },
        {
          urls: ["turn:turn.cloudflare.com:3478?transport=udp", "turns:turn.cloudflare.com:443?transport=tcp"],
          username: "g0a1c2e3…",
          credential: "b9d8…",
        },
      ],
      expires_at: "2026-11-26T13:00:00.000Z",
    },
  });
