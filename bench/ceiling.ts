import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { getConfig } from "../src/config";
import { openDatabase } from "../src/db/client";

/**
 * The benchmark's ceilings, run in the same workerd with the same logging as the API: a bare Hono
 * worker, and one raw select and one raw insert through the very database path the API uses
 * (`openDatabase`: a serverless-driver pool per request).
 */
const app = new Hono<{ Bindings: Env }>();

app.get("/health", (c) => c.json({ status: "ok" }));

app.get("/raw/select", async (c) => {
  const handle = openDatabase(getConfig(c.env).database, () => {});
  const result = await handle.db.execute(sql`select id, email from users limit 1`);
  c.executionCtx.waitUntil(handle.close());
  return c.json({ rows: result.rows.length });
});

app.post("/raw/insert", async (c) => {
  const handle = openDatabase(getConfig(c.env).database, () => {});
  const body = await c.req.text();
  await handle.db.execute(sql`insert into bench_inserts (body) values (${body})`);
  c.executionCtx.waitUntil(handle.close());
  return c.json({ stored: true }, 201);
});

export default app;
