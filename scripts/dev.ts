/**
 * `npm run dev`: starts the local stack (Postgres, Redis behind the Upstash REST protocol,
 * S3, the mailbox), applies the migrations, builds the web client (and rebuilds it on change),
 * then `wrangler dev` on :8080 (or `PORT`) with the stack's addresses. Your own `.dev.vars` is
 * read after them, so what you set there wins. It fires the Cron Trigger every minute, and
 * Ctrl-C stops every process it started.
 *
 * `npm run dev -- --db-rtt 20 --redis-rtt 5` puts the database and Redis that many milliseconds
 * of round trip away, to feel the API as a learner far from the database region would.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { toEnvFile } from "./stack/env-file.ts";
import { reportUnhandledErrors } from "./stack/incidents.ts";
import { startStack } from "./stack/index.ts";
import { PgBouncerMissingError } from "./stack/pgbouncer.ts";
import { RedisServerMissingError } from "./stack/redis.ts";
import { TurnServerMissingError } from "./stack/turn.ts";

const { values: options } = parseArgs({
  options: { "db-rtt": { type: "string", default: "0" }, "redis-rtt": { type: "string", default: "0" } },
});
const root = new URL("..", import.meta.url).pathname;
const port = Number(process.env.PORT ?? "8080");
const dataDir = join(root, ".data");

function gitCommit(): string {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

let stack: Awaited<ReturnType<typeof startStack>>;
reportUnhandledErrors("npm run dev", async () => {
  await stack?.stop();
});
try {
  stack = await startStack({
    dataDir,
    databaseUrl: process.env.DATABASE_URL,
    redisUrl: process.env.REDIS_URL,
    databaseRttMs: Number(options["db-rtt"]),
    redisRttMs: Number(options["redis-rtt"]),
    log: (line) => console.log(line),
  });
} catch (error) {
  if (
    error instanceof RedisServerMissingError ||
    error instanceof TurnServerMissingError ||
    error instanceof PgBouncerMissingError
  ) {
    console.error(error.message);
    process.exit(1);
  }
  console.error("the local stack did not start:", error);
  process.exit(1);
}

console.log(
  `local stack up: ${stack.database === "pglite" ? "PGlite (.data/pglite)" : "Postgres from DATABASE_URL"}, ` +
    `${stack.redis === "redis-server" ? "redis-server" : "Redis from REDIS_URL"}, S3, mailbox and coturn; migrations applied` +
    (stack.distance.database.rtt || stack.distance.redis.rtt
      ? `; round trips: database ${stack.distance.database.rtt} ms, Redis ${stack.distance.redis.rtt} ms`
      : ""),
);

await mkdir(dataDir, { recursive: true });
const stackEnvFile = join(dataDir, "stack.env");
await writeFile(
  stackEnvFile,
  toEnvFile({ ...stack.bindings, APP_COMMIT: gitCommit(), APP_BUILT_AT: new Date().toISOString() }),
);
// Development signing keys, made once and kept, so tokens survive a restart of `npm run dev`.
const secretsEnvFile = join(dataDir, "secrets.env");
if (!existsSync(secretsEnvFile)) {
  const key = () => randomBytes(32).toString("base64url");
  await writeFile(secretsEnvFile, toEnvFile({ JWT_SECRET: key(), AUTH_SECRET: key() }), { mode: 0o600 });
}
const userVars = join(root, ".dev.vars");
const envFiles = [secretsEnvFile, stackEnvFile, ...(existsSync(userVars) ? [userVars] : [])];

const nodeScript = (script: string, ...args: string[]) =>
  [process.execPath, ["--experimental-strip-types", "--disable-warning=ExperimentalWarning", script, ...args]] as const;

// The client is built once before wrangler starts (it serves public/), then rebuilt on change.
execFileSync(...nodeScript("scripts/build-client.ts"), { cwd: root, stdio: "inherit" });
// Each child leads its own process group, so stopping it stops everything it started too.
const children = [
  spawn(...nodeScript("scripts/build-client.ts", "--watch"), { cwd: root, stdio: "inherit", detached: true }),
  spawn("npx", ["wrangler", "dev", "--port", String(port), ...envFiles.flatMap((file) => ["--env-file", file])], {
    cwd: root,
    stdio: "inherit",
    detached: true,
  }),
];
const [, wrangler] = children;
for (const child of children) {
  child.on("error", (error) => {
    console.error(`could not start ${child.spawnfile}: ${error.message}`);
    void shutdown(1);
  });
}

// wrangler dev does not fire Cron Triggers by itself; fire the sweep every minute as production does.
const cronTimer = setInterval(() => {
  fetch(`http://127.0.0.1:${port}/cdn-cgi/local/scheduled?cron=*+*+*+*+*`).catch(() => {});
}, 60_000);

let stopping = false;
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    clearInterval(cronTimer);
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null || !child.pid) continue;
      try {
        process.kill(-child.pid, "SIGINT");
      } catch {
        // Its process group is gone already.
      }
    }
    await stack.stop();
  }
  process.exit(code);
}
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));
wrangler?.on("exit", (code) => void shutdown(code ?? 0));
