import { neonConfig, Pool, type PoolClient } from "@neondatabase/serverless";
import { DrizzleQueryError } from "drizzle-orm/errors";
import { drizzle, type NeonDatabase } from "drizzle-orm/neon-serverless";
import type { Config } from "../config";
import { DependencyUnavailableError, isTimeout } from "../lib/dependencies";
import * as schema from "./schema";

export type Database = NeonDatabase<typeof schema>;

export interface DatabaseHandle {
  db: Database;
  /** Statements run through this handle so far, counted by drizzle as it sends them. */
  queryCount(): number;
  close(): Promise<void>;
}

/** A pool whose connection failures (a transaction's `connect`) name the database. */
class DatabasePool extends Pool {
  override connect(): Promise<PoolClient>;
  override connect(callback: Parameters<Pool["connect"]>[0]): void;
  override connect(callback?: Parameters<Pool["connect"]>[0]): Promise<PoolClient> | undefined {
    // The pool's own `query` connects with a callback; its failures surface through drizzle.
    if (callback) {
      super.connect(callback);
      return undefined;
    }
    return super.connect().catch((error: unknown) => {
      throw new DependencyUnavailableError("postgres", { cause: error, timedOut: isTimeout(error) });
    });
  }
}

/**
 * A drizzle client over a fresh `@neondatabase/serverless` pool. Workers may not carry a
 * socket from one request to the next, so each request opens its own and closes it.
 * Connecting and every statement have the database deadline.
 */
export function openDatabase(config: Config["database"], onError: (error: Error) => void): DatabaseHandle {
  if (config.wsProxy) {
    // Local Postgres behind the WebSocket→TCP bridge speaks plain TCP, without TLS.
    neonConfig.wsProxy = config.wsProxy;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
  }
  const pool = new DatabasePool({
    connectionString: config.url,
    connectionTimeoutMillis: config.timeoutMs,
    query_timeout: config.timeoutMs,
  });
  let closing = false;
  // Once we hang up, the server closing its side is expected, not an error worth reporting.
  pool.on("error", (error: Error) => {
    if (!closing) onError(error);
  });
  // Connections lent out and not given back. drizzle's transaction sends BEGIN before its own
  // try/finally, so a BEGIN that misses the deadline never gives its connection back; left
  // alone it would keep `end()` waiting and, once the BEGIN lands, sit inside a transaction.
  const lent = new Set<PoolClient>();
  pool.on("acquire", (client: PoolClient) => lent.add(client));
  pool.on("release", (_error: Error | undefined, client: PoolClient) => lent.delete(client));
  let queries = 0;
  return {
    db: drizzle({
      client: pool,
      schema,
      casing: "snake_case",
      logger: {
        logQuery: () => {
          queries += 1;
        },
      },
    }),
    queryCount: () => queries,
    close: async () => {
      closing = true;
      // Releasing with an error destroys the connection, so the server rolls back what it held.
      for (const client of lent) client.release(new Error("the connection was still lent when its owner closed"));
      await pool.end();
    },
  };
}

/** The SQLSTATE of a Postgres error, if `error` is one. */
export function sqlState(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  return typeof error.code === "string" && /^[0-9A-Z]{5}$/.test(error.code) ? error.code : undefined;
}

/** SQLSTATE classes that mean the server, not the statement, failed: connection, resources, shutdown. */
const serverUnavailable = /^(08|53|57P)/;

/**
 * A failed statement that never got an answer from Postgres (the connection failed or the
 * deadline passed), or that Postgres refused for want of resources, is the database being
 * unavailable. A statement Postgres answered with any other error is not: that is our bug.
 */
export function asDatabaseUnavailable(error: unknown): DependencyUnavailableError | undefined {
  if (!(error instanceof DrizzleQueryError)) return undefined;
  const state = sqlState(error.cause);
  if (state && !serverUnavailable.test(state)) return undefined;
  return new DependencyUnavailableError("postgres", { cause: error, timedOut: isTimeout(error.cause) });
}
