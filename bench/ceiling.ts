import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { getConfig } from "../src/config";
import { type Database, httpDatabase, openDatabase, openPoolDatabase } from "../src/db/client";
import { pairMany } from "../src/services/match-store";
import { findMe } from "../src/services/me";
import { searchMessages, searchStatement } from "../src/services/messages";
import { benchInterests } from "./interests";
import { searchCorpus } from "./search-corpus";

export { Matchmaker } from "../src/durable-objects/matchmaker";

/**
 * The benchmark's ceilings, run in the same workerd with the same logging as the API: a bare Hono
 * worker, and one raw select and one raw insert over the fastest database path the platform
 * allows, the one the API's one-shot statements take (`openDatabase`: Neon's SQL over HTTP, one
 * request per statement, no connection to open).
 */
const app = new Hono<{ Bindings: Env }>();

app.get("/health", (c) => c.json({ status: "ok" }));

app.get("/raw/select", async (c) => {
  const handle = openDatabase(getConfig(c.env).database, () => {});
  const result = await handle.db.execute(sql`select id, email from users limit 1`);
  c.executionCtx.waitUntil(handle.close());
  return c.json({ rows: result.rows.length });
});

/**
 * GET /me's own statement and shaping, bare: the account read the route runs (`findMe`), through
 * the same client, without the API's middleware, authentication or validation around it.
 */
app.get("/raw/me/:userId", async (c) => {
  const me = await findMe(httpDatabase(getConfig(c.env).database), c.req.param("userId"));
  return me ? c.json(me) : c.json({ error: "no such account" }, 404);
});

/**
 * Gives `userId` a history for search to scale with (`bench/search-corpus.ts`): `sessions`
 * sessions of `messages` messages each, and four times as many sessions between strangers, then
 * refreshes the planner's statistics, as autovacuum would after a day of traffic.
 */
app.post("/search/corpus/:userId", async (c) => {
  const handle = openDatabase(getConfig(c.env).database, () => {});
  await handle.db.execute(
    searchCorpus({
      searcherId: c.req.param("userId"),
      run: crypto.randomUUID().slice(0, 8),
      sessions: Number(c.req.query("sessions") ?? "100"),
      messagesPerSession: Number(c.req.query("messages") ?? "100"),
      strangerFactor: 4,
    }),
  );
  await handle.db.execute(sql`analyze messages, session_participants, sessions`);
  c.executionCtx.waitUntil(handle.close());
  return c.json({ written: true }, 201);
});

/**
 * The search's own statement, bare: `searchMessages` for `userId`, first page of 20, through the
 * same client, without the API's middleware, authentication, validation or view around it.
 */
app.get("/raw/search/:userId", async (c) => {
  const hits = await searchMessages(
    httpDatabase(getConfig(c.env).database),
    c.req.param("userId"),
    c.req.query("q") ?? "",
    20,
  );
  return c.json({ hits: hits.length });
});

/** The plan Postgres runs the search of `q` by for `userId`, first page of 20, with its timings. */
app.get("/search/plan/:userId", async (c) => {
  const handle = openDatabase(getConfig(c.env).database, () => {});
  const statement = searchStatement(c.req.param("userId"), c.req.query("q") ?? "", 20);
  const result = await handle.db.execute<{ "QUERY PLAN": string }>(
    sql`explain (analyze, costs off, timing on, summary on) ${statement}`,
  );
  c.executionCtx.waitUntil(handle.close());
  return c.text(result.rows.map((row) => row["QUERY PLAN"]).join("\n"));
});

app.post("/raw/insert", async (c) => {
  const handle = openDatabase(getConfig(c.env).database, () => {});
  const body = await c.req.text();
  await handle.db.execute(sql`insert into bench_inserts (body) values (${body})`);
  c.executionCtx.waitUntil(handle.close());
  return c.json({ stored: true }, 201);
});

/** `users` new accounts tagged `tag`, each with an attempt queued at C2, in one statement. */
async function queuedLearners(
  db: Database,
  tag: string,
  users: number,
): Promise<{ user_id: string; attempt_id: string }[]> {
  const { rows } = await db.execute<{ user_id: string; attempt_id: string }>(sql`
    with made as (
      insert into users (email)
      select ${tag} || '-' || n || '@example.com' from generate_series(1, ${users}) as n
      returning id
    )
    insert into match_attempts (user_id, level, status)
    select id, 'C2', 'queued' from made
    returning user_id, id as attempt_id
  `);
  return rows;
}

/**
 * Many learners arriving at once at one level's Matchmaker, called directly: the users and their
 * queued attempts are written first in one statement, then every attempt is handed to the object
 * at the same moment. Measures the object alone, without the HTTP front in front of it. With
 * `interests=on` each learner brings four interests, as the attempt route hands them over.
 *
 * A level's queue only ever holds learners who cannot be paired with each other, so for the
 * matchmaker to have a choice to make, every four consecutive learners have blocked each other
 * (in their queue entries, as blocks the object knows of): four wait side by side, and the next
 * four each choose among those left, with or without interests alike. One pair before the burst
 * opens the object's kept database connection, as a long-lived level's object has it open.
 */
app.post("/matchmaker/burst", async (c) => {
  const users = Number(c.req.query("users") ?? "200");
  const withInterests = c.req.query("interests") === "on";
  const handle = openDatabase(getConfig(c.env).database, () => {});
  const run = crypto.randomUUID().slice(0, 8);
  const rows = await queuedLearners(handle.db, `burst-${run}`, users + 2);
  c.executionCtx.waitUntil(handle.close());
  const matchmaker = c.env.MATCHMAKER.get(c.env.MATCHMAKER.idFromName(`burst-${run}`));
  // A level's object lives long in production, its database connection kept open: one pair first
  // opens this fresh object's, so that the burst does not time a connection's start.
  await Promise.all(
    rows.splice(0, 2).map((row) =>
      matchmaker.enqueue({
        userId: row.user_id,
        attemptId: row.attempt_id,
        level: "C2",
        displayName: null,
        enqueuedAt: Date.now(),
        blocked: [],
        avoid: [],
        interests: [],
      }),
    ),
  );
  const group = (n: number) => Math.floor(n / 4);
  const entries = rows.map((row, n) => ({
    userId: row.user_id,
    attemptId: row.attempt_id,
    level: "C2" as const,
    displayName: null,
    blocked: rows.filter((_, m) => m !== n && group(m) === group(n)).map((peer) => peer.user_id),
    avoid: [],
    interests: withInterests ? benchInterests(n) : [],
  }));
  const started = Date.now();
  // A declaration, so that a CPU profile names the bench's own side of the calls apart from the object's work.
  function handOver(entry: (typeof entries)[number]) {
    return matchmaker.enqueue({ ...entry, enqueuedAt: started });
  }
  const results = await Promise.all(entries.map(handOver));
  const elapsedMs = Date.now() - started;
  const sessions = new Set(
    results.map((result) => (result.status === "matched" ? result.sessionId : "")).filter(Boolean),
  );
  return c.json({
    users,
    pairs: sessions.size,
    elapsed_ms: elapsedMs,
    pairs_per_second: sessions.size / (elapsedMs / 1000),
  });
});

/**
 * The object-alone burst taken apart, on the same machine in the same run: what one level's
 * Matchmaker spends on a burst of `users` arrivals is (a) the one statement that creates all the
 * sessions (`pairMany`, timed here bare on a connection opened beforehand, as the object's kept one is),
 * (b) the RPC calls themselves (`users` calls at once to a trivial method of a fresh object), and
 * (c) the object's own work, the rest.
 */
app.post("/matchmaker/parts", async (c) => {
  const users = Number(c.req.query("users") ?? "200");
  const config = getConfig(c.env).database;
  const handle = openDatabase(config, () => {});
  const run = crypto.randomUUID().slice(0, 8);
  const rows = await queuedLearners(handle.db, `parts-${run}`, users);
  c.executionCtx.waitUntil(handle.close());
  const pairs = Array.from({ length: Math.floor(rows.length / 2) }, (_, n) => {
    const [first, second] = [rows[2 * n], rows[2 * n + 1]] as [(typeof rows)[number], (typeof rows)[number]];
    return {
      sessionId: crypto.randomUUID(),
      level: "C2" as const,
      attempts: [first.attempt_id, second.attempt_id] as [string, string],
      users: [first.user_id, second.user_id] as [string, string],
      sharedInterests: [],
    };
  });
  // The object's kept connection is open before a burst; so is this one.
  const connection = openPoolDatabase(config, () => {});
  await connection.db.execute(sql`select 1`);
  const statementStarted = Date.now();
  const created = await pairMany(connection.db, pairs, new Date());
  const statementMs = Date.now() - statementStarted;
  c.executionCtx.waitUntil(connection.close());
  const matchmaker = c.env.MATCHMAKER.get(c.env.MATCHMAKER.idFromName(`parts-${run}`));
  await matchmaker.oldestWaiting();
  const callsStarted = Date.now();
  await Promise.all(rows.map(() => matchmaker.oldestWaiting()));
  const callsMs = Date.now() - callsStarted;
  return c.json({ users, pairs: created.size, statement_ms: statementMs, calls_ms: callsMs });
});

export default app;
