import { sql } from "drizzle-orm";
import { boolean, check, index, pgTable, primaryKey, smallint, text, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, instant } from "./columns";
import { levelEnum } from "./enums";
import { sessions } from "./sessions";
import { users } from "./users";

/**
 * Something to talk about, written for speaking practice at one CEFR level (SPEC §10): a title,
 * three to five prompts, and interest tags matched against learners' profile interests. A retired
 * topic (`active` false) is never chosen again but stays for the sessions that had it.
 */
export const topics = pgTable(
  "topics",
  {
    id: id(),
    level: levelEnum().notNull(),
    title: text().notNull(),
    prompts: text().array().notNull(),
    tags: text().array().notNull().default(sql`'{}'::text[]`),
    active: boolean().notNull().default(true),
    createdAt: createdAt(),
    updatedAt: createdAt(),
  },
  (t) => [
    index("topics_level_active_idx").on(t.level).where(sql`${t.active}`),
    check("topics_prompts_count", sql`cardinality(${t.prompts}) between 3 and 5`),
    check("topics_title_length", sql`char_length(${t.title}) between 1 and 120`),
    check("topics_tags_count", sql`cardinality(${t.tags}) <= 10`),
  ],
);

/**
 * The topics of a session in the order they were chosen: position 0 when the session was made,
 * then one row per `topic.next`. `chosen_by` is null for the first (the matchmaker chose it).
 */
export const sessionTopics = pgTable(
  "session_topics",
  {
    sessionId: uuid()
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    position: smallint().notNull(),
    topicId: uuid()
      .notNull()
      .references(() => topics.id),
    chosenBy: uuid().references(() => users.id, { onDelete: "set null" }),
    chosenAt: instant().notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.sessionId, t.position] }),
    index("session_topics_topic_id_idx").on(t.topicId),
    check("session_topics_position_nonnegative", sql`${t.position} >= 0`),
  ],
);
