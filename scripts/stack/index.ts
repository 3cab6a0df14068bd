import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StackBindings } from "./bindings.ts";
import { Distance } from "./distance.ts";
import { type Incidents, incidentsToStderr } from "./incidents.ts";
import { startMailbox } from "./mailbox.ts";
import { applyMigrations } from "./migrate.ts";
import { type NeonHttp, startNeonHttp } from "./neon-http.ts";
import type { PgliteServer } from "./pglite-server.ts";
import { startPostgres } from "./postgres.ts";
import { type RedisServer, startUpstashRest } from "./redis.ts";
import { startS3 } from "./s3.ts";
import { startTurn } from "./turn.ts";
import { startWsProxy, type WsProxy } from "./ws-proxy.ts";

export type { StackBindings };

export interface Stack {
  bindings: StackBindings;
  database: "pglite" | "postgres";
  redis: "redis-server" | "external";
  /** The Redis behind the Upstash endpoint, as `redis://host:port`: fixtures put endpoints of their own in front. */
  redisUrl: string;
  /** Breaks the dependencies on purpose, to prove the API survives it (`npm run test:faults`). */
  faults: StackFaults;
  /**
   * How far the database (the WebSocket bridge and the HTTP endpoint alike) and the Upstash
   * endpoint are from the Worker; `set(ms)` changes a round trip while running.
   */
  distance: { database: Distance; redis: Distance };
  stop(): Promise<void>;
}

export interface StackFaults {
  /**
   * The private redis-server: `kill` (SIGKILL, as a crash) and `start` (empty, same port),
   * `pause` (SIGSTOP: connections stay open, nothing answers) and `resume`. Absent with
   * `redisUrl`: the stack does not own that Redis.
   */
  redis?: Pick<RedisServer, "kill" | "start" | "pause" | "resume">;
  database: DatabaseFaults;
}

export interface DatabaseFaults {
  /**
   * What `stop` takes down: PGlite's wire server (it stops listening and drops its connections),
   * or, for a server from `databaseUrl` that the stack does not own, the bridge in front of it
   * (it refuses and drops connections); the HTTP endpoint answers 502 meanwhile. Either way the
   * driver finds no database.
   */
  stopsAt: "pglite server" | "bridge";
  stop(): Promise<void>;
  /** Serves again at the same address. */
  start(): Promise<void>;
  /**
   * The bridge holds every byte, connections kept open, and the HTTP endpoint holds every request,
   * as a database that stopped answering.
   */
  stall(): void;
  /** Delivers what was held, in order. */
  resume(): void;
  /** PGlite only: why no statement runs, if a client is keeping its one session (see PgliteServer). */
  heldUp(): string | undefined;
}

export interface StackOptions {
  /** Where PGlite and the S3 objects persist; omitted, everything lives in memory or a temp folder. */
  dataDir?: string;
  /** A real Postgres to use instead of PGlite. */
  databaseUrl?: string;
  /**
   * Whether the Worker reaches that Postgres through PgBouncer in transaction mode, as Neon's pooled
   * connection string does (the default), or straight, as Neon's direct one.
   */
  pooler?: boolean;
  /** A running Redis to use instead of starting `redis-server`. */
  redisUrl?: string;
  /** Round-trip time added between the Worker and the database (see `Stack.distance`). */
  databaseRttMs?: number;
  /** Round-trip time added between the Worker and the Upstash endpoint. */
  redisRttMs?: number;
  log?: (line: string) => void;
  /** Where a dependency that fails under the stack is told (see `Incidents`); standard error by default. */
  incidents?: Incidents;
}

/**
 * Starts every service the Worker talks to, on free loopback ports, and applies the
 * migrations. Whatever fails half-way is stopped again before the error is thrown.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const log = options.log ?? ((line: string) => console.log(line));
  const incidents = options.incidents ?? incidentsToStderr;
  const stops: (() => Promise<void>)[] = [];
  let stopping: Promise<void> | undefined;
  // Once, newest first, however many callers ask at once (a signal during a normal stop).
  const stop = () => {
    stopping ??= (async () => {
      for (let stopOne = stops.pop(); stopOne; stopOne = stops.pop()) await stopOne().catch(() => {});
    })();
    return stopping;
  };
  try {
    const postgres = await startPostgres({
      databaseUrl: options.databaseUrl,
      pooler: options.pooler ?? true,
      dataDir: options.dataDir && join(options.dataDir, "pglite"),
      incidents,
    });
    stops.push(postgres.stop);
    // Set once the migrations are applied: they are not what the distance is there to show.
    const distance = { database: new Distance(), redis: new Distance(options.redisRttMs) };
    const proxy = await startWsProxy(postgres.addresses, distance.database, incidents);
    stops.push(proxy.stop);
    await applyMigrations(postgres.directUrl, proxy.wsProxy, incidents);
    distance.database.set(options.databaseRttMs ?? 0);
    const neonHttp = await startNeonHttp({ databaseUrl: postgres.url, distance: distance.database, incidents });
    stops.push(neonHttp.stop);

    const redis = await startUpstashRest({
      redisUrl: options.redisUrl,
      token: "local-upstash-token",
      distance: distance.redis,
      incidents,
    });
    stops.push(redis.stop);

    const s3 = await startS3({
      directory: options.dataDir ? join(options.dataDir, "s3") : await mkdtemp(join(tmpdir(), "gaplash-s3-")),
      bucket: "gaplash",
      resetOnClose: !options.dataDir,
    });
    stops.push(s3.stop);

    const mailbox = await startMailbox({
      apiKey: "re_local_mailbox",
      log: (line) => log(`[mailbox] ${line}`),
      incidents,
    });
    stops.push(mailbox.stop);

    const turn = await startTurn({ incidents });
    stops.push(turn.stop);

    return {
      bindings: {
        DATABASE_URL: postgres.url,
        NEON_WS_PROXY: proxy.wsProxy,
        NEON_HTTP_ENDPOINT: neonHttp.url,
        UPSTASH_REDIS_REST_URL: redis.url,
        UPSTASH_REDIS_REST_TOKEN: redis.token,
        S3_ENDPOINT: s3.endpoint,
        S3_BUCKET: s3.bucket,
        S3_REGION: s3.region,
        S3_ACCESS_KEY_ID: s3.accessKeyId,
        S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
        RESEND_BASE_URL: mailbox.url,
        RESEND_API_KEY: mailbox.apiKey,
        TURN_KEY_ID: turn.keyId,
        TURN_KEY_API_TOKEN: turn.apiToken,
        TURN_API_URL: turn.apiUrl,
      },
      database: postgres.kind,
      redis: redis.kind,
      redisUrl: redis.redisUrl,
      faults: { redis: redis.server, database: databaseFaults(postgres.server, proxy, neonHttp) },
      distance,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Both ways the Worker reaches the database, the WebSocket bridge and the HTTP endpoint, fail together. */
function databaseFaults(server: PgliteServer | undefined, proxy: WsProxy, http: NeonHttp): DatabaseFaults {
  return {
    stopsAt: server ? "pglite server" : "bridge",
    stop: async () => {
      if (server) await server.close();
      else proxy.cut();
      http.cut();
    },
    start: async () => {
      if (server) await server.listen();
      else proxy.restore();
      http.restore();
    },
    stall: () => {
      proxy.stall();
      http.stall();
    },
    resume: () => {
      proxy.resume();
      http.resume();
    },
    heldUp: () => server?.heldUp(),
  };
}
