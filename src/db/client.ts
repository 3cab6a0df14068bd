import { neon, neonConfig, Pool, type PoolClient } from "@neondatabase/serverless";
import { DrizzleQueryError } from "drizzle-orm/errors";
import { drizzle as drizzleHttp, NeonHttpDatabase } from "drizzle-orm/neon-http";
import { drizzle, type NeonDatabase } from "drizzle-orm/neon-serverless";
import type { Config } from "../config";
import { DependencyUnavailableError, isTimeout } from "../lib/dependencies";
import { currentMeter, type DatabaseUse } from "../lib/request-meter";
import * as schema from "./schema";

/** Over the WebSocket pool: interactive transactions, and the Durable Objects' kept connections. */
export type PoolDatabase = NeonDatabase<typeof schema>;
/** Over Neon's SQL-over-HTTP endpoint: one round trip per statement (or per batch). */
export type HttpDatabase = NeonHttpDatabase<typeof schema>;
/** Either: one-shot statements run on both, so the Durable Objects can share them with requests. */
export type Database = HttpDatabase | PoolDatabase;

/** Whether `db` is the HTTP path's: each statement is its own request, with no server connection kept. */
export function isHttpDatabase(db: Database): db is HttpDatabase {
  return db instanceof NeonHttpDatabase;
}

/** Anything that runs statements inside an interactive transaction: the pool database or an open transaction. */
export type Queryable = Pick<PoolDatabase, "select" | "insert" | "update" | "delete" | "execute">;

export interface DatabaseHandle<D extends Database = Database> {
  db: D;
  close(): Promise<void>;
}

/** A pool is the request's own, so it counts what ran over it. */
export interface PoolHandle extends DatabaseHandle<PoolDatabase> {
  use(): DatabaseUse;
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
 * A drizzle client over a fresh `@neondatabase/serverless` pool, for interactive transactions
 * (and the Durable Objects, which may keep it). Workers may not carry a socket from one request
 * to the next, so each request opens its own and closes it. Connecting and every statement have
 * the database deadline.
 */
export function openPoolDatabase(config: Config["database"], onError: (error: Error) => void): PoolHandle {
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
  let connections = 0;
  pool.on("connect", () => {
    connections += 1;
  });
  let statements = 0;
  const countStatement = () => {
    statements += 1;
  };
  return {
    db: drizzle({ client: pool, schema, casing: "snake_case", logger: { logQuery: countStatement } }),
    use: () => ({ statements, roundTrips: statements + connections }),
    close: async () => {
      closing = true;
      // Releasing with an error destroys the connection, so the server rolls back what it held.
      for (const client of lent) client.release(new Error("the connection was still lent when its owner closed"));
      await pool.end();
    },
  };
}

const httpDatabases = new WeakMap<Config["database"], HttpDatabase>();

/**
 * Where and how long one HTTP database's requests go. The driver keeps its endpoint and fetch
 * function in one global for every client, but copies each client's `fetchOptions` into the
 * options of each of its requests, so these ride there, under a key of our own, to the one fetch
 * function below, and every client keeps its own endpoint and deadline.
 */
const httpRoute = Symbol("gaplash.databaseHttpRoute");
interface HttpRoute {
  endpoint: string | undefined;
  timeoutMs: number;
}
type RoutedInit = RequestInit & { [httpRoute]?: HttpRoute };

neonConfig.fetchFunction = (input: RequestInfo | URL, init: RoutedInit = {}) => {
  const { [httpRoute]: route, ...options } = init;
  const exchange = fetch(route?.endpoint ?? input, {
    ...options,
    signal: route ? AbortSignal.timeout(route.timeoutMs) : options.signal,
  });
  const meter = currentMeter();
  if (!meter) return exchange;
  meter.database.roundTrips += 1;
  return meter.track(exchange);
};

/**
 * A drizzle client over Neon's SQL-over-HTTP endpoint: each statement (or batch) is one HTTPS
 * request, no connection to open first, so a request that runs one statement pays one round trip.
 * It holds no socket, only the driver's `fetch`, so unlike a pool it may outlive the request: it
 * is made once per isolate and configuration, and building drizzle's view of the schema (a good
 * share of a short request's CPU) is not paid again on every request. Every HTTP request has the
 * database deadline. Nothing to close.
 */
export function httpDatabase(config: Config["database"]): HttpDatabase {
  const made = httpDatabases.get(config);
  if (made) return made;
  const route: HttpRoute = { endpoint: config.httpEndpoint, timeoutMs: config.timeoutMs };
  const countStatement = () => {
    const meter = currentMeter();
    if (meter) meter.database.statements += 1;
  };
  const db = drizzleHttp({
    client: neon(config.url, { fetchOptions: { [httpRoute]: route } }),
    schema,
    casing: "snake_case",
    logger: { logQuery: countStatement },
  });
  httpDatabases.set(config, db);
  return db;
}

/**
 * The handle for one-shot statements outside a request (the cron sweep): Neon's HTTP path, unless
 * `DATABASE_HTTP=off` (a Postgres without Neon's HTTP endpoint), where they run over a pool.
 */
export function openDatabase(config: Config["database"], onError: (error: Error) => void): DatabaseHandle {
  if (!config.http) return openPoolDatabase(config, onError);
  return { db: httpDatabase(config), close: async () => {} };
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
