import { type SQL, sql } from "drizzle-orm";
import type { ModerationConfig } from "../config";
import { type Database, isHttpDatabase, sqlState } from "../db/client";
import type { Level, ReportReason } from "../db/schema/enums";
import type { SuspensionDetails } from "../lib/errors";

export const evidenceSize = 50;
/** The newest versions of one message a report keeps: an edit storm cannot make evidence unreadable. */
export const revisionsPerMessage = 20;

/** What `POST /reports` files: the reporter, whom they report, why, and the session it was in. */
export interface ReportInput {
  reporterId: string;
  targetUserId: string;
  reason: ReportReason;
  note?: string;
  sessionId?: string;
}

export type FileOutcome =
  | {
      kind: "filed";
      id: string;
      evidenceCount: number;
      createdAt: Date;
      hold: FiledHold;
    }
  /** The reporter's open report saying the same (a retry after a lost answer): nothing filed now. */
  | { kind: "repeated"; id: string; evidenceCount: number; createdAt: Date }
  | { kind: "unknown-target" }
  | { kind: "unknown-session" }
  | InactiveReporter;

/**
 * The reporter's own account is gone or suspended: a request admitted just before a suspension's
 * revocation reached Redis. A suspended reporter is told since when and why, as every way in tells
 * them (docs/moderation.md#users-are-told); `suspension` is null for an account that is gone.
 */
export interface InactiveReporter {
  kind: "inactive-reporter";
  suspension: SuspensionDetails | null;
}

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
 * still exists and is active and they have had a session with the target (the one the report names
 * or any other: strangers' reports are kept for moderators but hold nobody). A block either way
 * changes nothing: a target who blocked the partner first must not escape the count.
 *
 * A report the reporter already filed, still open, with the same target, session, reason and
 * note is `repeated`: a retry after a lost answer, or a second tap, files nothing and holds
 * nobody anew (docs/moderation.md#reports).
 *
 * Two reports at once must see each other, and one statement sees only what committed before it
 * began: so the statement runs after a lock on the target's row, in one transaction with it, and
 * takes its snapshot once the other report has committed. On the HTTP path both go as one batch:
 * one round trip.
 */
export async function fileReport(
  db: Database,
  report: ReportInput,
  rules: ModerationConfig,
  now: Date,
): Promise<FileOutcome> {
  // The reporter's row first, `for key share`, as `fileReportAndLeave` takes it: the report's foreign
  // key would check it only at the statement's end, and a deletion of the reporter's account (from
  // another device) that committed in between made the insert fail (23503, a 500). Taken first, the
  // deletion waits for the report, or the report waits for it and finds its reporter gone.
  const lock = sql`
    with reporter as (select 1 from users where id = ${report.reporterId} for key share)
    select 1 from users where id = ${report.targetUserId} and exists (select 1 from reporter) for no key update
  `;
  const row = await afterLock<FiledRow>(db, lock, fileStatement(report, rules, now));
  if (!row?.reporter_active) return inactiveReporter(row);
  if (!row.target_exists) return { kind: "unknown-target" };
  if (row.repeated_id) {
    return {
      kind: "repeated",
      id: row.repeated_id,
      evidenceCount: row.repeated_evidence_count ?? 0,
      createdAt: new Date(row.repeated_created_at ?? now),
    };
  }
  if (!row.id) return { kind: "unknown-session" };
  return {
    kind: "filed",
    id: row.id,
    evidenceCount: row.evidence_count ?? 0,
    createdAt: now,
    hold: holdOf(row),
  };
}

export type LeaveOutcome =
  | {
      kind: "filed";
      report: { id: string; evidenceCount: number; createdAt: Date };
      /** When the session ended: now, or earlier when it had ended before. */
      sessionEndedAt: Date;
      /** The active sessions of the two this ended (the named one, if it was active): each room is told. */
      endedSessions: string[];
      blockedUserId: string;
      hold: FiledHold;
    }
  /** The same call made before (a retry after a lost answer): its report, and nothing changed now. */
  | {
      kind: "replayed";
      report: { id: string; evidenceCount: number; createdAt: Date };
      sessionEndedAt: Date;
      /** null when the partner has deleted their account since. */
      blockedUserId: string | null;
    }
  /** No such session, or not the caller's: the same answer. */
  | { kind: "not-found" }
  /** The partner has deleted their account: nobody to report or block. */
  | { kind: "partner-gone" }
  | InactiveReporter;

/**
 * `POST /sessions/{id}/report-and-leave` in one statement, after a lock on the partner's row (one
 * batch over HTTP: one round trip): files a report against the caller's partner in `sessionId`, as
 * `fileReport` does (the session's evidence, the hold decided with it), blocks the partner as
 * `blockUser` does (`ON CONFLICT DO NOTHING`: blocked once) and ends every active session of the two,
 * the named one included. A session that had ended already stays as it ended: the report and the
 * block are still made (someone may leave first and report a moment later).
 *
 * Idempotent: the report is marked `left_session`, one per reporter and session (a unique index),
 * and a call that finds it changes nothing and answers it (`replayed`), even with another reason,
 * so a retry after a lost answer neither files nor blocks twice, and never undoes an unblock made
 * since. The lock makes a retry that races the first call wait for it and then find its report.
 */
export async function fileReportAndLeave(
  db: Database,
  leave: { reporterId: string; sessionId: string; reason: ReportReason; note?: string },
  rules: ModerationConfig,
  now: Date,
): Promise<LeaveOutcome> {
  // The users' rows first, then the session's: the order a suspension takes them (the user's row,
  // then their session). The reporter's row is taken `for key share`, which the statement's own
  // foreign keys would take only at its end, after the session's lock: a suspension of the
  // reporter at that moment, holding their row and waiting for the session, would deadlock with
  // it. The session's lock makes a report-and-leave that meets the partner's own (or a
  // `POST …/end`) wait for it: the statement then reads the end it made, and answers the
  // session's one `ended_at` instead of a time of its own that the session never had.
  const lock = sql`
    with reporter as (select 1 from users where id = ${leave.reporterId} for key share),
    partner as (
      select 1 from users where exists (select 1 from reporter) and id in (
        select theirs.user_id from session_participants mine
        join session_participants theirs on theirs.session_id = mine.session_id and theirs.user_id <> mine.user_id
        where mine.session_id = ${leave.sessionId} and mine.user_id = ${leave.reporterId}
      ) for no key update
    )
    select 1 from sessions where id = ${leave.sessionId} and exists (select 1 from partner) for no key update
  `;
  const row = await afterLock<LeftRow>(db, lock, leaveStatement(leave, rules, now));
  if (!row?.reporter_active) return inactiveReporter(row);
  if (!row.in_session) return { kind: "not-found" };
  const endedAt = row.session_ended_at ? new Date(row.session_ended_at) : now;
  if (row.earlier_id) {
    return {
      kind: "replayed",
      report: {
        id: row.earlier_id,
        evidenceCount: row.earlier_evidence_count ?? 0,
        createdAt: new Date(row.earlier_created_at ?? now),
      },
      sessionEndedAt: endedAt,
      blockedUserId: row.earlier_target_id,
    };
  }
  if (!row.id || !row.target_id) return { kind: "partner-gone" };
  return {
    kind: "filed",
    report: { id: row.id, evidenceCount: row.evidence_count ?? 0, createdAt: now },
    sessionEndedAt: endedAt,
    endedSessions: row.ended ?? [],
    blockedUserId: row.target_id,
    hold: holdOf(row),
  };
}

/**
 * The reporter's open report saying what `report` says, or undefined: read only when the reports'
 * rate limit refuses a `POST /reports`, so that a retry after a lost answer is answered its report
 * (200) even once the limit is spent since, like `findReportAndLeave`.
 */
export async function findRepeatedReport(
  db: Database,
  report: ReportInput,
): Promise<Extract<FileOutcome, { kind: "repeated" }> | undefined> {
  const result = await db.execute<{ id: string; created_at: string | Date; evidence_count: number }>(sql`
    select same.* from (${sameOpenReport(report)}) same
    where exists (select 1 from users where id = ${report.reporterId} and status = 'active')
  `);
  const row = result.rows[0];
  return row
    ? { kind: "repeated", id: row.id, evidenceCount: row.evidence_count, createdAt: new Date(row.created_at) }
    : undefined;
}

/**
 * The report-and-leave `reporterId` already made in `sessionId`, as `fileReportAndLeave` answers a
 * retry of it, or undefined when there is none. Read only when the reports' rate limit refuses the
 * call: a retry after a lost answer must find its report even when the reporter's limit was spent
 * since (the first call may have been the hour's last allowed one), or the client would be told to
 * try again later for a report it already filed.
 */
export async function findReportAndLeave(
  db: Database,
  reporterId: string,
  sessionId: string,
): Promise<Extract<LeaveOutcome, { kind: "replayed" }> | undefined> {
  const result = await db.execute<{
    id: string;
    target_user_id: string | null;
    created_at: string | Date;
    evidence_count: number;
    ended_at: string | Date | null;
  }>(sql`
    select r.id, r.target_user_id, r.created_at, jsonb_array_length(coalesce(r.evidence, '[]'::jsonb)) as evidence_count,
      s.ended_at
    from reports r
    join users reporter on reporter.id = r.reporter_id and reporter.status = 'active'
    left join sessions s on s.id = r.session_id
    where r.reporter_id = ${reporterId} and r.session_id = ${sessionId} and r.left_session
  `);
  const row = result.rows[0];
  if (!row) return undefined;
  const createdAt = new Date(row.created_at);
  return {
    kind: "replayed",
    report: { id: row.id, evidenceCount: row.evidence_count, createdAt },
    // The call ended the session (or found it ended): it has its end, unless it was deleted since.
    sessionEndedAt: row.ended_at ? new Date(row.ended_at) : createdAt,
    blockedUserId: row.target_user_id,
  };
}

/** The columns `standingColumns` adds to a statement's row: the reporter's suspension, if suspended. */
interface StandingColumns {
  reporter_suspended: boolean | null;
  reporter_suspended_at: string | Date | null;
  reporter_suspension_reason: ReportReason | null;
}

function inactiveReporter(row: StandingColumns | undefined): InactiveReporter {
  if (!row?.reporter_suspended) return { kind: "inactive-reporter", suspension: null };
  const since = row.reporter_suspended_at;
  return {
    kind: "inactive-reporter",
    suspension: { since: since ? new Date(since) : null, reason: row.reporter_suspension_reason },
  };
}

function standingColumns(reporterId: string): SQL {
  return sql`(select status = 'suspended' from users where id = ${reporterId}) as reporter_suspended,
      (select suspended_at from users where id = ${reporterId}) as reporter_suspended_at,
      (select suspension_reason from users where id = ${reporterId}) as reporter_suspension_reason`;
}

/** Set when a report held its target: the attempt the hold withdrew, to take from its matchmaker too. */
type FiledHold = { withdrawnAttempt: { id: string; level: Level } | null } | null;

/** The columns `holdDecision` adds to a statement's row. */
interface HoldColumns {
  held: boolean;
  withdrawn_id: string | null;
  withdrawn_level: Level | null;
}

function holdOf(row: HoldColumns): FiledHold {
  if (!row.held) return null;
  return {
    withdrawnAttempt:
      row.withdrawn_id && row.withdrawn_level ? { id: row.withdrawn_id, level: row.withdrawn_level } : null,
  };
}

/**
 * Runs `statement` after `lock` in one transaction, and answers its one row: as one batch on the
 * HTTP path (one round trip), as a short transaction over a pool.
 */
async function afterLock<Row extends Record<string, unknown>>(
  db: Database,
  lock: SQL,
  statement: SQL,
): Promise<Row | undefined> {
  try {
    return await lockedOnce<Row>(db, lock, statement);
  } catch (error) {
    // Suspension, deletion and this take a user's row before their session's, but a statement's
    // own foreign-key checks lock the rows they reference at its end, in no order anyone chose: a
    // deadlock stays possible with one of those. PostgreSQL then rolls this transaction back
    // whole; run again, it waits for the other one and sees what it did.
    if (
      sqlState(error) !== deadlockDetected &&
      sqlState(error instanceof Error ? error.cause : undefined) !== deadlockDetected
    ) {
      throw error;
    }
    return lockedOnce<Row>(db, lock, statement);
  }
}

/** SQLSTATE `deadlock_detected`. */
const deadlockDetected = "40P01";

async function lockedOnce<Row extends Record<string, unknown>>(
  db: Database,
  lock: SQL,
  statement: SQL,
): Promise<Row | undefined> {
  const result = isHttpDatabase(db)
    ? (await db.batch([db.execute(lock), db.execute<Row>(statement)]))[1]
    : await db.transaction(async (tx) => {
        await tx.execute(lock);
        return tx.execute<Row>(statement);
      });
  // Both drivers answer the statement's own columns; the pool's type only wraps `Row` generically.
  return result.rows[0] as Row | undefined;
}

interface FiledRow extends HoldColumns, StandingColumns, Record<string, unknown> {
  reporter_active: boolean;
  target_exists: boolean;
  session_shared: boolean;
  id: string | null;
  evidence_count: number | null;
  repeated_id: string | null;
  repeated_evidence_count: number | null;
  repeated_created_at: string | Date | null;
}

interface LeftRow extends HoldColumns, StandingColumns, Record<string, unknown> {
  reporter_active: boolean;
  in_session: boolean;
  target_id: string | null;
  id: string | null;
  evidence_count: number | null;
  earlier_id: string | null;
  earlier_evidence_count: number | null;
  earlier_created_at: string | null;
  earlier_target_id: string | null;
  ended: string[] | null;
  session_ended_at: string | null;
}

/**
 * The `evidence` CTE: the last `evidenceSize` messages of the sessions in the `shared` CTE, oldest
 * first, each with its newest `revisionsPerMessage` revisions.
 */
const evidence = sql`
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
    )`;

/**
 * The CTEs that decide a hold (docs/moderation.md#automatic-holds) once the `filed` CTE has filed a
 * report against the user of the `target` CTE: `counted`, `trusted`, `held`, `withdrawn`, `audited`.
 * The statement's row gets `held`, `withdrawn_id` and `withdrawn_level` from `holdColumns`.
 */
function holdDecision(rules: ModerationConfig, now: Date): SQL {
  const windowStart = new Date(now.getTime() - rules.holdWindowMs);
  const newSince = new Date(now.getTime() - rules.newAccountMs);
  return sql`
    -- The rest of the statement does not see the row just inserted, so it is added to the earlier ones here.
    counted as (
      select r.reporter_id from reports r join users who on who.id = r.reporter_id and who.status = 'active'
      where r.target_user_id = (select id from target) and r.status = 'open' and r.created_at > ${windowStart}
      union all select reporter_id from filed
    ),
    -- Only someone who met the target speaks for what the target did: without a session of the
    -- two, three fresh accounts could hold anyone (docs/moderation.md#automatic-holds).
    trusted as (
      select distinct c.reporter_id from counted c
      where exists (select 1 from session_participants met
        join session_participants theirs on theirs.session_id = met.session_id
          and theirs.user_id = (select id from target)
        where met.user_id = c.reporter_id)
    ),
    held as (
      update users set held_at = ${now}
      where id = (select id from target) and status = 'active' and held_at is null and exists (select 1 from filed)
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
    )`;
}

const holdColumns = sql`exists (select 1 from held) as held,
      (select id from withdrawn limit 1) as withdrawn_id, (select level from withdrawn limit 1) as withdrawn_level`;

/**
 * The reporter's open report with the same target, session, reason and note as `report`: the
 * `repeated` of `fileStatement`, and what `findRepeatedReport` reads.
 */
function sameOpenReport(report: ReportInput): SQL {
  return sql`
    select id, created_at, jsonb_array_length(coalesce(evidence, '[]'::jsonb)) as evidence_count from reports
    where reporter_id = ${report.reporterId} and target_user_id = ${report.targetUserId} and status = 'open'
      and session_id is not distinct from ${report.sessionId ?? null}::uuid and reason = ${report.reason}
      and note is not distinct from ${report.note ?? null}::text
    order by created_at limit 1`;
}

function fileStatement(report: ReportInput, rules: ModerationConfig, now: Date): SQL {
  const sessionId = report.sessionId ?? null;
  return sql`
    with reporter as (select id from users where id = ${report.reporterId} and status = 'active'),
    target as (select id from users where id = ${report.targetUserId} and exists (select 1 from reporter)),
    shared as (
      select mine.session_id from session_participants mine
      join session_participants theirs on theirs.session_id = mine.session_id and theirs.user_id = ${report.targetUserId}
      where mine.user_id = ${report.reporterId} and mine.session_id = ${sessionId}::uuid
    ),
    ${evidence},
    repeated as (${sameOpenReport(report)}),
    ok as (
      select 1 from target where (${sessionId}::uuid is null or exists (select 1 from shared))
        and not exists (select 1 from repeated)
    ),
    filed as (
      insert into reports (reporter_id, target_user_id, session_id, reason, note, evidence, status, created_at)
      select ${report.reporterId}, ${report.targetUserId}, ${sessionId}::uuid, ${report.reason}, ${report.note ?? null},
        case when ${sessionId}::uuid is null then null else (select messages from evidence) end, 'open', ${now}
      from ok
      returning id, reporter_id, created_at, jsonb_array_length(coalesce(evidence, '[]'::jsonb)) as evidence_count
    ),
    ${holdDecision(rules, now)}
    select exists (select 1 from reporter) as reporter_active, exists (select 1 from target) as target_exists,
      exists (select 1 from shared) as session_shared,
      (select id from filed) as id, (select evidence_count from filed) as evidence_count,
      (select id from repeated) as repeated_id, (select evidence_count from repeated) as repeated_evidence_count,
      (select created_at from repeated) as repeated_created_at,
      ${standingColumns(report.reporterId)}, ${holdColumns}
  `;
}

function leaveStatement(
  leave: { reporterId: string; sessionId: string; reason: ReportReason; note?: string },
  rules: ModerationConfig,
  now: Date,
): SQL {
  return sql`
    with reporter as (select id from users where id = ${leave.reporterId} and status = 'active'),
    mine as (
      select session_id from session_participants
      where session_id = ${leave.sessionId} and user_id = ${leave.reporterId} and exists (select 1 from reporter)
    ),
    -- The partner: the session's other participant, while their account exists.
    target as (
      select user_id as id from session_participants
      where session_id in (select session_id from mine) and user_id <> ${leave.reporterId}
    ),
    earlier as (
      select id, target_user_id, created_at, jsonb_array_length(coalesce(evidence, '[]'::jsonb)) as evidence_count
      from reports
      where reporter_id = ${leave.reporterId} and session_id = ${leave.sessionId} and left_session
        and exists (select 1 from mine)
    ),
    shared as (
      select session_id from mine where exists (select 1 from target) and not exists (select 1 from earlier)
    ),
    ${evidence},
    filed as (
      insert into reports (reporter_id, target_user_id, session_id, reason, note, evidence, status, created_at,
        left_session)
      select ${leave.reporterId}, id, ${leave.sessionId}, ${leave.reason}, ${leave.note ?? null},
        (select messages from evidence), 'open', ${now}, true
      from target where not exists (select 1 from earlier)
      on conflict (reporter_id, session_id) where left_session do nothing
      returning id, reporter_id, created_at, jsonb_array_length(coalesce(evidence, '[]'::jsonb)) as evidence_count
    ),
    blocked as (
      insert into blocks (blocker_id, blocked_id, created_at)
      select ${leave.reporterId}, id, ${now} from target where exists (select 1 from filed)
      on conflict do nothing
    ),
    ended as (
      update sessions set status = 'ended', ended_at = ${now},
        duration_sec = greatest(0, floor(extract(epoch from (${now}::timestamptz - started_at))))::int
      where status = 'active' and exists (select 1 from filed) and id in (
        select both_in.session_id from session_participants both_in
        join session_participants theirs on theirs.session_id = both_in.session_id
          and theirs.user_id = (select id from target)
        where both_in.user_id = ${leave.reporterId})
      returning id
    ),
    ${holdDecision(rules, now)}
    select exists (select 1 from reporter) as reporter_active, exists (select 1 from mine) as in_session,
      (select id from target) as target_id,
      (select id from filed) as id, (select evidence_count from filed) as evidence_count,
      (select id from earlier) as earlier_id, (select evidence_count from earlier) as earlier_evidence_count,
      (select created_at from earlier) as earlier_created_at, (select target_user_id from earlier) as earlier_target_id,
      (select array_agg(id) from ended) as ended,
      case when exists (select 1 from ended where id = ${leave.sessionId}) then ${now}::timestamptz
        else (select ended_at from sessions where id = ${leave.sessionId}) end as session_ended_at,
      ${standingColumns(leave.reporterId)}, ${holdColumns}
  `;
}
