import { and, desc, eq, isNull, not, or, type SQL, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { Database, PoolDatabase, Queryable } from "../db/client";
import { olderThan } from "../db/keyset";
import { auditLogs, moderationNotices, profiles, refreshTokens, reports, users } from "../db/schema";
import { type Level, levels, type ReportReason } from "../db/schema/enums";
import type { HeldFirstPosition, KeysetPosition } from "../lib/pagination";
import type { Role } from "./auth/tokens";
import { type Departure, leaveEverything } from "./departures";
import { callsOf } from "./sessions";

const reporter = alias(users, "reporter");
const reporterProfile = alias(profiles, "reporter_profile");
const target = alias(users, "target");
const targetProfile = alias(profiles, "target_profile");

function reportRows(db: Database, where: SQL | undefined) {
  return db
    .select({
      report: reports,
      reporter: {
        id: reporter.id,
        email: reporter.email,
        status: reporter.status,
        displayName: reporterProfile.displayName,
      },
      target: { id: target.id, email: target.email, status: target.status, displayName: targetProfile.displayName },
      /** Whether the target is held for review now (docs/moderation.md#automatic-holds). */
      held: sql<boolean>`${target.heldAt} is not null`,
      /** Since when, which places the report in the queue's held part (`listReports`). */
      heldAt: target.heldAt,
      /**
       * The calls of the report's session as recorded now, not a snapshot: a call's record only moves
       * forward and never changes once ended, so it cannot be cleaned, and a call the report ended
       * shows how it ended.
       */
      calls: callsOf(reports.sessionId),
    })
    .from(reports)
    .leftJoin(reporter, eq(reporter.id, reports.reporterId))
    .leftJoin(reporterProfile, eq(reporterProfile.userId, reports.reporterId))
    .leftJoin(target, eq(target.id, reports.targetUserId))
    .leftJoin(targetProfile, eq(targetProfile.userId, reports.targetUserId))
    .where(where);
}

export type ReportRow = Awaited<ReturnType<typeof reportRows>>[number];

/**
 * Reports with both users' summaries, `limit + 1` rows from `after`: open reports of held users
 * first (a moderator looks at those before anything else), then newest first. The held part is
 * the users held as of `asOf` (the first page's instant, carried by the cursor), so the pages keep
 * one order: a user held meanwhile keeps their reports where the first page placed them, instead
 * of moving them to the part already read. (A suspension meanwhile clears a hold: that user's
 * reports then come again in the later part, a repeat rather than a skip.) One statement over the
 * HTTP path: a read needs no connection of its own.
 */
export function listReports(
  db: Database,
  status: "open" | "closed",
  limit: number,
  after: HeldFirstPosition | undefined,
  asOf: Date,
) {
  const older = olderThan(reports.createdAt, reports.id, after);
  const newestFirst = [desc(reports.createdAt), desc(reports.id)];
  if (status === "closed") {
    return reportRows(db, and(eq(reports.status, status), older))
      .orderBy(...newestFirst)
      .limit(limit + 1);
  }
  const held = sql`(${target.heldAt} is not null and ${target.heldAt} <= ${asOf.toISOString()}::timestamptz)`;
  const next = !after ? undefined : after.held ? or(and(held, older), not(held)) : and(not(held), older);
  return reportRows(db, and(eq(reports.status, status), next))
    .orderBy(desc(held), ...newestFirst)
    .limit(limit + 1);
}

/** Where a report stands in `listReports`'s order as of `asOf`, for its cursor. */
export function queuePosition(row: ReportRow, asOf: Date): HeldFirstPosition {
  const held = row.report.status === "open" && row.heldAt !== null && row.heldAt <= asOf;
  return { held, at: row.report.createdAt, id: row.report.id, asOf };
}

/**
 * The report with both users' summaries; one statement over the HTTP path.
 */
export async function findReport(db: Database, reportId: string): Promise<ReportRow | undefined> {
  const [row] = await reportRows(db, eq(reports.id, reportId));
  return row;
}

/** A row of the audit trail, as `listAuditLogs` reads it and each admin action answers what it wrote. */
export type AuditEntry = typeof auditLogs.$inferSelect;

/**
 * Writes the audit trail of an admin action and answers the row written, which the action hands
 * back to its caller (the console shows it); call it in the transaction of the action itself.
 */
async function audit(
  tx: Queryable,
  entry: { actorId: string; action: string; targetType: string; targetId: string; metadata: Record<string, unknown> },
  now: Date,
): Promise<AuditEntry> {
  const [written] = await tx
    .insert(auditLogs)
    .values({ ...entry, createdAt: now })
    .returning();
  if (!written) throw new Error("the audit row was not written");
  return written;
}

/**
 * Suspends a user: no sign-in, refresh, matching or sending from now on; their sign-ins are
 * revoked, their active session ends and their queued attempt is withdrawn. They are told since
 * when and `reason`, the category of the report that asked for it (null without one). A hold for review
 * ends with it: the suspension says more, and lifting it later must not leave a hold behind that
 * no open report could release. The caller announces the departure (and revokes access tokens)
 * after the commit.
 */
async function suspend(tx: Queryable, userId: string, reason: ReportReason | null, now: Date): Promise<Departure> {
  await tx
    .update(users)
    .set({ status: "suspended", heldAt: null, suspendedAt: now, suspensionReason: reason })
    .where(eq(users.id, userId));
  await tx
    .update(refreshTokens)
    .set({ revokedAt: now })
    .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)));
  return leaveEverything(tx, userId, now);
}

/** A user an admin action suspended, with what they left, to announce after the commit. */
export interface Suspension {
  userId: string;
  /** The reason category they are told, as `suspend` stored it. */
  reason: ReportReason | null;
  departure: Departure;
}

export type CloseOutcome =
  /** `audit` is what the closing wrote: `report.close`, then `user.release` when it lifted a hold. */
  | { kind: "closed"; suspension: Suspension | null; audit: AuditEntry[] }
  | { kind: "not-found" }
  | { kind: "already-closed" }
  /** The report is about the admin closing it: nobody decides their own case. */
  | { kind: "own-report" }
  /** A `warn` or `suspend` of an account that was deleted: nobody to tell or suspend. */
  | { kind: "target-deleted" }
  /** A `suspend` that `mayChangeRights` refused, as `POST /admin/users/{id}/suspend` would be. */
  | AdminRefusal;

/**
 * Closes a report with its audit row, and suspends the target when the decision says so; `warn`
 * and `suspend` leave the target a moderation notice (`GET /me`). Closing
 * a held target's last open report with `none` or `warn` releases the hold, audited as the
 * admin's (docs/moderation.md#automatic-holds). A `suspend` of a target already suspended closes
 * the report and leaves the suspension as it was (its time and the reason the user is told), with
 * no second notice. An interactive transaction on the request's pool: the report row is locked and
 * read before the decision is written, and the audit row must commit with it.
 */
export async function closeReport(
  db: PoolDatabase,
  adminId: string,
  reportId: string,
  decision: { resolution: string; action: "none" | "warn" | "suspend" },
  now: Date,
): Promise<CloseOutcome> {
  return db.transaction(async (tx): Promise<CloseOutcome> => {
    // A suspension through a report is a change of admin rights when its target is an admin: it
    // takes its turn like `setUserStatus` (first, before any row lock), or two admins closing
    // reports about each other at once could suspend each other and leave no active admin.
    if (decision.action === "suspend") await takeTurnForAdminRights(tx);
    // The target's row is locked before the report's, the order an account deletion takes them in
    // (the user, then their reports through the foreign key's `set null`): the other order
    // deadlocks with the target deleting their account at that moment. The report is read unlocked
    // first only to learn whom it names; a deletion committed meanwhile shows in the locked read.
    const [named] = await tx
      .select({ targetUserId: reports.targetUserId })
      .from(reports)
      .where(eq(reports.id, reportId));
    if (!named) return { kind: "not-found" as const };
    // The target's row lock before the report changes: a report filed meanwhile waits for this
    // closing to commit and then counts this report as closed (docs/moderation.md#automatic-holds).
    const [target] = named.targetUserId
      ? await tx
          .select({ status: users.status, role: users.role, adminSource: users.adminSource })
          .from(users)
          .where(eq(users.id, named.targetUserId))
          .for("no key update")
      : [];
    const [report] = await tx.select().from(reports).where(eq(reports.id, reportId)).for("update");
    if (!report) return { kind: "not-found" as const };
    if (report.status === "closed") return { kind: "already-closed" as const };
    if (report.targetUserId === adminId) return { kind: "own-report" as const };
    if (!target && decision.action !== "none") return { kind: "target-deleted" as const };
    if (decision.action === "suspend" && target) {
      // Re-checked in its turn: the actor is still an active admin and not outranked by the target.
      const refusal = await mayChangeRights(tx, adminId, target);
      if (refusal) return refusal;
    }
    const suspends = decision.action === "suspend" && target?.status === "active";
    await tx
      .update(reports)
      .set({
        status: "closed",
        resolution: decision.resolution,
        action: decision.action,
        closedBy: adminId,
        closedAt: now,
      })
      .where(eq(reports.id, reportId));
    const suspension =
      suspends && report.targetUserId
        ? {
            userId: report.targetUserId,
            reason: report.reason,
            departure: await suspend(tx, report.targetUserId, report.reason, now),
          }
        : null;
    const release =
      decision.action !== "suspend" && report.targetUserId
        ? await releaseHold(tx, adminId, report.targetUserId, reportId, now)
        : null;
    // A suspension already in force was told when it was made: the user hears of it once.
    const told = decision.action === "warn" ? "warn" : suspends ? "suspend" : null;
    if (told && report.targetUserId) {
      // The user is told what it was about (docs/moderation.md#users-are-told), never by whom.
      await tx.insert(moderationNotices).values({
        userId: report.targetUserId,
        reportId,
        action: told,
        reason: report.reason,
        createdAt: now,
      });
    }
    const closing = await audit(
      tx,
      {
        actorId: adminId,
        action: "report.close",
        targetType: "report",
        targetId: reportId,
        metadata: { action: decision.action, resolution: decision.resolution, target_user_id: report.targetUserId },
      },
      now,
    );
    return { kind: "closed" as const, suspension, audit: release ? [closing, release] : [closing] };
  });
}

/**
 * Lifts `userId`'s hold when no open report of theirs remains, with its audit row; in the
 * transaction of the report's closing, which holds the target's row lock already (`closeReport`),
 * so a report being filed at this moment (which takes the same lock, services/reports.ts) is
 * either seen as open here or sees this report closed. Answers the audit row written, or null
 * when there was no hold to lift.
 */
async function releaseHold(
  tx: Queryable,
  adminId: string,
  userId: string,
  reportId: string,
  now: Date,
): Promise<AuditEntry | null> {
  const released = await tx.execute<{ id: string }>(sql`
    with released as (
      update users set held_at = null
      where id = ${userId} and held_at is not null
        and not exists (select 1 from reports where target_user_id = ${userId} and status = 'open')
      returning id
    )
    insert into audit_logs (actor_id, action, target_type, target_id, metadata, created_at)
    select ${adminId}, 'user.release', 'user', id::text, jsonb_build_object('report_id', ${reportId}::uuid), ${now}
    from released
    returning id
  `);
  const [row] = released.rows;
  // The row as the statement above wrote it: only its id came from the database.
  return row
    ? {
        id: row.id,
        actorId: adminId,
        action: "user.release",
        targetType: "user",
        targetId: userId,
        metadata: { report_id: reportId },
        createdAt: now,
      }
    : null;
}

/** Why an admin may not change another account's rights now. */
export type AdminRefusal =
  /** The actor lost the admin role, or was suspended, since the request began. */
  | { kind: "actor-not-admin" }
  /** The target is an admin by configuration (`ADMIN_EMAILS`) and the actor only by grant. */
  | { kind: "outranked" };

/** The key of the advisory lock under which every change of admin rights takes its turn. */
const adminRightsLock = 7_402_315_001;

/**
 * Makes changes of admin rights take turns: a transaction-level advisory lock, taken first in the
 * transaction, before any row lock (a change that locked its target row first could deadlock with
 * another waiting here, through the foreign key of its audit row to its actor).
 */
async function takeTurnForAdminRights(tx: Queryable): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${adminRightsLock})`);
}

/**
 * Reads, in its turn (`takeTurnForAdminRights`), whether `actorId` is still an active admin who
 * may act on `target`. Two admins demoting or suspending each other at once cannot both succeed:
 * the second finds its actor no longer an admin. As nobody acts on themselves, at least one
 * active admin always remains. An admin listed in `ADMIN_EMAILS` outranks one granted the role
 * here: a granted admin cannot suspend, lift, or take the role of a configured one.
 */
async function mayChangeRights(
  tx: Queryable,
  actorId: string,
  target: { role: Role; adminSource: "config" | "grant" | null },
): Promise<AdminRefusal | null> {
  const [actor] = await tx
    .select({ role: users.role, status: users.status, adminSource: users.adminSource })
    .from(users)
    .where(eq(users.id, actorId));
  if (actor?.role !== "admin" || actor.status !== "active") return { kind: "actor-not-admin" };
  if (target.role === "admin" && target.adminSource === "config" && actor.adminSource !== "config") {
    return { kind: "outranked" };
  }
  return null;
}

export type StatusOutcome =
  | { kind: "done"; previous: "active" | "suspended"; suspension: Suspension | null; audit: AuditEntry }
  | { kind: "not-found" }
  /** The account already has that status: nothing was changed or audited. */
  | { kind: "unchanged" }
  | AdminRefusal;

/**
 * Suspends or lifts a suspension, with its audit row, when `mayChangeRights` allows. An
 * interactive transaction on the request's pool: the user row is locked and its previous status
 * read before the change, and the audit row must commit with it.
 */
export async function setUserStatus(
  db: PoolDatabase,
  adminId: string,
  userId: string,
  status: "active" | "suspended",
  now: Date,
): Promise<StatusOutcome> {
  return db.transaction(async (tx): Promise<StatusOutcome> => {
    await takeTurnForAdminRights(tx);
    const [user] = await tx
      .select({ status: users.status, role: users.role, adminSource: users.adminSource })
      .from(users)
      .where(eq(users.id, userId))
      .for("update");
    if (!user) return { kind: "not-found" as const };
    const refusal = await mayChangeRights(tx, adminId, user);
    if (refusal) return refusal;
    // Suspending again would replace the suspension's time and reason (a report's category, which
    // the user is told) with this one's, and lifting twice would audit a lifting that lifted
    // nothing: of two admins doing the same at once, the second is told it was done.
    if (user.status === status) return { kind: "unchanged" as const };
    let suspension: Suspension | null = null;
    if (status === "suspended") suspension = { userId, reason: null, departure: await suspend(tx, userId, null, now) };
    else {
      await tx
        .update(users)
        .set({ status: "active", suspendedAt: null, suspensionReason: null })
        .where(eq(users.id, userId));
    }
    const written = await audit(
      tx,
      {
        actorId: adminId,
        action: status === "suspended" ? "user.suspend" : "user.unsuspend",
        targetType: "user",
        targetId: userId,
        metadata: { previous_status: user.status },
      },
      now,
    );
    return { kind: "done" as const, previous: user.status, suspension, audit: written };
  });
}

export type RoleOutcome =
  | { kind: "done"; previous: Role; audit: AuditEntry }
  | { kind: "not-found" }
  /** The address is in `ADMIN_EMAILS`, which would make it an admin again at its next sign-in. */
  | { kind: "configured-admin" }
  /** The account already has that role: nothing was changed or audited. */
  | { kind: "unchanged" }
  | AdminRefusal;

/**
 * Grants or takes away the admin role, audited in the same transaction; granting it to an admin
 * or taking it from a user changes nothing and audits nothing (`unchanged`), as a repeated
 * suspension does. A role granted here stays until an admin takes it away; an address listed in
 * `ADMIN_EMAILS` is an admin by configuration, so taking its role away here is refused (remove it
 * from the list instead). Changes take turns and re-check their actor (`mayChangeRights`). An interactive transaction on
 * the request's pool, for the same reason.
 */
export async function setUserRole(
  db: PoolDatabase,
  adminId: string,
  userId: string,
  role: Role,
  adminEmails: ReadonlySet<string>,
  now: Date,
): Promise<RoleOutcome> {
  return db.transaction(async (tx): Promise<RoleOutcome> => {
    await takeTurnForAdminRights(tx);
    const [user] = await tx
      .select({ role: users.role, email: users.email, adminSource: users.adminSource })
      .from(users)
      .where(eq(users.id, userId))
      .for("update");
    if (!user) return { kind: "not-found" as const };
    const refusal = await mayChangeRights(tx, adminId, user);
    if (refusal) return refusal;
    if (role === "user" && adminEmails.has(user.email)) return { kind: "configured-admin" as const };
    if (user.role === role) return { kind: "unchanged" as const };
    await tx
      .update(users)
      .set({ role, adminSource: role === "admin" ? "grant" : null })
      .where(eq(users.id, userId));
    const written = await audit(
      tx,
      {
        actorId: adminId,
        action: role === "admin" ? "user.role.grant" : "user.role.revoke",
        targetType: "user",
        targetId: userId,
        metadata: { previous_role: user.role, role },
      },
      now,
    );
    return { kind: "done" as const, previous: user.role, audit: written };
  });
}

export function startOfUtcDay(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

/**
 * Today's figures, UTC. A user is active today when they signed in or refreshed, took part in a
 * session that started, or sent a message today. Time spoken counts the calls that ended today.
 * One statement over the HTTP path.
 */
export async function overview(db: Database, now: Date) {
  const since = startOfUtcDay(now);
  const result = await db.execute<{
    sessions_today: number;
    dau: number;
    waiting: number;
    open_reports: number;
    spoken_sec_today: number;
  }>(sql`
    select
      (select count(*) from sessions where started_at >= ${since})::int as sessions_today,
      (select count(*) from (
         select sp.user_id from session_participants sp join sessions s on s.id = sp.session_id where s.started_at >= ${since}
         union select sender_id from messages where created_at >= ${since} and sender_id is not null
         union select user_id from refresh_tokens where created_at >= ${since}
       ) active)::int as dau,
      (select count(*) from match_attempts where status = 'queued')::int as waiting,
      (select count(*) from reports where status = 'open')::int as open_reports,
      (select coalesce(sum(duration_sec), 0) from calls where ended_at >= ${since})::int as spoken_sec_today
  `);
  const row = result.rows[0];
  return {
    sessionsToday: row?.sessions_today ?? 0,
    dau: row?.dau ?? 0,
    waiting: row?.waiting ?? 0,
    openReports: row?.open_reports ?? 0,
    spokenSecToday: row?.spoken_sec_today ?? 0,
  };
}

/** One hour of a level's queue: what `GET /admin/stats/queues` charts hour by hour. */
export interface QueueHour {
  /** The hour's first instant (UTC, on the hour); the last hour is the one going on. */
  start: string;
  /** Learners waiting at the hour's end (now, for the hour going on). */
  depth: number;
  /** Of the attempts matched in the hour, the wait from asking to being matched; null when none. */
  wait_p50_ms: number | null;
  wait_p95_ms: number | null;
  /** Attempts that ended in the hour, and of them those that found a partner. */
  matched: number;
  resolved: number;
  match_rate: number | null;
}

export interface QueueFigures {
  level: Level;
  depth: number;
  wait_p50_ms: number | null;
  wait_p95_ms: number | null;
  matched_24h: number;
  resolved_24h: number;
  match_rate_24h: number | null;
  /** The last 24 hours, oldest first, the hour going on last. */
  hours: QueueHour[];
}

const hourMs = 3600 * 1000;

/**
 * Per level: queue depth now, and over the last 24 h the wait to a match (p50, p95) and the match
 * rate, in all and hour by hour (`hours`: the 23 whole UTC hours before this one, then this one).
 * Hours count an attempt when it ended, and its depth is read at the hour's end. One statement
 * over the HTTP path; it reads the attempts made since a day and `attemptTtlMs` (ms) before the
 * first hour, plus the ones still queued: an attempt ends by its TTL, so an older one ended
 * before the window (the slack of an hour covers a sweep that ran late).
 */
export async function queueStats(db: Database, now: Date, attemptTtlMs: number): Promise<QueueFigures[]> {
  const since = new Date(now.getTime() - 24 * hourMs);
  const firstHour = new Date(Math.floor(now.getTime() / hourMs) * hourMs - 23 * hourMs);
  const readSince = new Date(firstHour.getTime() - attemptTtlMs - hourMs);
  const result = await db.execute<{
    level: Level;
    hour: number;
    depth: number;
    p50: number | null;
    p95: number | null;
    matched: number;
    resolved: number;
  }>(sql`
    with attempts as (
      select level, status, created_at, resolved_at,
        extract(epoch from resolved_at - created_at) * 1000 as wait_ms
      from match_attempts
      where status = 'queued' or created_at >= ${readSince}
    ),
    -- Hour -1 holds the whole day (the figures of the last 24 h, and the depth now); 0–23 the hours.
    slots as (
      select level, hour from unnest(enum_range(null::level)) level cross join generate_series(-1, 23) hour
    ),
    -- Each attempt adds one to the queue when made and takes it away when it ends; the hour an
    -- event falls in (hours before the first one count as -1), summed as the hours go, is the depth.
    events as (
      select level, greatest(-1, floor(extract(epoch from at - ${firstHour}::timestamptz) / 3600))::int as hour,
        sum(delta)::int as delta
      from (select level, created_at as at, 1 as delta from attempts
            union all select level, resolved_at, -1 from attempts where resolved_at is not null) e
      group by 1, 2
    ),
    ended as (
      select level, floor(extract(epoch from resolved_at - ${firstHour}::timestamptz) / 3600)::int as hour,
        status, wait_ms
      from attempts where resolved_at >= ${firstHour}
    ),
    hourly as (
      select level, hour,
        percentile_cont(0.5) within group (order by wait_ms) filter (where status = 'matched') as p50,
        percentile_cont(0.95) within group (order by wait_ms) filter (where status = 'matched') as p95,
        (count(*) filter (where status = 'matched'))::int as matched, count(*)::int as resolved
      from ended group by level, hour
    ),
    daily as (
      select level, -1 as hour,
        percentile_cont(0.5) within group (order by wait_ms) filter (where status = 'matched') as p50,
        percentile_cont(0.95) within group (order by wait_ms) filter (where status = 'matched') as p95,
        (count(*) filter (where status = 'matched'))::int as matched,
        (count(*) filter (where status <> 'queued'))::int as resolved
      from attempts where created_at >= ${since} group by level
    )
    select s.level, s.hour,
      case when s.hour = -1 then (select count(*) from attempts a where a.level = s.level and a.status = 'queued')
        else sum(coalesce(e.delta, 0)) over (partition by s.level order by s.hour) end::int as depth,
      coalesce(h.p50, d.p50) as p50, coalesce(h.p95, d.p95) as p95,
      coalesce(h.matched, d.matched, 0) as matched, coalesce(h.resolved, d.resolved, 0) as resolved
    from slots s
    left join events e on e.level = s.level and e.hour = s.hour
    left join hourly h on h.level = s.level and h.hour = s.hour
    left join daily d on d.level = s.level and d.hour = s.hour
    order by s.level, s.hour
  `);
  return levels.map((level) => {
    const rows = result.rows.filter((row) => row.level === level);
    const day = rows.find((row) => row.hour === -1);
    const matched = day?.matched ?? 0;
    const resolved = day?.resolved ?? 0;
    return {
      level,
      depth: day?.depth ?? 0,
      wait_p50_ms: milliseconds(day?.p50),
      wait_p95_ms: milliseconds(day?.p95),
      matched_24h: matched,
      resolved_24h: resolved,
      match_rate_24h: resolved > 0 ? matched / resolved : null,
      hours: rows
        .filter((row) => row.hour >= 0)
        .map((row) => ({
          start: new Date(firstHour.getTime() + row.hour * hourMs).toISOString(),
          depth: row.depth,
          wait_p50_ms: milliseconds(row.p50),
          wait_p95_ms: milliseconds(row.p95),
          matched: row.matched,
          resolved: row.resolved,
          match_rate: row.resolved > 0 ? row.matched / row.resolved : null,
        })),
    };
  });
}

/** A percentile the database computed as a float (or a numeric string), to whole ms. */
function milliseconds(value: number | string | null | undefined): number | null {
  return value === null || value === undefined ? null : Math.round(Number(value));
}

/**
 * The audit trail, newest first, `limit + 1` rows from `after`: one statement over the HTTP path.
 */
export function listAuditLogs(db: Database, limit: number, after?: KeysetPosition) {
  return db
    .select()
    .from(auditLogs)
    .where(olderThan(auditLogs.createdAt, auditLogs.id, after))
    .orderBy(desc(auditLogs.createdAt), desc(auditLogs.id))
    .limit(limit + 1);
}
