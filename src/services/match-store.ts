import { and, desc, eq, lt, type SQL, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { matchAttempts } from "../db/schema";
import type { Level, ReportReason } from "../db/schema/enums";
import type { SuspensionDetails } from "../lib/errors";
import { type TopicView, topicChoice, topicJson } from "./topics";

export interface MatchCandidate {
  userId: string;
  status: "active" | "suspended";
  /** Since when and why a suspended user is suspended, to tell them. */
  suspension: SuspensionDetails | null;
  /** Held for review after reports (docs/moderation.md#automatic-holds): no new attempts. */
  held: boolean;
  displayName: string | null;
  profileLevel: Level | null;
  blocked: string[];
  avoid: string[];
  /** The profile's interests, as the matchmaker weighs them. */
  interests: string[];
  activeSessionId: string | null;
  queuedAttempt: { id: string; level: Level; createdAt: Date } | null;
}

interface CandidateRow extends Record<string, unknown> {
  user_id: string;
  status: "active" | "suspended";
  suspended_at: string | Date | null;
  suspension_reason: ReportReason | null;
  held: boolean;
  display_name: string | null;
  level: Level | null;
  blocked: string[] | null;
  low_rated: string[] | null;
  last_partner: string | null;
  interests: string[] | null;
  active_session_id: string | null;
  queued_attempt_id: string | null;
  queued_level: Level | null;
  queued_created_at: string | Date | null;
}

/**
 * `lockUser`: read the user's row `for share`, which waits for a hold or a suspension being written
 * to that row (services/reports.ts, services/admin.ts) and then reads what they wrote; or, taken
 * first, makes them wait until the attempt is committed, where their withdrawal finds it. Without
 * it, an attempt queued at that instant would escape both.
 */
function candidateQuery(userId: string, lockUser = false) {
  return sql`
    select u.id as user_id, u.status, u.suspended_at, u.suspension_reason, u.held_at is not null as held, p.display_name, p.level, p.interests,
      (select array_agg(case when b.blocker_id = u.id then b.blocked_id else b.blocker_id end)
         from blocks b where b.blocker_id = u.id or b.blocked_id = u.id) as blocked,
      (select array_agg(distinct other.user_id)
         from session_participants mine
         join session_participants other on other.session_id = mine.session_id and other.user_id <> mine.user_id
         where mine.user_id = u.id and (mine.rating <= 2 or other.rating <= 2)) as low_rated,
      (select other.user_id
         from session_participants mine
         join sessions s on s.id = mine.session_id
         join session_participants other on other.session_id = mine.session_id and other.user_id <> mine.user_id
         where mine.user_id = u.id
         order by s.started_at desc limit 1) as last_partner,
      (select s.id from session_participants mine join sessions s on s.id = mine.session_id
         where mine.user_id = u.id and s.status = 'active' limit 1) as active_session_id,
      q.id as queued_attempt_id, q.level as queued_level, q.created_at as queued_created_at
    from users u
    left join match_attempts q on q.user_id = u.id and q.status = 'queued'
    left join profiles p on p.user_id = u.id
    where u.id = ${userId}
    ${lockUser ? sql`for share of u` : sql``}
  `;
}

function toCandidate(row: CandidateRow): MatchCandidate {
  return {
    userId: row.user_id,
    status: row.status,
    suspension:
      row.status === "suspended"
        ? { since: row.suspended_at ? new Date(row.suspended_at) : null, reason: row.suspension_reason }
        : null,
    held: row.held,
    displayName: row.display_name,
    profileLevel: row.level,
    blocked: row.blocked ?? [],
    avoid: [...(row.low_rated ?? []), ...(row.last_partner ? [row.last_partner] : [])],
    interests: row.interests ?? [],
    activeSessionId: row.active_session_id,
    queuedAttempt:
      row.queued_attempt_id && row.queued_level && row.queued_created_at
        ? { id: row.queued_attempt_id, level: row.queued_level, createdAt: new Date(row.queued_created_at) }
        : null,
  };
}

/**
 * Everything matchmaking must know about a user, in one round trip: who they must never meet
 * (blocks either way, partners rated 1–2 by either side, and their last partner, so the same two
 * are not paired back to back) and whether they are still in a session or already queued. Its one
 * caller, `handBack` (from the status route and the cron sweep), passes the HTTP path.
 */
export async function loadCandidate(db: Database, userId: string): Promise<MatchCandidate | undefined> {
  const result = await db.execute<CandidateRow>(candidateQuery(userId));
  const row = result.rows[0];
  return row ? toCandidate(row) : undefined;
}

/**
 * The attempt route's one round trip: reads the candidate as `loadCandidate` does and, in the same
 * statement, queues a new attempt when the user is active, not held, in no session and not already queued.
 * `attemptId` is null when nothing was queued; the candidate says why. The user's row is read
 * `for share`, so a hold or suspension committing meanwhile is either seen here or withdraws
 * what this queues. It runs on the HTTP path, so the attempt costs one round trip to the database.
 */
export async function openAttempt(
  db: Database,
  userId: string,
  level: Level,
  now: Date,
): Promise<{ candidate: MatchCandidate; attemptId: string | null } | undefined> {
  const result = await db.execute<CandidateRow & { attempt_id: string | null }>(sql`
    with candidate as (${candidateQuery(userId, true)}),
    opened as (
      insert into match_attempts (user_id, level, created_at)
      select user_id, ${level}, ${now} from candidate
      where status = 'active' and not held and active_session_id is null and queued_attempt_id is null
      on conflict do nothing
      returning id
    )
    select candidate.*, (select id from opened) as attempt_id from candidate
  `);
  const row = result.rows[0];
  return row ? { candidate: toCandidate(row), attemptId: row.attempt_id } : undefined;
}

/**
 * `values` as a `text[]` expression with one parameter: drizzle spreads a JavaScript array into a
 * list of parameters, and an array literal would need quoting.
 */
function textArray(values: string[]): SQL {
  return sql`array(select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))`;
}

export type PairOutcome =
  | { kind: "paired"; sessionId: string; topic: TopicView | null }
  | { kind: "stale"; stillQueued: string[] }
  | { kind: "blocked" }
  | { kind: "busy"; busyUsers: string[] };

/**
 * Turns two queued attempts into a session in one statement, so it is one round trip and
 * atomic: both attempts are locked and must still be queued, the two must not have blocked each
 * other since they queued, and neither may be in an active session. Only then is the session
 * created with both participants, both attempts resolved and its first topic chosen
 * (`topicChoice`; none when the level has no active topic). The Matchmaker runs it on its kept
 * connection.
 */
export async function pairAttempts(
  db: Database,
  pair: { level: Level; attempts: [string, string]; users: [string, string]; sharedInterests: string[] },
  now: Date,
): Promise<PairOutcome> {
  const sessionId = crypto.randomUUID();
  const [attemptA, attemptB] = pair.attempts;
  const [userA, userB] = pair.users;
  const result = await db.execute<{
    queued: string[] | null;
    blocked: boolean;
    busy: string[] | null;
    paired: number;
    topic: TopicView | null;
  }>(sql`
    with locked as (
      select id from match_attempts
      where id in (${attemptA}, ${attemptB}) and status = 'queued'
      for update
    ), checks as (
      select
        (select array_agg(id) from locked) as queued,
        exists (select 1 from blocks
                where (blocker_id = ${userA} and blocked_id = ${userB})
                   or (blocker_id = ${userB} and blocked_id = ${userA})) as blocked,
        (select array_agg(distinct sp.user_id) from session_participants sp join sessions s on s.id = sp.session_id
                where sp.user_id in (${userA}, ${userB}) and s.status = 'active') as busy
    ), ready as (
      select 1 from checks where coalesce(array_length(queued, 1), 0) = 2 and not blocked and busy is null
    ), created as (
      insert into sessions (id, level, status, started_at, shared_interests)
      select ${sessionId}, ${pair.level}, 'active', ${now}, ${textArray(pair.sharedInterests)} from ready
      returning id
    ), joined as (
      insert into session_participants (session_id, user_id)
      select created.id, participant from created, unnest(array[${userA}, ${userB}]::uuid[]) as participant
      returning user_id
    ), resolved as (
      update match_attempts set status = 'matched', session_id = ${sessionId}, resolved_at = ${now}
      where id in (${attemptA}, ${attemptB}) and exists (select 1 from created)
      returning id
    ), topic as (
      select t.* from created cross join lateral (${topicChoice(
        sql`${pair.level}::level`,
        sql`${userA}::uuid`,
        sql`${userB}::uuid`,
        textArray(pair.sharedInterests),
      )}) t
    ), chosen as (
      insert into session_topics (session_id, position, topic_id, chosen_at)
      select ${sessionId}, 0, id, ${now} from topic
      returning topic_id
    )
    select queued, blocked, busy, (select count(*) from resolved)::int as paired,
      (select ${topicJson(sql`topic`)} from topic) as topic
    from checks
  `);
  const row = result.rows[0];
  if (row?.paired === 2) return { kind: "paired", sessionId, topic: row.topic };
  if (row?.blocked) return { kind: "blocked" };
  if (row?.busy && (row.queued?.length ?? 0) === 2) return { kind: "busy", busyUsers: row.busy };
  return { kind: "stale", stillQueued: row?.queued ?? [] };
}

/**
 * Resolves queued attempts as expired or cancelled; attempts already resolved are left alone. One
 * statement: the Matchmaker runs it on its kept connection, the attempt route (a cancel) on the
 * HTTP path.
 */
export async function resolveAttempts(
  db: Database,
  attemptIds: string[],
  status: "expired" | "cancelled",
  now: Date,
): Promise<string[]> {
  if (attemptIds.length === 0) return [];
  const rows = await db
    .update(matchAttempts)
    .set({ status, resolvedAt: now })
    .where(and(sql`${matchAttempts.id} in ${attemptIds}`, eq(matchAttempts.status, "queued")))
    .returning();
  return rows.map((row) => row.id);
}

/**
 * Expires attempts that are still queued in the database past their lifetime. The level's object
 * expires what it holds on its own alarm; what is left here is an attempt no object holds (its
 * hand-off failed and so did its withdrawal), which would otherwise stay queued for ever. One
 * statement; the cron sweep runs it on the HTTP path.
 */
export async function expireStaleAttempts(db: Database, createdBefore: Date, now: Date): Promise<number> {
  const rows = await db
    .update(matchAttempts)
    .set({ status: "expired", resolvedAt: now })
    .where(and(eq(matchAttempts.status, "queued"), lt(matchAttempts.createdAt, createdBefore)))
    .returning();
  return rows.length;
}

/**
 * The caller's most recent attempt, whatever its status; one statement over the HTTP path.
 */
export async function latestAttempt(db: Database, userId: string) {
  const [attempt] = await db
    .select()
    .from(matchAttempts)
    .where(eq(matchAttempts.userId, userId))
    .orderBy(desc(matchAttempts.createdAt))
    .limit(1);
  return attempt;
}

export interface ProposedPair {
  sessionId: string;
  level: Level;
  attempts: [string, string];
  users: [string, string];
  /** What the two share, as `sharedInterests` of their queue entries: stored with the session. */
  sharedInterests: string[];
}

/** A Postgres array literal of values that need no quoting (uuids, enum labels). */
function arrayLiteral(values: string[]): string {
  return `{${values.join(",")}}`;
}

/**
 * Creates the sessions of many pairs in one statement, under the same rules as `pairAttempts`
 * (all four attempts locked and still queued, no block, nobody already in a session, and nobody
 * in another of the pairs), each with
 * its first topic (`topicChoice`). Returns the sessions created with their topics (null when the
 * level has no active topic); a pair that was refused is left for `pairAttempts` to explain. The
 * Matchmaker runs it on its kept connection.
 */
export async function pairMany(db: Database, pairs: ProposedPair[], now: Date): Promise<Map<string, TopicView | null>> {
  if (pairs.length === 0) return new Map();
  const column = (pick: (pair: ProposedPair) => string) => arrayLiteral(pairs.map(pick));
  const result = await db.execute<{ created: { session_id: string; topic: TopicView | null }[] | null }>(sql`
    with pairs as (
      -- Each pair's shared interests come as one JSON array of lists, in the order of the pairs:
      -- lists of different lengths do not make a Postgres array.
      select p.*, array(select jsonb_array_elements_text(${JSON.stringify(pairs.map((pair) => pair.sharedInterests))}::jsonb -> (p.n - 1)::int)) as shared
      from unnest(
        ${column((pair) => pair.attempts[0])}::uuid[], ${column((pair) => pair.attempts[1])}::uuid[],
        ${column((pair) => pair.users[0])}::uuid[], ${column((pair) => pair.users[1])}::uuid[],
        ${column((pair) => pair.sessionId)}::uuid[], ${column((pair) => pair.level)}::level[]
      ) with ordinality as p(a, b, ua, ub, sid, lvl, n)
    ), locked as (
      select id from match_attempts
      where id in (select a from pairs union all select b from pairs) and status = 'queued'
      for update
    ), ready as (
      select p.* from pairs p
      where p.a in (select id from locked) and p.b in (select id from locked)
        -- An attempt or a learner in two proposed pairs is in neither: one statement must not make two sessions of one.
        and (select count(*) from pairs q
             where q.a in (p.a, p.b) or q.b in (p.a, p.b) or q.ua in (p.ua, p.ub) or q.ub in (p.ua, p.ub)) = 1
        and not exists (select 1 from blocks
                        where (blocker_id = p.ua and blocked_id = p.ub) or (blocker_id = p.ub and blocked_id = p.ua))
        and not exists (select 1 from session_participants sp join sessions s on s.id = sp.session_id
                        where sp.user_id in (p.ua, p.ub) and s.status = 'active')
    ), created as (
      insert into sessions (id, level, status, started_at, shared_interests)
      select sid, lvl, 'active', ${now}, shared from ready
      returning id
    ), joined as (
      insert into session_participants (session_id, user_id)
      select sid, ua from ready union all select sid, ub from ready
      returning user_id
    ), resolved as (
      update match_attempts m set status = 'matched', session_id = r.sid, resolved_at = ${now}
      from (select a as id, sid from ready union all select b as id, sid from ready) r
      where m.id = r.id
      returning m.id
    ), topic as (
      select r.sid, t.* from ready r cross join lateral (${topicChoice(sql`r.lvl`, sql`r.ua`, sql`r.ub`, sql`r.shared`)}) t
    ), chosen as (
      insert into session_topics (session_id, position, topic_id, chosen_at)
      select sid, 0, id, ${now} from topic
      returning topic_id
    )
    select (select json_agg(json_build_object('session_id', ready.sid,
        'topic', (select ${topicJson(sql`topic`)} from topic where topic.sid = ready.sid))) from ready) as created,
      (select count(*) from joined) + (select count(*) from resolved) + (select count(*) from chosen) as written
  `);
  return new Map((result.rows[0]?.created ?? []).map((session) => [session.session_id, session.topic]));
}
