import { AsyncLocalStorage } from "node:async_hooks";

/** What a request spent on the database, for `Server-Timing`. */
export interface DatabaseUse {
  statements: number;
  /** Network round trips to the database: one per HTTP request or pooled statement, one per new connection. */
  roundTrips: number;
}

/**
 * What a request asked of Upstash: HTTP requests (calls of the client: its own retries are not
 * counted again) and the commands they carried (what is billed).
 */
export interface RedisUse {
  requests: number;
  commands: number;
}

/**
 * What one request waited on over the network, for `Server-Timing` and the benchmark: the
 * database's statements and round trips over the HTTP path, Upstash's requests and commands, the
 * Durable Object calls it started (pushes it leaves to `waitUntil` included: each is a billed
 * request), and the round trips the request made one after another (`sequential`). A wait that begins while
 * another is still in flight overlaps it and is not counted again: a revocation read and a
 * statement sent together cost one round trip, as they would with both services far away.
 */
export class RequestMeter {
  readonly database: DatabaseUse = { statements: 0, roundTrips: 0 };
  readonly redis: RedisUse = { requests: 0, commands: 0 };
  /** Durable Object calls started; not round trips of `sequential`, which counts the back ends only. */
  objectCalls = 0;
  private inFlight = 0;
  private waits = 0;

  /**
   * Round trips made one after another over the HTTP paths (Neon's SQL over HTTP, Upstash). A
   * request's pool (an interactive transaction, or `DATABASE_HTTP=off`) adds its own on top in
   * `Services.usage`, each counted, overlapping or not.
   */
  get sequential(): number {
    return this.waits;
  }

  /** Counts `exchange` (one HTTP request to a back end, just sent) as a round trip unless it overlaps another. */
  async track<T>(exchange: Promise<T>): Promise<T> {
    if (this.inFlight === 0) this.waits += 1;
    this.inFlight += 1;
    try {
      return await exchange;
    } finally {
      this.inFlight -= 1;
    }
  }
}

const requestMeters = new AsyncLocalStorage<RequestMeter>();

/**
 * Runs `work` with what it sends to the database and to Upstash counted into `meter`: both clients
 * are shared by every request of the isolate, so they cannot keep one request's count themselves.
 */
export function metered<T>(meter: RequestMeter, work: () => T): T {
  return requestMeters.run(meter, work);
}

/** The meter of the request in flight, if any (none in a Durable Object or the cron sweep). */
export function currentMeter(): RequestMeter | undefined {
  return requestMeters.getStore();
}
