import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, inject, it } from "vitest";
import { getConfig } from "../../src/config";
import { openPoolDatabase } from "../../src/db/client";
import { bearer } from "../support/auth";
import { testDatabase } from "../support/db";
import { apiWith } from "../support/http";
import { learner } from "../support/match";

/*
 * On a real PostgreSQL the stack puts PgBouncer in transaction mode in front of it, as Neon's
 * pooled connection string does, so what breaks under transaction pooling breaks here first.
 */
const handle = testDatabase();
afterAll(() => handle.close());
const onPostgres = inject("database") === "postgres";

describe.runIf(onPostgres)("PgBouncer in front of PostgreSQL", () => {
  it("is what the Worker's DATABASE_URL reaches, pooling transactions", async () => {
    const url = new URL(getConfig(env).database.url);
    url.pathname = "/pgbouncer";
    const poolerConsole = openPoolDatabase({ ...getConfig(env).database, url: url.toString() }, (error) => {
      throw error;
    });
    try {
      await handle.db.execute(sql`select 1`);
      const pools = await poolerConsole.db.execute<{ database: string; pool_mode: string }>(sql.raw("SHOW POOLS"));
      expect(pools.rows.find((pool) => pool.database === "postgres")?.pool_mode).toBe("transaction");
    } finally {
      await poolerConsole.close();
    }
  });

  it("serves GET /me over the pool again and again: no named statement is left on a server connection", async () => {
    const me = await learner("A1", "pooled");
    const overPool = { DATABASE_HTTP: "off" };
    for (let i = 0; i < 6; i += 1) {
      expect((await apiWith(overPool, "/me", { headers: bearer(me) })).status).toBe(200);
    }
  });
});
