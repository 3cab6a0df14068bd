import { getConfig } from "../config";
import { type Database, openDatabase } from "../db/client";
import { levels } from "../db/schema/enums";
import { describeError, log } from "../lib/logger";
import { getRedis } from "../lib/redis";
import { handBack, queuedAttempts } from "../services/attempts";
import { pruneExpiredSignIns, pruneOldRevisions } from "../services/housekeeping";
import { expireStaleAttempts } from "../services/match-store";
import { type ObjectCalls, objectCalls } from "../services/objects";
import { sweepPresence } from "../services/presence";

/**
 * The every-minute Cron Trigger: drops stale members from the online indexes, has every level's
 * matchmaker expire the attempts of users who stopped pinging or waited too long, then expires
 * in the database whatever is still queued past its lifetime (held by no object), hands every
 * younger queued attempt that its object does not hold back to it, and prunes expired sign-in
 * codes and refresh tokens and message revisions past 30 days. Each part is idempotent and independent of the
 * others, so two sweeps running at once do no harm and one failing part does not stop the rest.
 */
export const sweep: ExportedHandlerScheduledHandler<Env> = async (controller, env) => {
  const started = Date.now();
  const config = getConfig(env);
  const objects = objectCalls(env, config.durableObjectTimeoutMs);
  const database = openDatabase(config.database, (error) =>
    log("warn", "cron sweep database connection error", describeError(error)),
  );
  try {
    const [presence, ...queues] = await Promise.allSettled([
      sweepPresence(getRedis(config.redis), controller.scheduledTime),
      ...levels.map((level) => objects.matchmaker(level, (matchmaker) => matchmaker.sweep())),
    ]);
    const now = new Date();
    const [stale, pruned, adopted, revisions] = await Promise.allSettled([
      expireStaleAttempts(database.db, new Date(now.getTime() - config.matching.attemptTtlMs), now),
      pruneExpiredSignIns(database.db, now),
      adoptUnheldAttempts(database.db, objects, now, config.matching.attemptTtlMs),
      pruneOldRevisions(database.db, config.s3, now),
    ]);
    const failures = [presence, ...queues, stale, pruned, adopted, revisions].filter(
      (outcome) => outcome.status === "rejected",
    );
    for (const failure of failures) log("error", "cron sweep step failed", describeError(failure.reason));
    log(failures.length > 0 ? "warn" : "info", "cron sweep", {
      cron: controller.cron,
      scheduled_time: new Date(controller.scheduledTime).toISOString(),
      stale_presence_removed: presence.status === "fulfilled" ? presence.value : null,
      attempts_expired: queues.reduce(
        (total, outcome) => total + (outcome.status === "fulfilled" ? outcome.value.expired : 0),
        0,
      ),
      unheld_attempts_expired: stale.status === "fulfilled" ? stale.value : null,
      unheld_attempts_reattached: adopted.status === "fulfilled" ? adopted.value : null,
      sign_in_codes_pruned: pruned.status === "fulfilled" ? pruned.value.codes : null,
      refresh_tokens_pruned: pruned.status === "fulfilled" ? pruned.value.refreshTokens : null,
      message_revisions_pruned: revisions.status === "fulfilled" ? revisions.value : null,
      duration_ms: Date.now() - started,
    });
  } finally {
    await database.close().catch(() => {});
  }
};

/** Queued attempts this young may still be on their way to their object: left to their request. */
const handOffGraceMs = 10_000;
const adoptionsPerSweep = 100;

/** Hands every queued attempt that its level's object does not hold back to it; returns how many. */
async function adoptUnheldAttempts(db: Database, objects: ObjectCalls, now: Date, ttlMs: number): Promise<number> {
  const attempts = await queuedAttempts(
    db,
    { createdAfter: new Date(now.getTime() - ttlMs), createdBefore: new Date(now.getTime() - handOffGraceMs) },
    adoptionsPerSweep,
  );
  let handedBack = 0;
  for (const level of new Set(attempts.map((attempt) => attempt.level))) {
    const ofLevel = attempts.filter((attempt) => attempt.level === level);
    const held = new Set(
      await objects.matchmaker(level, (matchmaker) => matchmaker.holds(ofLevel.map((attempt) => attempt.id))),
    );
    for (const attempt of ofLevel.filter((candidate) => !held.has(candidate.id))) {
      await handBack({ db, objects }, attempt);
      handedBack += 1;
    }
  }
  return handedBack;
}
