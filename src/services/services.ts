import type { Redis } from "@upstash/redis/cloudflare";
import type { Config } from "../config";
import {
  countHttpUse,
  type Database,
  type DatabaseUse,
  httpDatabase,
  openPoolDatabase,
  type PoolDatabase,
  type PoolHandle,
} from "../db/client";
import { getRedis } from "../lib/redis";
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
  /** What this request spent on the database (nothing when it never touched it). */
  databaseUse(): DatabaseUse;
  /** Closes what this request opened; each database handle exists only if a handler used it. */
  close(): Promise<void>;
}

export function createServices(
  config: Config,
  env: Pick<Env, "MATCHMAKER" | "SESSION_ROOM">,
  onDatabaseError: (error: Error) => void,
): RequestServices {
  const overHttp: DatabaseUse = { statements: 0, roundTrips: 0 };
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
    run: (work) => countHttpUse(overHttp, work),
    databaseUse() {
      return handles().reduce(
        (total, handle) => {
          const use = handle.use();
          return { statements: total.statements + use.statements, roundTrips: total.roundTrips + use.roundTrips };
        },
        { ...overHttp },
      );
    },
    async close() {
      // A pool whose connection already failed rejects on end(); that failure was reported when it happened.
      await Promise.all(handles().map((handle) => handle.close().catch(() => {})));
    },
  };
}
