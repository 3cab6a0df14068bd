/**
 * Runs the local stack as its own process: prints one `STACK_READY <json>` line with the
 * bindings once everything is up and migrated, and stops everything on SIGTERM, SIGINT or
 * when its parent closes stdin. The test runner's global setup starts it this way.
 */
import { startFaultFixtures } from "./fixtures.ts";
import { reportUnhandledErrors } from "./incidents.ts";
import { startStack } from "./index.ts";
import { PgBouncerMissingError } from "./pgbouncer.ts";
import { RedisServerMissingError } from "./redis.ts";
import { TurnServerMissingError } from "./turn.ts";

let stopStack: () => Promise<void> = async () => {};
reportUnhandledErrors("local stack", () => stopStack());
try {
  const stack = await startStack({
    dataDir: process.env.STACK_DATA_DIR || undefined,
    databaseUrl: process.env.DATABASE_URL || undefined,
    // `STACK_POOLER=off`: the Worker reaches that server straight, without PgBouncer in between.
    pooler: process.env.STACK_POOLER !== "off",
    redisUrl: process.env.REDIS_URL || undefined,
    // The test runner asks for quiet: mails are read through /dev/mailbox there.
    log: process.env.STACK_QUIET ? () => {} : (line) => console.error(line),
  });
  // The test runner asks for misbehaving dependencies too, to prove every call has a deadline.
  const fixtures = process.env.STACK_FIXTURES
    ? await startFaultFixtures(stack.bindings.UPSTASH_REDIS_REST_TOKEN, stack.redisUrl)
    : undefined;
  stopStack = stack.stop;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await fixtures?.stop();
    await stack.stop();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.stdin.on("end", stop);
  process.stdin.resume();
  console.log(
    `STACK_READY ${JSON.stringify({
      bindings: stack.bindings,
      database: stack.database,
      redis: stack.redis,
      fixtures: fixtures && {
        blackhole: fixtures.blackhole,
        unreachableRedisRestUrl: fixtures.unreachableRedisRestUrl,
        distantRedisRestUrl: fixtures.distantRedisRestUrl,
        distantRedisRttMs: fixtures.distantRedisRttMs,
      },
    })}`,
  );
} catch (error) {
  console.error(
    error instanceof RedisServerMissingError ||
      error instanceof TurnServerMissingError ||
      error instanceof PgBouncerMissingError
      ? error.message
      : error,
  );
  process.exit(1);
}
