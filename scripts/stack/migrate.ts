import { fileURLToPath } from "node:url";
import { neonConfig, Pool } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-serverless";
import { migrate } from "drizzle-orm/neon-serverless/migrator";
import { type Incidents, incidentsToStderr, survivePool } from "./incidents.ts";

export const migrationsFolder = fileURLToPath(new URL("../../drizzle", import.meta.url));

/**
 * Applies the drizzle-kit migrations with the driver the Worker uses. `wsProxy` routes it
 * through the local WebSocket→TCP bridge; without it the driver speaks to Neon directly.
 */
export async function applyMigrations(
  databaseUrl: string,
  wsProxy?: string,
  incidents: Incidents = incidentsToStderr,
): Promise<void> {
  if (wsProxy) {
    neonConfig.wsProxy = wsProxy;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
  }
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  survivePool(pool, "postgres (migrations)", incidents);
  try {
    await migrate(drizzle({ client: pool }), { migrationsFolder });
  } finally {
    await pool.end();
  }
}
