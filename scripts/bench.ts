/**
 * `npm run bench [-- --duration 10 --connections 32 --log-level error]`
 *
 * Runs the API under `wrangler dev` (workerd) against a real PostgreSQL and a real Redis on
 * loopback, which it starts itself, and drives it with autocannon. In the same run it measures
 * the ceilings: a bare Hono worker, and a raw select and a raw insert through the same database
 * path (bench/ceiling.ts), both workers with the same logging. Then matchmaking: the time from the
 * second compatible attempt to both `matched` pushes, and the pairs per second one level's
 * Durable Object sustains. Prints one table and writes it as JSON under bench/results/.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { neonConfig, Pool } from "@neondatabase/serverless";
import autocannon from "autocannon";
import { toEnvFile } from "./stack/env-file.ts";
import { startStack } from "./stack/index.ts";
import { startPostgresServer } from "./stack/postgres-server.ts";
import { freePort } from "./stack/redis.ts";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "32" },
    "log-level": { type: "string", default: "error" },
    "latency-samples": { type: "string", default: "100" },
    "burst-users": { type: "string", default: "200" },
  },
});
const duration = Number(values.duration);
const connections = Number(values.connections);
const logLevel = values["log-level"] ?? "error";
const root = new URL("..", import.meta.url).pathname;

const cleanups: (() => Promise<void>)[] = [];
async function cleanup(): Promise<void> {
  for (const step of cleanups.reverse()) await step().catch(() => {});
}
process.on("SIGINT", () => void cleanup().then(() => process.exit(130)));

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

async function startWorker(name: string, args: string[], envFile: string): Promise<string> {
  const port = await freePort();
  const inspector = await freePort();
  const persist = await mkdtemp(join(tmpdir(), `gaplash-bench-${name}-`));
  const child: ChildProcess = spawn(
    "npx",
    [
      "wrangler",
      "dev",
      ...args,
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--inspector-port",
      String(inspector),
      "--log-level",
      logLevel,
      "--persist-to",
      persist,
      "--env-file",
      envFile,
      "--show-interactive-dev-session=false",
    ],
    { cwd: root, stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
  );
  cleanups.push(async () => {
    child.kill("SIGINT");
    await rm(persist, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/health`)).ok) return url;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${name} did not come up on ${url}`);
}

async function json<T>(response: Response): Promise<T> {
  const text = await response.text();
  if (!response.ok) throw new Error(`${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

interface Learner {
  token: string;
  id: string;
}

async function signUp(api: string, label: string, level: string): Promise<Learner> {
  const email = `bench-${label}-${randomBytes(6).toString("hex")}@example.com`;
  const post = (path: string, body: unknown, token?: string) =>
    fetch(`${api}${path}`, {
      method: path === "/me" ? "PATCH" : "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  const { login_id } = await json<{ login_id: string }>(await post("/auth/email/request", { email }));
  const mailbox = await json<{ items: { text?: string }[] }>(await fetch(`${api}/dev/mailbox?email=${email}`));
  const code = /\b(\d{6})\b/.exec(mailbox.items[0]?.text ?? "")?.[1];
  const signedIn = await json<{ access_token: string; user: { id: string } }>(
    await post("/auth/email/verify", { email, login_id, code }),
  );
  await json(await post("/me", { display_name: label, level }, signedIn.access_token));
  return { token: signedIn.access_token, id: signedIn.user.id };
}

async function inBatches<T>(count: number, width: number, make: (index: number) => Promise<T>): Promise<T[]> {
  const made: T[] = [];
  for (let start = 0; start < count; start += width) {
    made.push(
      ...(await Promise.all(Array.from({ length: Math.min(width, count - start) }, (_, i) => make(start + i)))),
    );
  }
  return made;
}

const ping = (api: string, learner: Learner) =>
  fetch(`${api}/presence/ping`, { method: "POST", headers: { authorization: `Bearer ${learner.token}` } }).then(json);

const attempt = (api: string, learner: Learner, level: string) =>
  fetch(`${api}/match/attempt`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${learner.token}` },
    body: JSON.stringify({ desired_level: level }),
  }).then((response) => json<{ status: string; session_id?: string }>(response));

interface Measured {
  name: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  queriesPerRequest: number | null;
  ceiling?: string;
  ratio?: number;
}

async function queriesPerRequest(url: string, init: RequestInit): Promise<number | null> {
  const counts: number[] = [];
  for (let i = 0; i < 10; i += 1) {
    const response = await fetch(url, init);
    await response.arrayBuffer();
    const match = /db;desc="(\d+) queries"/.exec(response.headers.get("server-timing") ?? "");
    if (match) counts.push(Number(match[1]));
  }
  return counts.length ? counts.reduce((a, b) => a + b, 0) / counts.length : null;
}

async function load(
  name: string,
  url: string,
  options: { method?: "GET" | "POST"; headers?: Record<string, string>; body?: string; expect: number },
): Promise<Measured> {
  log(`${name}: ${connections} connections for ${duration} s`);
  const result = await autocannon({
    url,
    connections,
    duration,
    method: options.method ?? "GET",
    headers: options.headers,
    body: options.body,
  });
  const unexpected = Object.entries(result.statusCodeStats ?? {})
    .filter(([status]) => Number(status) !== options.expect)
    .reduce((total, [, stats]) => total + (stats as { count: number }).count, 0);
  return {
    name,
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + unexpected,
    queriesPerRequest: await queriesPerRequest(url, {
      method: options.method ?? "GET",
      headers: options.headers,
      body: options.body,
    }),
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function matchedPushLatency(api: string, samples: number): Promise<number[]> {
  const learners = await inBatches(samples * 2, 16, (i) => signUp(api, `push${i}`, "B2"));
  const wsBase = api.replace(/^http/, "ws");
  const latencies: number[] = [];
  for (let i = 0; i < samples; i += 1) {
    const pair = [learners[2 * i], learners[2 * i + 1]] as [Learner, Learner];
    await Promise.all(pair.map((learner) => ping(api, learner)));
    const matchedAt: number[] = [];
    const sockets = await Promise.all(
      pair.map(
        (learner) =>
          new Promise<WebSocket>((resolve, reject) => {
            const socket = new WebSocket(`${wsBase}/match/ws?level=B2&token=${learner.token}`);
            socket.addEventListener("open", () => resolve(socket));
            socket.addEventListener("error", () => reject(new Error("socket failed")));
            socket.addEventListener("message", (event) => {
              if (String(event.data).includes('"matched"')) matchedAt.push(performance.now());
            });
          }),
      ),
    );
    await attempt(api, pair[0], "B2");
    const started = performance.now();
    await attempt(api, pair[1], "B2");
    const deadline = Date.now() + 5000;
    while (matchedAt.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));
    if (matchedAt.length === 2) latencies.push(Math.max(...matchedAt) - started);
    for (const socket of sockets) socket.close();
  }
  return latencies;
}

interface Burst {
  pairs: number;
  /** From the first attempt written to the last pair's session, by the database's timestamps. */
  seconds: number;
  /** How long the attempts took to arrive: the first to the last attempt row written. */
  arrivalSeconds: number;
  /** For each pair, from the later attempt's row to the pair's session: the object's share. */
  pairingMs: { p50: number; p99: number };
}

async function pairsPerSecond(api: string, users: number, databaseUrl: string): Promise<Burst> {
  const learners = await inBatches(users, 16, (i) => signUp(api, `burst${i}`, "C1"));
  await inBatches(users, 50, (i) => ping(api, learners[i] as Learner));
  const started = performance.now();
  const results = await Promise.all(learners.map((learner) => attempt(api, learner, "C1")));
  const waiting = learners.filter((_, i) => results[i]?.status !== "matched");
  while (waiting.length > 0) {
    const statuses = await Promise.all(
      waiting.map((learner) =>
        fetch(`${api}/match/status`, { headers: { authorization: `Bearer ${learner.token}` } }).then((response) =>
          json<{ status: string }>(response),
        ),
      ),
    );
    for (let i = statuses.length - 1; i >= 0; i -= 1) if (statuses[i]?.status === "matched") waiting.splice(i, 1);
    if (performance.now() - started > 60_000) throw new Error(`${waiting.length} learners were never matched`);
  }
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  const { rows } = await pool.query<{ arrival_ms: number; window_ms: number; pairing_ms: number[] }>(
    `select extract(epoch from max(created_at) - min(created_at)) * 1000 as arrival_ms,
       extract(epoch from max(resolved_at) - min(created_at)) * 1000 as window_ms,
       (select array_agg(ms) from (
          select extract(epoch from max(resolved_at) - max(created_at)) * 1000 as ms
          from match_attempts where user_id = any($1::uuid[]) group by session_id) pairs) as pairing_ms
     from match_attempts where user_id = any($1::uuid[])`,
    [learners.map((learner) => learner.id)],
  );
  await pool.end();
  const pairing = (rows[0]?.pairing_ms ?? []).map(Number);
  return {
    pairs: users / 2,
    seconds: Number(rows[0]?.window_ms ?? 0) / 1000,
    arrivalSeconds: Number(rows[0]?.arrival_ms ?? 0) / 1000,
    pairingMs: { p50: percentile(pairing, 50), p99: percentile(pairing, 99) },
  };
}

try {
  log("starting PostgreSQL, redis-server and the local stack");
  const postgres = process.env.DATABASE_URL ? undefined : await startPostgresServer();
  if (postgres) cleanups.push(postgres.stop);
  const stack = await startStack({ databaseUrl: process.env.DATABASE_URL ?? postgres?.url, log: () => {} });
  cleanups.push(stack.stop);

  neonConfig.wsProxy = stack.bindings.NEON_WS_PROXY;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
  const pool = new Pool({ connectionString: stack.bindings.DATABASE_URL, max: 1 });
  await pool.query("create table if not exists bench_inserts (id bigserial primary key, body text not null)");
  await pool.end();

  const envDir = await mkdtemp(join(tmpdir(), "gaplash-bench-env-"));
  cleanups.push(() => rm(envDir, { recursive: true, force: true }));
  const envFile = join(envDir, "bench.env");
  await writeFile(
    envFile,
    toEnvFile({
      ...stack.bindings,
      JWT_SECRET: randomBytes(32).toString("base64url"),
      AUTH_SECRET: randomBytes(32).toString("base64url"),
      // The limits stay in the path (each request still asks Redis) but never refuse the load.
      RATE_LIMIT_MESSAGES_PER_MIN: "100000000",
      RATE_LIMIT_MATCH_ATTEMPTS_PER_MIN: "100000000",
      RATE_LIMIT_CODE_REQUESTS_PER_IP_HOUR: "100000000",
      APP_COMMIT: "bench",
      // The ceiling worker has no wrangler.toml vars of the API's; it parses the same config.
      ENVIRONMENT: "development",
      MAIL_FROM: "Gaplash <bench@gaplash.local>",
      CORS_ORIGINS: "http://localhost:3000",
    }),
  );
  log(`starting the API and the ceiling worker under wrangler dev (--log-level ${logLevel})`);
  const api = await startWorker("api", [], envFile);
  const ceiling = await startWorker("ceiling", ["-c", "bench/wrangler.toml"], envFile);
  // The same API without the per-request log line, to show what that line costs under wrangler dev.
  const quietEnvFile = join(envDir, "bench-quiet.env");
  await writeFile(quietEnvFile, `${await readFile(envFile, "utf8")}LOG_LEVEL="warn"\n`);
  const quietApi = await startWorker("api-quiet", [], quietEnvFile);

  log("creating learners and a session");
  const [a, b] = await Promise.all([signUp(api, "alice", "A1"), signUp(api, "bob", "A1")]);
  await Promise.all([ping(api, a), ping(api, b)]);
  await attempt(api, a, "A1");
  const sessionId = (await attempt(api, b, "A1")).session_id;
  if (!sessionId) throw new Error("the two learners were not matched");
  const auth = { authorization: `Bearer ${a.token}` };
  const message = JSON.stringify({ type: "text", text: "Hello, how was your weekend at the market?" });

  const ceilings = {
    health: await load("ceiling: bare Hono GET /health", `${ceiling}/health`, { expect: 200 }),
    select: await load("ceiling: raw select", `${ceiling}/raw/select`, { expect: 200 }),
    insert: await load("ceiling: raw insert", `${ceiling}/raw/insert`, {
      method: "POST",
      body: "a benchmark row",
      expect: 201,
    }),
  };
  const routes: Measured[] = [
    { ...(await load("GET /health", `${api}/health`, { expect: 200 })), ceiling: ceilings.health.name },
    {
      ...(await load("GET /health, LOG_LEVEL=warn", `${quietApi}/health`, { expect: 200 })),
      ceiling: ceilings.health.name,
    },
    { ...(await load("GET /me", `${api}/me`, { headers: auth, expect: 200 })), ceiling: ceilings.select.name },
    {
      ...(await load("POST /sessions/{id}/messages", `${api}/sessions/${sessionId}/messages`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: message,
        expect: 201,
      })),
      ceiling: ceilings.insert.name,
    },
    {
      ...(await load("GET /sessions/{id}/messages", `${api}/sessions/${sessionId}/messages`, {
        headers: auth,
        expect: 200,
      })),
      ceiling: ceilings.select.name,
    },
    {
      ...(await load("GET /messages/search", `${api}/messages/search?q=market`, { headers: auth, expect: 200 })),
      ceiling: ceilings.select.name,
    },
  ];
  const byName = new Map(Object.values(ceilings).map((measured) => [measured.name, measured]));
  for (const route of routes) {
    const base = route.ceiling ? byName.get(route.ceiling) : undefined;
    if (base?.requestsPerSecond) route.ratio = route.requestsPerSecond / base.requestsPerSecond;
  }

  log("matchmaking: time from the second attempt to both pushes");
  const latencies = await matchedPushLatency(api, Number(values["latency-samples"]));
  log("matchmaking: a burst of learners arriving at one level");
  const burst = await pairsPerSecond(api, Number(values["burst-users"]), stack.bindings.DATABASE_URL);
  log("matchmaking: the same burst handed straight to one level's object");
  const direct = await json<{ users: number; pairs: number; elapsed_ms: number; pairs_per_second: number }>(
    await fetch(`${ceiling}/matchmaker/burst?users=${Number(values["burst-users"])}`, { method: "POST" }),
  );

  const rows = [...routes, ...Object.values(ceilings)];
  const pad = (text: string, width: number) => text.padEnd(width);
  const num = (value: number | null | undefined, digits = 1) =>
    value === null || value === undefined ? "—" : value.toFixed(digits);
  const lines = [
    `Gaplash benchmark — ${new Date().toISOString()}`,
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB; node ${process.version}; wrangler ${execFileSync("npx", ["wrangler", "--version"], { cwd: root, encoding: "utf8" }).trim()}`,
    `load: autocannon, ${connections} connections, ${duration} s per row; both workers with wrangler dev --log-level ${logLevel}; PostgreSQL ${postgres ? "started for this run" : "from DATABASE_URL"}, redis-server`,
    "",
    `${pad("route", 34)}${pad("req/s", 9)}${pad("p50 ms", 8)}${pad("p99 ms", 8)}${pad("errors", 8)}${pad("db q/req", 10)}ratio to ceiling`,
    ...rows.map(
      (row) =>
        `${pad(row.name, 34)}${pad(num(row.requestsPerSecond, 0), 9)}${pad(num(row.p50, 0), 8)}${pad(num(row.p99, 0), 8)}${pad(String(row.errors), 8)}${pad(num(row.queriesPerRequest), 10)}${row.ratio === undefined ? "" : `${row.ratio.toFixed(2)} of ${row.ceiling?.replace("ceiling: ", "")}`}`,
    ),
    "",
    `matchmaking: second attempt → both matched pushes: p50 ${num(percentile(latencies, 50))} ms, p99 ${num(percentile(latencies, 99))} ms, slowest ${num(Math.max(...latencies))} ms, first pair ${num(latencies[0])} ms (${latencies.length} pairs)`,
    `matchmaking: ${burst.pairs} pairs from ${burst.pairs * 2} learners arriving at once at one level: the first attempt to the last session took ${burst.seconds.toFixed(2)} s = ${(burst.pairs / burst.seconds).toFixed(0)} pairs/s`,
    `matchmaking: one level's object alone (attempts handed to it at once, no HTTP front): ${direct.pairs} pairs in ${(direct.elapsed_ms / 1000).toFixed(2)} s = ${direct.pairs_per_second.toFixed(0)} pairs/s`,
    `             through the API, the attempts took ${burst.arrivalSeconds.toFixed(2)} s to arrive through POST /match/attempt; once the later attempt of a pair was written, the object paired it in p50 ${num(burst.pairingMs.p50)} ms, p99 ${num(burst.pairingMs.p99)} ms`,
  ];
  console.log(lines.join("\n"));
  await mkdir(join(root, "bench/results"), { recursive: true });
  const file = join(root, "bench/results", `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  await writeFile(
    file,
    JSON.stringify(
      {
        at: new Date().toISOString(),
        machine: {
          cores: cpus().length,
          cpu: cpus()[0]?.model,
          memoryGiB: Math.round(totalmem() / 2 ** 30),
          node: process.version,
        },
        settings: { connections, duration, logLevel },
        routes,
        ceilings: Object.values(ceilings),
        matchmaking: {
          pushLatencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), samples: latencies.length },
          burst: { ...burst, pairsPerSecond: burst.pairs / burst.seconds },
          objectAlone: direct,
        },
      },
      null,
      2,
    ),
  );
  log(`written to ${file}`);
} finally {
  await cleanup();
}
process.exit(0);
