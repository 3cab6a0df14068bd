import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import type { Incidents } from "./incidents.ts";
import { startPgBouncer } from "./pgbouncer.ts";
import { type PgliteServer, startPgliteServer } from "./pglite-server.ts";

export interface Postgres {
  /** Connection string as the Worker will use it: PgBouncer's in front of a real server, as Neon's pooled one. */
  url: string;
  /** Straight to the server, as Neon's direct connection string: for the migrations. */
  directUrl: string;
  /** The `host:port`s that the WebSocket proxy must be allowed to dial: the pooler's and the server's. */
  addresses: string[];
  kind: "pglite" | "postgres";
  /** PGlite's wire server, when the stack serves PGlite: outage tests close it and listen again. */
  server?: PgliteServer;
  stop(): Promise<void>;
}

/**
 * A real Postgres for development and tests: the server in `DATABASE_URL` when set, behind a
 * real PgBouncer in transaction mode (Neon's pooled endpoint) unless `pooler` is false, otherwise
 * embedded PGlite served on the Postgres wire protocol (one connection at a time, no pooler). `dataDir` keeps PGlite
 * on disk between runs; without it the database lives in memory.
 */
export async function startPostgres(options: {
  databaseUrl?: string;
  pooler: boolean;
  dataDir?: string;
  incidents: Incidents;
}): Promise<Postgres> {
  if (options.databaseUrl) {
    const url = new URL(options.databaseUrl);
    const direct = `${url.hostname}:${url.port || "5432"}`;
    if (!options.pooler) {
      return {
        url: options.databaseUrl,
        directUrl: options.databaseUrl,
        addresses: [direct],
        kind: "postgres",
        stop: async () => {},
      };
    }
    const pooler = await startPgBouncer(options.databaseUrl, options.incidents);
    return {
      url: pooler.url,
      directUrl: options.databaseUrl,
      addresses: [pooler.address, direct],
      kind: "postgres",
      stop: pooler.stop,
    };
  }
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const db = await PGlite.create({ dataDir: options.dataDir, extensions: { pg_trgm } });
  const server = await startPgliteServer(db, { host: "127.0.0.1", port: 0 });
  const { address } = server;
  const url = `postgres://postgres:postgres@${address}/postgres`;
  return {
    url,
    directUrl: url,
    addresses: [address],
    kind: "pglite",
    server,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}
