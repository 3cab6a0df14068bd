import type { Redis } from "@upstash/redis/cloudflare";
import type { Config } from "../config";
import { type Database, httpDatabase, openPoolDatabase, type PoolDatabase, type PoolHandle } from "../db/client";
import { getRedis } from "../lib/redis";
import { type DatabaseUse, metered, type RedisUse, RequestMeter } from "../lib/request-meter";
import { createMailer, type Mailer } from "./mailer";
import { type ObjectCalls, objectCalls } from "./objects";

/** What a request's handlers may use, built once per request by the `services` middleware. */
export interface Services {
  /** For one-shot statements: Neon's HTTP path, one round trip each. */
  readonly db: Database;
  /** For interactive transactions only: a WebSocket connection, opened when first used. */
  readonly pool: PoolDatabase;
  readonly redis: Redis;
  readonly mailer: Mailer;
  /** The matchmakers and session rooms, each call with its deadline. */
  readonly objects: ObjectCalls;
}

export interface RequestServices extends Services {
  /** Runs the request's handlers, so that what they run on the shared HTTP database counts as theirs. */
  run<T>(work: () => Promise<T>): Promise<T>;
  /**
   * What this request waited on: the database's statements and round trips, Upstash's requests and
   * commands, and the round trips made one after another (overlapping ones once, a transaction's
   * each). Nothing for what it never touched.
   */
  usage(): { database: DatabaseUse; redis: RedisUse; objectCalls: number; sequentialRoundTrips: number };
  /** Closes what this request opened; each database handle exists only if a handler used it. */
  close(): Promise<void>;
}

export function createServices(
  config: Config,
  env: Pick<Env, "MATCHMAKER" | "SESSION_ROOM">,
  onDatabaseError: (error: Error) => void,
): RequestServices {
  const meter = new RequestMeter();
  // Without the HTTP path, one-shot statements share a pool of the request's own.
  let oneShot: PoolHandle | undefined;
  let pool: PoolHandle | undefined;
  let mailer: Mailer | undefined;
  const handles = () => [oneShot, pool].filter((handle) => handle !== undefined);
  return {
    get db() {
      if (config.database.http) return httpDatabase(config.database);
      oneShot ??= openPoolDatabase(config.database, onDatabaseError);
      return oneShot.db;
    },
    get pool() {
      pool ??= openPoolDatabase(config.database, onDatabaseError);
      return pool.db;
    },
    get redis() {
      return getRedis(config.redis);
    },
    get mailer() {
      mailer ??= createMailer(config.mail);
      return mailer;
    },
    objects: objectCalls(env, config.durableObjectTimeoutMs),
    run: (work) => metered(meter, work),
    usage() {
      // A pool's statements wait one after another on its one connection.
      const database = handles().reduce(
        (total, handle) => {
          const use = handle.use();
          return { statements: total.statements + use.statements, roundTrips: total.roundTrips + use.roundTrips };
        },
        { ...meter.database },
      );
      const overPools = database.roundTrips - meter.database.roundTrips;
      return {
        database,
        redis: { ...meter.redis },
        objectCalls: meter.objectCalls,
        sequentialRoundTrips: meter.sequential + overPools,
      };
    },
    async close() {
      // A pool whose connection already failed rejects on end(); that failure was reported when it happened.
      await Promise.all(handles().map((handle) => handle.close().catch(() => {})));
    },
  };
}
