import type { Config } from "../config";
import { describeError, log } from "../lib/logger";
import { type Database, type DatabaseHandle, openPoolDatabase } from "./client";

/**
 * A database connection a Durable Object keeps from one call to the next: unlike a stateless
 * request, an object may, so a burst of work pays for the connection once and each statement
 * after it is one round trip on an open WebSocket, without an HTTP request's overhead. A failed
 * connection is dropped and the next call opens a new one.
 */
export class KeptDatabase {
  private handle: DatabaseHandle | undefined;

  constructor(
    private readonly config: Config["database"],
    private readonly owner: string,
  ) {}

  async run<T>(work: (db: Database) => Promise<T>): Promise<T> {
    if (!this.handle) {
      const opened = openPoolDatabase(this.config, (error) => {
        log("warn", `${this.owner} database connection lost`, describeError(error));
        if (this.handle === opened) this.handle = undefined;
      });
      this.handle = opened;
    }
    const handle = this.handle;
    try {
      return await work(handle.db);
    } catch (error) {
      if (this.handle === handle) this.handle = undefined;
      await handle.close().catch(() => {});
      throw error;
    }
  }
}
