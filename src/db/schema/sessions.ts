import { sql } from "drizzle-orm";
import {
  type AnyPgColumn,
  check,
  index,
  integer,
  pgTable,
  primaryKey,
  smallint,
  text,
  unique,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { createdAt, id, instant } from "./columns";
import { levelEnum, matchStatusEnum, messageTypeEnum, sessionStatusEnum } from "./enums";
import { users } from "./users";

export const sessions = pgTable(
  "sessions",
  {
    id: id(),
    level: levelEnum().notNull(),
    status: sessionStatusEnum().notNull().default("active"),
    startedAt: createdAt(),
    endedAt: instant(),
    durationSec: integer(),
    // The interests the two shared as the matchmaker saw them when they queued (SPEC §10): what
    // both were told, and what the session's topics prefer.
    sharedInterests: text().array().notNull().default(sql`'{}'::text[]`),
  },
  (t) => [index("sessions_started_at_idx").on(t.startedAt), index("sessions_status_idx").on(t.status)],
);

export const sessionParticipants = pgTable(
  "session_participants",
  {
    sessionId: uuid()
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    rating: smallint(),
    notes: text(),
    endedAt: instant(),
    // How far this participant has read (SPEC §10): the newest message they have seen, and when.
    readUpTo: uuid().references((): AnyPgColumn => messages.id, { onDelete: "set null" }),
    lastReadAt: instant(),
  },
  (t) => [
    primaryKey({ columns: [t.sessionId, t.userId] }),
    index("session_participants_user_id_idx").on(t.userId, t.sessionId),
    check("session_participants_rating_range", sql`${t.rating} between 1 and 5`),
  ],
);

export const matchAttempts = pgTable(
  "match_attempts",
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    level: levelEnum().notNull(),
    status: matchStatusEnum().notNull().default("queued"),
    sessionId: uuid().references(() => sessions.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    resolvedAt: instant(),
  },
  (t) => [
    index("match_attempts_user_status_idx").on(t.userId, t.status),
    // A user waits in at most one queue at a time.
    uniqueIndex("match_attempts_one_queued_per_user").on(t.userId).where(sql`${t.status} = 'queued'`),
    index("match_attempts_session_id_idx").on(t.sessionId),
    index("match_attempts_level_created_at_idx").on(t.level, t.createdAt),
    // The cron sweep looks for queued attempts past their lifetime; queued ones are few.
    index("match_attempts_queued_created_at_idx").on(t.createdAt).where(sql`${t.status} = 'queued'`),
  ],
);

export const messages = pgTable(
  "messages",
  {
    id: id(),
    sessionId: uuid()
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    // Kept when the sender deletes their account: the partner still sees the conversation.
    senderId: uuid().references(() => users.id, { onDelete: "set null" }),
    type: messageTypeEnum().notNull(),
    text: text(),
    // The voice note's object key in the private bucket; readers get a short-lived signed URL.
    audioKey: text(),
    durationMs: integer(),
    correctsId: uuid().references((): AnyPgColumn => messages.id, { onDelete: "set null" }),
    clientId: uuid(),
    // SHA-256 of the send that stored this message under `client_id` (type, text, corrects,
    // audio_url, duration_ms): a retry must match it; another payload under the id is refused.
    clientFingerprint: text(),
    createdAt: createdAt(),
    // Its sender's edit (SPEC §10); the text before it is kept in message_revisions.
    editedAt: instant(),
    // Its sender deleted it: a tombstone with no text and no audio; what it was is in message_revisions.
    deletedAt: instant(),
  },
  (t) => [
    unique("messages_session_sender_client_key").on(t.sessionId, t.senderId, t.clientId),
    index("messages_session_created_at_idx").on(t.sessionId, t.createdAt.desc(), t.id.desc()),
    index("messages_sender_id_idx").on(t.senderId),
    index("messages_created_at_idx").on(t.createdAt),
    index("messages_corrects_id_idx").on(t.correctsId),
    index("messages_text_trgm_idx").using("gin", t.text.op("gin_trgm_ops")),
  ],
);

/**
 * What a message was before its sender edited or deleted it (SPEC §10), for moderators only: a
 * report filed later still shows it. Kept 30 days (the cron sweep), long enough to be reported.
 */
export const messageRevisions = pgTable(
  "message_revisions",
  {
    id: id(),
    messageId: uuid()
      .notNull()
      .references(() => messages.id, { onDelete: "cascade" }),
    kind: text().notNull(),
    text: text(),
    audioKey: text(),
    revisedAt: createdAt(),
  },
  (t) => [
    index("message_revisions_message_id_idx").on(t.messageId, t.revisedAt),
    index("message_revisions_revised_at_idx").on(t.revisedAt),
    check("message_revisions_kind", sql`${t.kind} in ('edited', 'deleted')`),
  ],
);
