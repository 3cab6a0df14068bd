import { sql } from "drizzle-orm";
import type { Database } from "../db/client";

export const evidenceSize = 50;
/** The newest versions of one message a report keeps: an edit storm cannot make evidence unreadable. */
export const revisionsPerMessage = 20;

export type ReportReason = "spam" | "harassment" | "inappropriate" | "underage" | "scam" | "other";

export type FileOutcome =
  | { kind: "filed"; id: string; evidenceCount: number; createdAt: Date }
  | { kind: "unknown-target" }
  | { kind: "unknown-session" }
  /** The reporter's own account is gone or suspended (a token that outlived it). */
  | { kind: "inactive-reporter" };

/**
 * Files a report in one statement. A report that names a session must name one the reporter
 * shared with the target, and it stores a snapshot of that session's last 50 messages, with what
 * each said before its sender edited or deleted it (SPEC §10: a transcript cleaned before the
 * report still shows the truth), so moderators see what happened whatever is changed later.
 * Being one statement, it runs on the HTTP path.
 */
export async function fileReport(
  db: Database,
  report: { reporterId: string; targetUserId: string; reason: ReportReason; note?: string; sessionId?: string },
  now: Date,
): Promise<FileOutcome> {
  const sessionId = report.sessionId ?? null;
  const result = await db.execute<{
    reporter_active: boolean;
    target_exists: boolean;
    session_shared: boolean;
    id: string | null;
    evidence_count: number | null;
  }>(sql`
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
      returning id, jsonb_array_length(coalesce(evidence, '[]'::jsonb)) as evidence_count
    )
    select exists (select 1 from reporter) as reporter_active, exists (select 1 from target) as target_exists, exists (select 1 from shared) as session_shared,
      (select id from filed) as id, (select evidence_count from filed) as evidence_count
  `);
  const row = result.rows[0];
  if (!row?.reporter_active) return { kind: "inactive-reporter" };
  if (!row.target_exists) return { kind: "unknown-target" };
  if (!row.id) return { kind: "unknown-session" };
  return { kind: "filed", id: row.id, evidenceCount: row.evidence_count ?? 0, createdAt: now };
}
