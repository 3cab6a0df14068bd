import { neonConfig, Pool } from "@neondatabase/serverless";
import { drizzle, type NeonDatabase } from "drizzle-orm/neon-serverless";
import type { Config } from "../config";
import * as schema from "./schema";

export type Database = NeonDatabase<typeof schema>;

export interface DatabaseHandle {
  db: Database;
  /** Statements run through this handle so far, counted by drizzle as it sends them. */
  queryCount(): number;
  close(): Promise<void>;
}

/**
 * A drizzle client over a fresh `@neondatabase/serverless` pool. Workers may not carry a
 * socket from one request to the next, so each request opens its own and closes it.
 */
export function openDatabase(config: Config["database"], onError: (error: Error) => void): DatabaseHandle {
  if (config.wsProxy) {
    // Local Postgres behind the WebSocket→TCP bridge speaks plain TCP, without TLS.
    neonConfig.wsProxy = config.wsProxy;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
  }
  const pool = new Pool({ connectionString: config.url });
  let closing = false;
  // Once we hang up, the server closing its side is expected, not an error worth reporting.
  pool.on("error", (error: Error) => {
    if (!closing) onError(error);
  });
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
    close: () => {
      closing = true;
      return pool.end();
    },
  };
}
