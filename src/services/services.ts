import type { Redis } from "@upstash/redis/cloudflare";
import type { Config } from "../config";
import { type Database, type DatabaseHandle, openDatabase } from "../db/client";
import { getRedis } from "../lib/redis";
import { createMailer, type Mailer } from "./mailer";
import { type ObjectCalls, objectCalls } from "./objects";

/** What a request's handlers may use, built once per request by the `services` middleware. */
export interface Services {
  readonly db: Database;
  readonly redis: Redis;
  readonly mailer: Mailer;
  /** The matchmakers and session rooms, each call with its deadline. */
  readonly objects: ObjectCalls;
}

export interface RequestServices extends Services {
  /** Database statements this request ran (0 when it never touched the database). */
  queryCount(): number;
  /** Closes what this request opened; the database pool exists only if a handler used it. */
  close(): Promise<void>;
}

export function createServices(
  config: Config,
  env: Pick<Env, "MATCHMAKER" | "SESSION_ROOM">,
  onDatabaseError: (error: Error) => void,
): RequestServices {
  let database: DatabaseHandle | undefined;
  let mailer: Mailer | undefined;
  return {
    get db() {
      database ??= openDatabase(config.database, onDatabaseError);
      return database.db;
    },
    get redis() {
      return getRedis(config.redis);
    },
    get mailer() {
      mailer ??= createMailer(config.mail);
      return mailer;
    },
    objects: objectCalls(env, config.durableObjectTimeoutMs),
    queryCount() {
      return database?.queryCount() ?? 0;
    },
    async close() {
      // A pool whose connection already failed rejects on end(); that failure was reported when it happened.
      await database?.close().catch(() => {});
    },
  };
}
