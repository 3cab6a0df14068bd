import { and, desc, eq, type SQL, sql } from "drizzle-orm";
import type { Database, PoolDatabase } from "../db/client";
import { olderThan } from "../db/keyset";
import { auditLogs, topics } from "../db/schema";
import type { Level } from "../db/schema/enums";
import type { KeysetPosition } from "../lib/pagination";

/** A topic as the API and the sockets show it (SPEC §10). */
export interface TopicView {
  id: string;
  level: Level;
  title: string;
  prompts: string[];
  tags: string[];
}

/** The sessions a topic counts as recent in: each partner's last ten (SPEC §10). */
const recentSessions = 10;

/**
 * A lateral subquery choosing the topic a session of `level` between `userA` and `userB` talks
 * about next (SPEC §10), as one row (`id`, `level`, `title`, `prompts`, `tags`), or none when the
 * level has no active topic:
 * 1. never one either partner had in their last ten sessions, while another is left;
 * 2. of those, the one whose tags share the most of `shared` (a `text[]`: the interests the two
 *    share, as their match saw them and the session keeps them);
 * 3. then at random, so two pairs with the same interests do not all talk about the same thing.
 * When every topic of the level is recent, the one either had longest ago comes first, whatever
 * its tags, so the pair is never handed back what it has just had. A session going on is the
 * most recent of both, so its own topics are recent: `topic.next` moves on.
 */
export function topicChoice(level: SQL, userA: SQL, userB: SQL, shared: SQL): SQL {
  return sql`
    with recent as (
      (select sp.session_id from session_participants sp join sessions s on s.id = sp.session_id
        where sp.user_id = ${userA} order by s.started_at desc limit ${recentSessions})
      union
      (select sp.session_id from session_participants sp join sessions s on s.id = sp.session_id
        where sp.user_id = ${userB} order by s.started_at desc limit ${recentSessions})
    )
    select t.id, t.level, t.title, t.prompts, t.tags
    from topics t
    left join lateral (
      select max(st.chosen_at) as at from session_topics st
      where st.topic_id = t.id and st.session_id in (select session_id from recent)
    ) last_had on true
    where t.level = ${level} and t.active
    order by last_had.at asc nulls first,
      cardinality(array(select unnest(t.tags) intersect select unnest(${shared}))) desc,
      random()
    limit 1
  `;
}

/** A JSON object of a topic row aliased `alias`, in the shape of `TopicView`. */
export function topicJson(alias: SQL): SQL {
  return sql`json_build_object('id', ${alias}.id, 'level', ${alias}.level, 'title', ${alias}.title,
    'prompts', ${alias}.prompts, 'tags', ${alias}.tags)`;
}

export type NextTopicOutcome =
  | { kind: "chosen"; topic: TopicView }
  | { kind: "ended"; endedAt: Date | null }
  | { kind: "none" };

/**
 * Moves an active session on to its next topic (`topic.next`, SPEC §10): chosen by `topicChoice`
 * for its two participants and recorded after the ones before it (`session_topics.position`),
 * with who asked, in one statement. `ended`: the session is over; `none`: its level has no
 * active topic. The session room runs it on its kept connection, one at a time.
 */
export async function chooseNextTopic(
  db: Database,
  sessionId: string,
  chosenBy: string,
  now: Date,
): Promise<NextTopicOutcome> {
  const result = await db.execute<{ active: boolean | null; ended_at: string | null; topic: TopicView | null }>(sql`
    with s as (
      select id, level, shared_interests from sessions where id = ${sessionId} and status = 'active'
    ), participants as (
      select array_agg(user_id order by user_id) as users from session_participants where session_id = ${sessionId}
    ), pick as (
      select t.* from s cross join participants
      cross join lateral (${topicChoice(sql`s.level`, sql`participants.users[1]`, sql`participants.users[2]`, sql`s.shared_interests`)}) t
    ), recorded as (
      insert into session_topics (session_id, position, topic_id, chosen_by, chosen_at)
      select ${sessionId},
        coalesce((select max(position) from session_topics where session_id = ${sessionId}), -1) + 1,
        pick.id, ${chosenBy}, ${now}
      from pick
      returning topic_id
    )
    select exists (select 1 from s) as active,
      (select ended_at from sessions where id = ${sessionId}) as ended_at,
      (select ${topicJson(sql`pick`)} from pick where exists (select 1 from recorded)) as topic
  `);
  const row = result.rows[0];
  if (!row?.active) return { kind: "ended", endedAt: row?.ended_at ? new Date(row.ended_at) : null };
  return row.topic ? { kind: "chosen", topic: row.topic } : { kind: "none" };
}

/** A topic as admins see it: also whether it is chosen (`active`) and when it was made and changed. */
export interface AdminTopicView extends TopicView {
  active: boolean;
  created_at: string;
  updated_at: string;
}

export type TopicRow = typeof topics.$inferSelect;

export function toAdminTopicView(row: TopicRow): AdminTopicView {
  return {
    id: row.id,
    level: row.level,
    title: row.title,
    prompts: row.prompts,
    tags: row.tags,
    active: row.active,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/**
 * The topics, newest first, `limit + 1` rows from `after`, of one level and activity when asked
 * (one round trip, on the HTTP path).
 */
export function listTopics(
  db: Database,
  filter: { level?: Level; active?: boolean },
  limit: number,
  after?: KeysetPosition,
) {
  return db
    .select()
    .from(topics)
    .where(
      and(
        filter.level ? eq(topics.level, filter.level) : undefined,
        filter.active === undefined ? undefined : eq(topics.active, filter.active),
        olderThan(topics.createdAt, topics.id, after),
      ),
    )
    .orderBy(desc(topics.createdAt), desc(topics.id))
    .limit(limit + 1);
}

export interface NewTopic {
  level: Level;
  title: string;
  prompts: string[];
  tags: string[];
}

/** Adds a topic, audited (`topic.create`) in the same transaction. */
export async function createTopic(pool: PoolDatabase, actorId: string, topic: NewTopic, now: Date): Promise<TopicRow> {
  return pool.transaction(async (tx) => {
    const [created] = await tx
      .insert(topics)
      .values({ ...topic, createdAt: now, updatedAt: now })
      .returning();
    if (!created) throw new Error("the topic was not stored");
    await tx.insert(auditLogs).values({
      actorId,
      action: "topic.create",
      targetType: "topic",
      targetId: created.id,
      metadata: { level: created.level, title: created.title },
      createdAt: now,
    });
    return created;
  });
}

/**
 * Edits a topic or retires it (`active: false`; it is never chosen again, and the sessions that
 * had it keep it), audited (`topic.update`, with the fields before and after) in the same
 * transaction. A topic is locked while it changes, so two admins' edits are both audited in order.
 */
export async function updateTopic(
  pool: PoolDatabase,
  actorId: string,
  topicId: string,
  patch: Partial<Omit<NewTopic, "level">> & { active?: boolean },
  now: Date,
): Promise<{ kind: "not-found" } | { kind: "updated"; topic: TopicRow }> {
  return pool.transaction(async (tx) => {
    const [before] = await tx.select().from(topics).where(eq(topics.id, topicId)).for("update");
    if (!before) return { kind: "not-found" as const };
    const [after] = await tx
      .update(topics)
      .set({ ...patch, updatedAt: now })
      .where(eq(topics.id, topicId))
      .returning();
    if (!after) return { kind: "not-found" as const };
    const changed = Object.keys(patch) as (keyof typeof patch)[];
    await tx.insert(auditLogs).values({
      actorId,
      action: "topic.update",
      targetType: "topic",
      targetId: topicId,
      metadata: {
        before: Object.fromEntries(changed.map((field) => [field, before[field]])),
        after: Object.fromEntries(changed.map((field) => [field, after[field]])),
      },
      createdAt: now,
    });
    return { kind: "updated" as const, topic: after };
  });
}
