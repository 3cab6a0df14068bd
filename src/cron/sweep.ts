import { getConfig } from "../config";
import { levels } from "../db/schema/enums";
import { describeError, log } from "../lib/logger";
import { getRedis } from "../lib/redis";
import { sweepPresence } from "../services/presence";

/**
 * The every-minute Cron Trigger: drops stale members from the online indexes, and has every
 * level's matchmaker expire the attempts of users who stopped pinging or waited too long.
 * Each part is idempotent, so two sweeps running at once do no harm.
 */
export const sweep: ExportedHandlerScheduledHandler<Env> = async (controller, env) => {
  const started = Date.now();
  const config = getConfig(env);
  const [presence, ...queues] = await Promise.allSettled([
    sweepPresence(getRedis(config.redis), controller.scheduledTime),
    ...levels.map((level) => env.MATCHMAKER.get(env.MATCHMAKER.idFromName(level)).sweep()),
  ]);
  const failures = [presence, ...queues].filter((outcome) => outcome.status === "rejected");
  for (const failure of failures) log("error", "cron sweep step failed", describeError(failure.reason));
  log(failures.length > 0 ? "warn" : "info", "cron sweep", {
    cron: controller.cron,
    scheduled_time: new Date(controller.scheduledTime).toISOString(),
    stale_presence_removed: presence.status === "fulfilled" ? presence.value : null,
    attempts_expired: queues.reduce(
      (total, outcome) => total + (outcome.status === "fulfilled" ? outcome.value.expired : 0),
      0,
    ),
    duration_ms: Date.now() - started,
  });
};
