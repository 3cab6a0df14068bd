/**
 * `npm run db:migrate`: applies the migrations in drizzle/ to DATABASE_URL with the same
 * driver the Worker uses. Neon is reached directly over its secure WebSocket endpoint; any
 * other Postgres through the local WebSocket→TCP bridge, started just for this run.
 */
import { applyMigrations } from "./stack/migrate.ts";
import { startWsProxy } from "./stack/ws-proxy.ts";

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error("DATABASE_URL is not set: export the connection string of the database to migrate.");
  process.exit(1);
}

const url = new URL(databaseUrl);
if (url.hostname.endsWith(".neon.tech")) {
  await applyMigrations(databaseUrl);
} else {
  const proxy = await startWsProxy([`${url.hostname}:${url.port || "5432"}`]);
  try {
    await applyMigrations(databaseUrl, proxy.wsProxy);
  } finally {
    await proxy.stop();
  }
}
console.log(`migrations applied to ${url.hostname}${url.pathname}`);
