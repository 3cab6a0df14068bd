import { type SQL, sql } from "drizzle-orm";
import type { ModerationConfig } from "../config";
import { type Database, isHttpDatabase } from "../db/client";
import type { Level, ReportReason } from "../db/schema/enums";

export const evidenceSize = 50;
/** The newest versions of one message a report keeps: an edit storm cannot make evidence unreadable. */
export const revisionsPerMessage = 20;

export type FileOutcome =
  | {
      kind: "filed";
      id: string;
      evidenceCount: number;
      createdAt: Date;
      /** Set when this report held the target: the attempt it withdrew, to take from its matchmaker too. */
      hold: { withdrawnAttempt: { id: string; level: Level } | null } | null;
    }
  | { kind: "unknown-target" }
  | { kind: "unknown-session" }
  /** The reporter's own account is gone or suspended (a token that outlived it). */
  | { kind: "inactive-reporter" };

/**
 * Files a report and, in the same statement, decides whether it holds the target
 * (docs/moderation.md#automatic-holds). A report that names a session must name one the reporter
 * shared with the target, and it stores a snapshot of that session's last 50 messages, with what
 * each said before its sender edited or deleted it (SPEC §10: a transcript cleaned before the
 * report still shows the truth), so moderators see what happened whatever is changed later.
 *
 * The hold: when the open reports of the last `holdWindowMs` (this one included) come from at least
 * `holdReporters` distinct counted reporters (`holdNewAccountReporters` for an account younger than
 * `newAccountMs`), the target's `held_at` is set, their queued attempt is cancelled and an audit row
 * with no actor (the system) is written, all with the report. A reporter counts when their account
 * still exists and is active, they have had a session with the target (the one the report names or
 * any other: strangers' reports are kept for moderators but hold nobody), and the target had not
 * blocked them before that report.
 *
 * Two reports at once must see each other, and one statement sees only what committed before it
 * began: so the statement runs after a lock on the target's row, in one transaction with it, and
 * takes its snapshot once the other report has committed. On the HTTP path both go as one batch:
 * one round trip.
 */
export async function fileReport(
  db: Database,
  report: { reporterId: string; targetUserId: string; reason: ReportReason; note?: string; sessionId?: string },
  rules: ModerationConfig,
  now: Date,
): Promise<FileOutcome> {
  const lock = sql`select 1 from users where id = ${report.targetUserId} for no key update`;
  const statement = fileStatement(report, rules, now);
  const result = isHttpDatabase(db)
    ? (await db.batch([db.execute(lock), db.execute<FiledRow>(statement)]))[1]
    : await db.transaction(async (tx) => {
        await tx.execute(lock);
        return tx.execute<FiledRow>(statement);
      });
  const row = result.rows[0];
  if (!row?.reporter_active) return { kind: "inactive-reporter" };
  if (!row.target_exists) return { kind: "unknown-target" };
  if (!row.id) return { kind: "unknown-session" };
  return {
    kind: "filed",
    id: row.id,
    evidenceCount: row.evidence_count ?? 0,
    createdAt: now,
    hold: row.held
      ? {
          withdrawnAttempt:
            row.withdrawn_id && row.withdrawn_level ? { id: row.withdrawn_id, level: row.withdrawn_level } : null,
        }
      : null,
  };
}

interface FiledRow extends Record<string, unknown> {
  reporter_active: boolean;
  target_exists: boolean;
  session_shared: boolean;
  id: string | null;
  evidence_count: number | null;
  held: boolean;
  withdrawn_id: string | null;
  withdrawn_level: Level | null;
}

function fileStatement(
  report: { reporterId: string; targetUserId: string; reason: ReportReason; note?: string; sessionId?: string },
  rules: ModerationConfig,
  now: Date,
): SQL {
  const sessionId = report.sessionId ?? null;
  const windowStart = new Date(now.getTime() - rules.holdWindowMs);
  const newSince = new Date(now.getTime() - rules.newAccountMs);
  return sql`
    with reporter as (select id from users where id = ${report.reporterId} and status = 'active'),
    target as (select id from users where id = ${report.targetUserId} and exists (select 1 from reporter)),
    shared as (
      select mine.session_id from session_participants mine
      join session_participants theirs on theirs.session_id = mine.session_id and theirs.user_id = ${report.targetUserId}
      where mine.user_id = ${report.reporterId} and mine.session_id = ${sessionId}::uuid
    ),
    evidence as (
      select coalesce(jsonb_agg(jsonb_build_object(
          'id', m.id, 'sender_id', m.sender_id, 'type', m.type, 'text', m.text,
          'audio_key', m.audio_key, 'created_at', m.created_at, 'edited_at', m.edited_at, 'deleted_at', m.deleted_at,
          'revisions', (select coalesce(jsonb_agg(jsonb_build_object('kind', r.kind, 'text', r.text,
              'audio_key', r.audio_key, 'revised_at', r.revised_at) order by r.revised_at, r.id), '[]'::jsonb)
            from (select * from message_revisions where message_id = m.id
                  order by revised_at desc, id desc limit ${revisionsPerMessage}) r))
          order by m.created_at, m.id), '[]'::jsonb) as messages
      from (select * from messages where session_id in (select session_id from shared)
            order by created_at desc, id desc limit ${evidenceSize}) m
    ),
    ok as (
      select 1 from target where ${sessionId}::uuid is null or exists (select 1 from shared)
    ),
    filed as (
      insert into reports (reporter_id, target_user_id, session_id, reason, note, evidence, status, created_at)
      select ${report.reporterId}, ${report.targetUserId}, ${sessionId}::uuid, ${report.reason}, ${report.note ?? null},
        case when ${sessionId}::uuid is null then null else (select messages from evidence) end, 'open', ${now}
      from ok
      returning id, reporter_id, created_at, jsonb_array_length(coalesce(evidence, '[]'::jsonb)) as evidence_count
    ),
    -- The rest of the statement does not see the row just inserted, so it is added to the earlier ones here.
    counted as (
      select r.reporter_id, r.created_at from reports r join users who on who.id = r.reporter_id and who.status = 'active'
      where r.target_user_id = ${report.targetUserId} and r.status = 'open' and r.created_at > ${windowStart}
      union all select reporter_id, created_at from filed
    ),
    -- Only someone who met the target speaks for what the target did: without a session of the
    -- two, three fresh accounts could hold anyone (docs/moderation.md#automatic-holds).
    trusted as (
      select distinct c.reporter_id from counted c
      where not exists (select 1 from blocks b where b.blocker_id = ${report.targetUserId}
        and b.blocked_id = c.reporter_id and b.created_at <= c.created_at)
        and exists (select 1 from session_participants met
          join session_participants theirs on theirs.session_id = met.session_id
            and theirs.user_id = ${report.targetUserId}
          where met.user_id = c.reporter_id)
    ),
    held as (
      update users set held_at = ${now}
      where id = ${report.targetUserId} and status = 'active' and held_at is null and exists (select 1 from filed)
        and (select count(*) from trusted) >= case when created_at > ${newSince}
          then ${rules.holdNewAccountReporters}::int else ${rules.holdReporters}::int end
      returning id
    ),
    withdrawn as (
      update match_attempts set status = 'cancelled', resolved_at = ${now}
      where user_id in (select id from held) and status = 'queued'
      returning id, level
    ),
    audited as (
      insert into audit_logs (actor_id, action, target_type, target_id, metadata, created_at)
      select null, 'user.hold', 'user', id::text, jsonb_build_object(
          'reporters', (select count(*) from trusted), 'report_id', (select id from filed),
          'withdrawn_attempt_id', (select id from withdrawn limit 1)), ${now}
      from held
    )
    select exists (select 1 from reporter) as reporter_active, exists (select 1 from target) as target_exists,
      exists (select 1 from shared) as session_shared,
      (select id from filed) as id, (select evidence_count from filed) as evidence_count,
      exists (select 1 from held) as held,
      (select id from withdrawn limit 1) as withdrawn_id, (select level from withdrawn limit 1) as withdrawn_level
  `;
}
