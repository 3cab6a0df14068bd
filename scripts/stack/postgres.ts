import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { type PgliteServer, startPgliteServer } from "./pglite-server.ts";

export interface Postgres {
  /** Connection string as the Worker will use it (host and port of the real server). */
  url: string;
  /** `host:port` that the WebSocket proxy must be allowed to dial. */
  address: string;
  kind: "pglite" | "postgres";
  /** PGlite's wire server, when the stack serves PGlite: outage tests close it and listen again. */
  server?: PgliteServer;
  stop(): Promise<void>;
}

/**
 * A real Postgres for development and tests: the server in `DATABASE_URL` when set,
 * otherwise embedded PGlite served on the Postgres wire protocol. `dataDir` keeps PGlite
 * on disk between runs; without it the database lives in memory.
 */
export async function startPostgres(options: { databaseUrl?: string; dataDir?: string }): Promise<Postgres> {
  if (options.databaseUrl) {
    const url = new URL(options.databaseUrl);
    return {
      url: options.databaseUrl,
      address: `${url.hostname}:${url.port || "5432"}`,
      kind: "postgres",
      stop: async () => {},
    };
  }
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const db = await PGlite.create({ dataDir: options.dataDir, extensions: { pg_trgm } });
  const server = await startPgliteServer(db, { host: "127.0.0.1", port: 0 });
  const { address } = server;
  return {
    url: `postgres://postgres:postgres@${address}/postgres`,
    address,
    kind: "pglite",
    server,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}
