import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { NeonDbError, neon, neonConfig, Pool } from "@neondatabase/serverless";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StackBindings } from "../../scripts/stack/bindings.ts";
import { survivePool } from "../../scripts/stack/incidents.ts";
import { type Stack, startStack } from "../../scripts/stack/index.ts";
import { type PostgresServer, startPostgresServer } from "../../scripts/stack/postgres-server.ts";

/*
 * The local stack outlives its database. The Worker reaches Postgres two ways, the SQL-over-HTTP
 * endpoint and the WebSocket bridge, and either holds connections in the middle of a request; a
 * database that goes away under them must end those requests with an error answer and leave the
 * stack serving again once it is back, never end the process (as an unhandled `error` event from
 * a checked-out node-postgres client once did, failing CI one run in seven).
 */

/** The serverless driver through one stack's endpoints, as the Worker uses it. */
function drivers(bindings: StackBindings, testIncidents: string[]) {
  neonConfig.fetchEndpoint = bindings.NEON_HTTP_ENDPOINT;
  neonConfig.wsProxy = bindings.NEON_WS_PROXY;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
  const http = neon(bindings.DATABASE_URL);
  const pool = new Pool({ connectionString: bindings.DATABASE_URL, max: 4, connectionTimeoutMillis: 3000 });
  // This side's connections are lost too; the test process must survive them like the stack does.
  survivePool(pool, "test pool", (_, what) => testIncidents.push(what));
  return { http, pool };
}

/** Retries `attempt` until it resolves, for at most `boundMs`; its last error otherwise. */
async function eventually<T>(attempt: () => Promise<T>, boundMs = 20_000): Promise<T> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(200);
    }
  }
}

const settle = <T>(promise: Promise<T>) =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

/** What the driver raises for a request the endpoint could not serve: Postgres's shutdown or our 502. */
function isUnavailableAnswer(error: unknown): boolean {
  if (!(error instanceof NeonDbError)) return false;
  return /^(57P|08)/.test(error.code ?? "") || /HTTP status 502/.test(error.message);
}

describe("the local stack, when its PostgreSQL server crashes mid-request", () => {
  let postgres: PostgresServer;
  let child: ChildProcess;
  let bindings: StackBindings;
  const stderr: string[] = [];
  const testIncidents: string[] = [];

  beforeAll(async () => {
    postgres = await startPostgresServer();
    child = spawn(
      process.execPath,
      ["--experimental-strip-types", "--disable-warning=ExperimentalWarning", "scripts/stack/serve.ts"],
      {
        stdio: ["pipe", "pipe", "pipe"],
        // Straight to the server: this is about the stack's own bridge and HTTP endpoint meeting the
        // crash, which PgBouncer in between would meet instead (it holds new queries until it is back).
        env: {
          ...process.env,
          DATABASE_URL: postgres.url,
          STACK_POOLER: "off",
          STACK_DATA_DIR: "",
          STACK_QUIET: "1",
          STACK_FIXTURES: "",
        },
      },
    );
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", (line) => stderr.push(line));
    bindings = await new Promise<StackBindings>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`the stack exited (${code}): ${stderr.join("\n")}`)));
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
        if (line.startsWith("STACK_READY ")) resolve(JSON.parse(line.slice("STACK_READY ".length)).bindings);
      });
    });
    child.removeAllListeners("exit");
  }, 60_000);

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    }
    await postgres?.stop();
  });

  it("ends the requests in flight with an error answer, lives on, and answers again once it is back", async () => {
    const { http, pool } = drivers(bindings, testIncidents);
    // Connections the endpoint keeps idle, and one the test keeps checked out inside a transaction.
    await Promise.all([http.query("select 1"), http.query("select 2"), http.query("select 3")]);
    const held = await pool.connect();
    await held.query("begin");

    const inFlight = {
      http: settle(http.query("select pg_sleep(5)")),
      httpBatch: settle(http.transaction([http.query("select 1"), http.query("select pg_sleep(5)")])),
      bridge: settle(pool.query("select pg_sleep(5)")),
      held: settle(held.query("select pg_sleep(5)")),
    };
    // Every statement is running on the server before it goes.
    await eventually(async () => {
      const [row] = await http.query(
        "select count(*)::int as n from pg_stat_activity where query like 'select pg_sleep%'",
      );
      if ((row as { n: number }).n < 4) throw new Error("not all in flight yet");
    }, 10_000);

    postgres.crash();
    const outcomes = {
      http: await inFlight.http,
      httpBatch: await inFlight.httpBatch,
      bridge: await inFlight.bridge,
      held: await inFlight.held,
    };
    await sleep(500);
    expect(child.exitCode, stderr.join("\n")).toBeNull();
    expect(child.signalCode, stderr.join("\n")).toBeNull();
    for (const [path, outcome] of Object.entries(outcomes)) {
      expect(outcome.ok, `${path} cannot have succeeded`).toBe(false);
    }
    expect(isUnavailableAnswer(outcomes.http.ok ? undefined : outcomes.http.error)).toBe(true);
    expect(isUnavailableAnswer(outcomes.httpBatch.ok ? undefined : outcomes.httpBatch.error)).toBe(true);
    held.release(true);

    // While it is down: an answer at once, and one that says the database is unreachable.
    const whileDown = await settle(http.query("select 1"));
    expect(whileDown.ok).toBe(false);
    expect(whileDown.ok ? "" : String(whileDown.error)).toMatch(/HTTP status 502.*connecting to database/);
    // The stack's log names the dependency that failed under it.
    expect(stderr.join("\n")).toMatch(/\[stack\] postgres \(SQL-over-HTTP endpoint\): connection lost/);

    postgres.start();
    expect(await eventually(() => http.query("select 41 + 1 as answer"))).toEqual([{ answer: 42 }]);
    expect((await eventually(() => pool.query("select 'bridged' as way"))).rows).toEqual([{ way: "bridged" }]);
    expect(child.exitCode).toBeNull();
    await pool.end();
  }, 60_000);
});

describe("the local stack on PGlite, when its wire server goes away under load", () => {
  let stack: Stack;
  const incidents: string[] = [];
  const testIncidents: string[] = [];

  beforeAll(async () => {
    stack = await startStack({
      log: () => {},
      incidents: (component, what) => incidents.push(`${component}: ${what}`),
    });
  }, 60_000);
  afterAll(() => stack?.stop());

  it("ends the requests in flight with errors and answers again, five times over", async () => {
    const { http, pool } = drivers(stack.bindings, testIncidents);
    let failed = 0;
    for (let round = 0; round < 5; round += 1) {
      // Both ways at once, so that connections of each are checked out when the server goes.
      const load = Array.from({ length: 60 }, (_, i) =>
        settle(
          i % 2 === 0
            ? http.query("select $1::int as i", [i])
            : pool.query("select $1::int as i", [i]).then((result) => result.rows),
        ),
      );
      // The first round stops it at once, with every request still in flight; later ones a moment in.
      await sleep(round * 7);
      await stack.faults.database.stop();
      const outcomes = await Promise.all(load);
      failed += outcomes.filter((outcome) => !outcome.ok).length;
      // Each either failed or got its own answer: a lost connection never hands one request another's rows.
      outcomes.forEach((outcome, i) => {
        if (outcome.ok) expect(outcome.value).toEqual([{ i }]);
      });
      await stack.faults.database.start();
      expect(await eventually(() => http.query("select $1::int as round", [round]))).toEqual([{ round }]);
      expect((await eventually(() => pool.query("select $1::int as round", [round]))).rows).toEqual([{ round }]);
    }
    // Requests were cut off in flight (else this proved nothing), and the stack told of it.
    expect(failed).toBeGreaterThan(0);
    expect(incidents.join("\n")).toMatch(/postgres \((SQL-over-HTTP endpoint|WebSocket bridge)\)/);
    await pool.end();
  }, 90_000);
});
