import { sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { describeError, log } from "../lib/logger";
import { deleteObject, type S3Config } from "./storage";

/** Rows removed per table per sweep, so one sweep never holds the tables for long. */
export const pruneBatchSize = 1000;

/** Sign-in codes stay a day past expiry, so a late verify still hears "expired", not "unknown". */
const expiredCodeRetentionMs = 24 * 60 * 60 * 1000;

/**
 * Deletes sign-in codes a day past their expiry and refresh tokens past theirs, at most
 * `pruneBatchSize` of each, in one round trip: neither table grows for ever. The cron sweep runs
 * it on the HTTP path.
 */
export async function pruneExpiredSignIns(db: Database, now: Date): Promise<{ codes: number; refreshTokens: number }> {
  const codesBefore = new Date(now.getTime() - expiredCodeRetentionMs);
  const result = await db.execute<{ codes: number; refresh_tokens: number }>(sql`
    with codes as (
      delete from auth_email_tokens where id in (
        select id from auth_email_tokens where expires_at < ${codesBefore} limit ${pruneBatchSize})
      returning 1
    ), tokens as (
      delete from refresh_tokens where id in (
        select id from refresh_tokens where expires_at < ${now} limit ${pruneBatchSize})
      returning 1
    )
    select (select count(*) from codes)::int as codes, (select count(*) from tokens)::int as refresh_tokens
  `);
  const row = result.rows[0];
  return { codes: row?.codes ?? 0, refreshTokens: row?.refresh_tokens ?? 0 };
}

/** How long moderators keep what an edited or deleted message said (SPEC §10): 30 days. */
export const revisionRetentionMs = 30 * 24 * 60 * 60 * 1000;

/**
 * Deletes message revisions older than 30 days, at most `pruneBatchSize` a sweep, and with each
 * the recording of a deleted voice note it kept (a revision holds the only key to it): what a
 * message said before its sender changed it is kept only as long as it may be reported (a report
 * keeps its own copy of the text). A revision whose recording could not be deleted stays for the
 * next sweep, so nothing is left in the bucket without a row naming it. Returns how many went.
 */
export async function pruneOldRevisions(db: Database, s3: S3Config, now: Date): Promise<number> {
  const before = new Date(now.getTime() - revisionRetentionMs);
  const old = await db.execute<{ id: string; audio_key: string | null }>(sql`
    select id, audio_key from message_revisions where revised_at < ${before} order by revised_at limit ${pruneBatchSize}
  `);
  const deleted = await Promise.all(
    old.rows.map(async (row) => {
      // A recording is named by one revision only: a voice note is never edited, and deleted once.
      if (!row.audio_key) return row.id;
      return deleteObject(s3, row.audio_key).then(
        () => row.id,
        (error: unknown) => {
          log("warn", "kept voice note not deleted from storage", { key: row.audio_key, ...describeError(error) });
          return undefined;
        },
      );
    }),
  );
  const ids = deleted.filter((id): id is string => id !== undefined);
  if (ids.length === 0) return 0;
  const result = await db.execute<{ pruned: number }>(sql`
    with pruned as (delete from message_revisions where id in ${ids} returning 1)
    select count(*)::int as pruned from pruned
  `);
  return result.rows[0]?.pruned ?? 0;
}
