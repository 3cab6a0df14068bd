import { getConfig } from "../config";
import { openDatabase } from "../db/client";
import { levels } from "../db/schema/enums";
import { describeError, log } from "../lib/logger";
import { getRedis } from "../lib/redis";
import { pruneExpiredSignIns } from "../services/housekeeping";
import { expireStaleAttempts } from "../services/match-store";
import { objectCalls } from "../services/objects";
import { sweepPresence } from "../services/presence";

/**
 * The every-minute Cron Trigger: drops stale members from the online indexes, has every level's
 * matchmaker expire the attempts of users who stopped pinging or waited too long, then expires
 * in the database whatever is still queued past its lifetime (held by no object), and prunes
 * expired sign-in codes and refresh tokens. Each part is idempotent and independent of the
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
    const [stale, pruned] = await Promise.allSettled([
      expireStaleAttempts(database.db, new Date(now.getTime() - config.matching.attemptTtlMs), now),
      pruneExpiredSignIns(database.db, now),
    ]);
    const failures = [presence, ...queues, stale, pruned].filter((outcome) => outcome.status === "rejected");
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
      sign_in_codes_pruned: pruned.status === "fulfilled" ? pruned.value.codes : null,
      refresh_tokens_pruned: pruned.status === "fulfilled" ? pruned.value.refreshTokens : null,
      duration_ms: Date.now() - started,
    });
  } finally {
    await database.close().catch(() => {});
  }
};
