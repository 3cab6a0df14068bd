/**
 * `npm run bench [-- --duration 10 --connections 32 --log-level error --db-rtt 20 --redis-rtt 10]`
 *
 * Runs the API under `wrangler dev` (workerd) against a real PostgreSQL and a real Redis on
 * loopback, which it starts itself, and drives it with autocannon. In the same run it measures
 * the ceilings: a bare Hono worker, and a raw select and a raw insert over the fastest database
 * path (bench/ceiling.ts), both workers with the same logging.
 *
 * Then distance: each hot route one request at a time, with the database and then Redis moved
 * `--db-rtt` / `--redis-rtt` ms of round trip away (stack.distance), which turns the extra
 * latency into the round trips a request really makes; then both at once, which gives the round
 * trips a request makes one after another in all. It does so for the API as it is and for
 * the same API with `DATABASE_HTTP=off` (every statement over a new WebSocket connection, as
 * before the HTTP path).
 *
 * Then matchmaking: the time from the second compatible attempt to both `matched` pushes, and the
 * pairs per second one level's Durable Object sustains, through the API and alone, without interests
 * and with four interests per learner (the preference for shared interests must cost under 10 %). Prints the tables and writes them as JSON
 * under bench/results/.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { neonConfig, Pool } from "@neondatabase/serverless";
import autocannon from "autocannon";
import { benchInterests } from "../bench/interests.ts";
import { incidentsToStderr, reportUnhandledErrors, survivePool } from "./stack/incidents.ts";
import { startStack } from "./stack/index.ts";
import { startPostgresServer } from "./stack/postgres-server.ts";
import { attribute, type CpuProfile, profileWorker, topFunctions } from "./stack/profiler.ts";
import { type LocalWorker, startLocalWorker } from "./stack/worker.ts";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "32" },
    "log-level": { type: "string", default: "error" },
    "db-rtt": { type: "string", default: "20" },
    "redis-rtt": { type: "string", default: "10" },
    "distance-samples": { type: "string", default: "40" },
    "latency-samples": { type: "string", default: "100" },
    "burst-users": { type: "string", default: "200" },
  },
});
const duration = Number(values.duration);
const connections = Number(values.connections);
const databaseRtt = Number(values["db-rtt"]);
const redisRtt = Number(values["redis-rtt"]);
const distanceSamples = Number(values["distance-samples"]);
/** Sessions of 100 messages in the searching learner's history: 10,000 messages. */
const searchSessions = 100;
const logLevels = ["debug", "info", "log", "warn", "error", "none"] as const;
type LogLevel = (typeof logLevels)[number];
const logLevel = logLevels.find((level) => level === values["log-level"]);
if (!logLevel) throw new Error(`--log-level is one of ${logLevels.join(", ")}`);
const root = new URL("..", import.meta.url).pathname;

const cleanups: (() => Promise<void>)[] = [];
async function cleanup(): Promise<void> {
  for (const step of cleanups.reverse()) await step().catch(() => {});
}
process.on("SIGINT", () => void cleanup().then(() => process.exit(130)));
reportUnhandledErrors("bench", cleanup);

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

/** Each started worker, by its URL (for its CPU time and profiles). */
const workers = new Map<string, LocalWorker>();

async function startWorker(vars: Record<string, string>, args: string[] = [], level: LogLevel = logLevel ?? "error") {
  const worker = await startLocalWorker({ vars, args, logLevel: level });
  cleanups.push(worker.stop);
  workers.set(worker.url, worker);
  return worker.url;
}

function workerAt(url: string): LocalWorker {
  const worker = workers.get(url);
  if (!worker) throw new Error(`no worker at ${url}`);
  return worker;
}

/** How many requests of each cost probe are sent to measure its CPU. */
const cpuSamples = 200;

/**
 * CPU milliseconds one request of `probe` costs the worker at `url`: its workerd processes' CPU time
 * (`LocalWorker.workerdCpuMs`: the isolate, its Durable Objects and the runtime's own HTTP work) over
 * `cpuSamples` requests one at a time, less that of the probe's own preparation and tidying measured apart.
 */
async function cpuMsPerRequest(url: string, probe: Probe): Promise<number> {
  const worker = workerAt(url);
  const run = async (withRequest: boolean) => {
    const before = await worker.workerdCpuMs();
    for (let i = 0; i < cpuSamples; i += 1) {
      await probe.prepare?.();
      if (withRequest) await (await probe.request()).arrayBuffer();
      await probe.tidy?.();
    }
    return (await worker.workerdCpuMs()) - before;
  };
  const whole = await run(true);
  const around = probe.prepare || probe.tidy ? await run(false) : 0;
  return Math.max(0, whole - around) / cpuSamples;
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

async function signUp(api: string, label: string, level: string, interests: string[] = []): Promise<Learner> {
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
  await json(await post("/me", { display_name: label, level, interests }, signedIn.access_token));
  return { token: signedIn.access_token, id: signedIn.user.id };
}

/** The ceiling row that runs the search of `q` bare. */
const searchCeilingName = (q: string) => `ceiling: search's own statement, q=${q}`;

/** `make` for each of `items`, one after another (each row of the bench has the machine to itself). */
async function sequentially<T, R>(items: T[], make: (item: T) => Promise<R>): Promise<R[]> {
  const made: R[] = [];
  for (const item of items) made.push(await make(item));
  return made;
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

/**
 * An attempt as a real client makes it: a 503 (Redis missed its deadline under the burst, before
 * anything was written) is tried again after its `Retry-After` plus up to as much again at random,
 * five times at most.
 */
async function attempt(api: string, learner: Learner, level: string): Promise<{ status: string; session_id?: string }> {
  for (let tries = 0; ; tries += 1) {
    const response = await fetch(`${api}/match/attempt`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${learner.token}` },
      body: JSON.stringify({ desired_level: level }),
    });
    const retryAfter = response.headers.get("retry-after");
    if (response.status !== 503 || retryAfter === null || tries === 5) return json(response);
    await response.arrayBuffer();
    await sleep(Math.max(1, Number(retryAfter) || 1) * 1000 * (1 + Math.random()));
  }
}

/** What `/matchmaker/parts` measured of one burst's pieces (ms). */
interface MatchmakerParts {
  users: number;
  pairs: number;
  statement_ms: number;
  calls_ms: number;
}

interface Measured {
  name: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  /** What the database layer reports in Server-Timing, averaged over ten requests. */
  database: DatabaseUse | null;
  ceiling?: string;
  ratio?: number;
  ratioToBareHono?: number;
}

interface DatabaseUse {
  statements: number;
  roundTrips: number;
}

function databaseUse(response: Response): DatabaseUse | null {
  const match = /db;desc="(\d+) statements, (\d+) round trips"/.exec(response.headers.get("server-timing") ?? "");
  return match ? { statements: Number(match[1]), roundTrips: Number(match[2]) } : null;
}

/**
 * List prices the cost table multiplies out, each with where and when it was read (bench/README.md
 * quotes the same). Dollars per unit.
 */
const prices = {
  // developers.cloudflare.com/workers/platform/pricing (Workers Paid, past the included 10 M), read 2026-12-02.
  workerRequest: 0.3 / 1e6,
  // The same page: $0.02 per million CPU milliseconds past the included 30 M.
  workerCpuMs: 0.02 / 1e6,
  // developers.cloudflare.com/durable-objects/platform/pricing: $0.15 per million requests (RPC calls), read 2026-12-02.
  objectRequest: 0.15 / 1e6,
  // upstash.com/pricing/redis, Pay as You Go: $0.20 per 100,000 commands, as of 2026-11-09.
  upstashCommand: 0.2 / 1e5,
  // neon.com/docs/introduction/plans, Launch: $0.106 per compute-unit hour, updated 2026-11-12.
  neonCuHour: 0.106,
};

/** Everything a response's Server-Timing reports. */
interface RequestUse {
  statements: number;
  databaseRoundTrips: number;
  redisRequests: number;
  redisCommands: number;
  objectCalls: number;
  roundTrips: number;
}

function requestUse(response: Response): RequestUse | null {
  const timing = response.headers.get("server-timing") ?? "";
  const db = /db;desc="(\d+) statements, (\d+) round trips"/.exec(timing);
  const redis = /redis;desc="(\d+) requests, (\d+) commands"/.exec(timing);
  const objects = /do;desc="(\d+) calls"/.exec(timing);
  const total = /total;desc="(\d+) round trips"/.exec(timing);
  if (!db || !redis || !objects || !total) return null;
  return {
    statements: Number(db[1]),
    databaseRoundTrips: Number(db[2]),
    redisRequests: Number(redis[1]),
    redisCommands: Number(redis[2]),
    objectCalls: Number(objects[1]),
    roundTrips: Number(total[1]),
  };
}

/** Dollars one request costs at list prices: the Worker request and its `cpuMs` of CPU, Durable Object calls, Upstash commands. */
function dollarsPerRequest(use: RequestUse, cpuMs: number): number {
  return (
    prices.workerRequest +
    cpuMs * prices.workerCpuMs +
    use.objectCalls * prices.objectRequest +
    use.redisCommands * prices.upstashCommand
  );
}

/** What a response reports of the rest: Upstash commands, and round trips to both back ends one after another. */
interface TotalUse {
  redisCommands: number;
  roundTrips: number;
}

function totalUse(response: Response): TotalUse | null {
  const timing = response.headers.get("server-timing") ?? "";
  const redis = /redis;desc="\d+ requests, (\d+) commands"/.exec(timing);
  const total = /total;desc="(\d+) round trips"/.exec(timing);
  return redis && total ? { redisCommands: Number(redis[1]), roundTrips: Number(total[1]) } : null;
}

async function averageDatabaseUse(url: string, init: RequestInit): Promise<DatabaseUse | null> {
  const uses: DatabaseUse[] = [];
  for (let i = 0; i < 10; i += 1) {
    const response = await fetch(url, init);
    await response.arrayBuffer();
    const use = databaseUse(response);
    if (use) uses.push(use);
  }
  if (uses.length === 0) return null;
  const mean = (pick: (use: DatabaseUse) => number) => uses.reduce((sum, use) => sum + pick(use), 0) / uses.length;
  return { statements: mean((use) => use.statements), roundTrips: mean((use) => use.roundTrips) };
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
    database: await averageDatabaseUse(url, {
      method: options.method ?? "GET",
      headers: options.headers,
      body: options.body,
    }),
  };
}

/** One hot route, requested one at a time: `prepare` runs untimed before each request. */
interface Probe {
  name: string;
  request: () => Promise<Response>;
  expect: number;
  prepare?: () => Promise<unknown>;
  tidy?: () => Promise<unknown>;
}

/** Median latency of `samples` sequential requests (after a few untimed ones), and what they reported. */
async function medianLatency(
  probe: Probe,
  samples: number,
): Promise<{ p50: number; reported: DatabaseUse | null; total: TotalUse | null }> {
  const timings: number[] = [];
  let reported: DatabaseUse | null = null;
  let total: TotalUse | null = null;
  for (let i = -3; i < samples; i += 1) {
    await probe.prepare?.();
    const started = performance.now();
    const response = await probe.request();
    await response.arrayBuffer();
    const elapsed = performance.now() - started;
    if (response.status !== probe.expect)
      throw new Error(`${probe.name}: ${response.status}, expected ${probe.expect}`);
    await probe.tidy?.();
    if (i >= 0) timings.push(elapsed);
    reported = databaseUse(response);
    total = totalUse(response);
  }
  return { p50: percentile(timings, 50), reported, total };
}

interface DistanceRow {
  route: string;
  path: "HTTP (after)" | "WebSocket per request (before)";
  p50AtZeroMs: number;
  p50AtDatabaseRttMs: number;
  databaseRoundTrips: number;
  p50AtRedisRttMs: number | null;
  redisRoundTrips: number | null;
  /** Both back ends `--db-rtt` away at once: the round trips the request makes one after another. */
  p50AtBothRttMs: number | null;
  totalRoundTrips: number | null;
  reported: DatabaseUse | null;
  reportedTotal: TotalUse | null;
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

/** One burst handed straight to a level's object (bench/ceiling.ts). */
interface ObjectBurst {
  users: number;
  pairs: number;
  elapsed_ms: number;
  pairs_per_second: number;
}

/** How many times the object-alone burst runs each way: one run is too noisy to tell 10 % apart. */
const objectRounds = 5;

function median(values: number[]): number {
  return percentile(values, 50);
}

/** `value` against `baseline`, as a signed percentage. */
function percentChange(value: number, baseline: number): string {
  const change = ((value - baseline) / baseline) * 100;
  return `${change >= 0 ? "+" : ""}${change.toFixed(1)} %`;
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

/**
 * A burst of `users` learners at one level through `POST /match/attempt`, timed by the database's own
 * timestamps. With `profiled`, the API's isolate is sampled (every 1 ms: finer sampling under 200
 * requests at once slows it enough for Redis calls to miss their deadline) from the first attempt
 * until all are matched, and the profile comes back with the burst.
 */
async function pairsPerSecond(
  api: string,
  users: number,
  databaseUrl: string,
  withInterests: boolean,
  profiled = false,
): Promise<Burst & { profile?: CpuProfile }> {
  const learners = await inBatches(users, 16, (i) =>
    signUp(api, `burst${i}`, "C1", withInterests ? benchInterests(i) : []),
  );
  await inBatches(users, 50, (i) => ping(api, learners[i] as Learner));
  const attempts = () => attemptAll(api, learners, databaseUrl);
  const sampled = profiled ? await profileWorker(workerAt(api).inspectorPort, attempts, 1000) : undefined;
  if (!sampled) await attempts();
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  survivePool(pool, "postgres (the bench's own query)", incidentsToStderr);
  const { rows } = await pool.query<{ arrival_ms: number; window_ms: number; pairing_ms: number[] }>(
    `select extract(epoch from max(created_at) - min(created_at)) * 1000 as arrival_ms,
       extract(epoch from max(resolved_at) - min(created_at)) * 1000 as window_ms,
       (select array_agg(ms) from (
          select extract(epoch from max(resolved_at) - max(created_at)) * 1000 as ms
          from match_attempts where user_id = any($1::uuid[]) and status = 'matched' group by session_id) pairs) as pairing_ms
     from match_attempts where user_id = any($1::uuid[]) and status = 'matched'`,
    [learners.map((learner) => learner.id)],
  );
  await pool.end();
  const pairing = (rows[0]?.pairing_ms ?? []).map(Number);
  return {
    pairs: users / 2,
    seconds: Number(rows[0]?.window_ms ?? 0) / 1000,
    arrivalSeconds: Number(rows[0]?.arrival_ms ?? 0) / 1000,
    pairingMs: { p50: percentile(pairing, 50), p99: percentile(pairing, 99) },
    profile: sampled?.profile,
  };
}

/**
 * Every one of `learners` asks for a partner at once; resolves once the database says all are matched
 * (60 s at most). The bench asks the database every 50 ms rather than the API: a client learns of its
 * pairing from the match socket's push, and polling GET /match/status for 200 learners in a loop would
 * load the very worker whose matchmaker is being timed.
 */
async function attemptAll(api: string, learners: Learner[], databaseUrl: string): Promise<void> {
  const started = performance.now();
  await Promise.all(learners.map((learner) => attempt(api, learner, "C1")));
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  survivePool(pool, "postgres (the bench's own query)", incidentsToStderr);
  try {
    for (;;) {
      const { rows } = await pool.query<{ waiting: number }>(
        // Per learner, not per attempt: a 503 retried after its attempt was written (the matchmaker
        // missed its deadline, so the attempt was withdrawn) leaves a cancelled attempt beside the matched one.
        `select count(*)::int as waiting from unnest($1::uuid[]) as learner(id)
         where not exists (select 1 from match_attempts where user_id = learner.id and status = 'matched')`,
        [learners.map((learner) => learner.id)],
      );
      if ((rows[0]?.waiting ?? 0) === 0) return;
      if (performance.now() - started > 60_000) throw new Error(`${rows[0]?.waiting} learners were never matched`);
      await sleep(50);
    }
  } finally {
    await pool.end();
  }
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
  survivePool(pool, "postgres (the bench's own table)", incidentsToStderr);
  await pool.query("create table if not exists bench_inserts (id bigserial primary key, body text not null)");
  await pool.end();

  const key = () => randomBytes(32).toString("base64url");
  // One set of keys for every worker, so a learner signed in through one is signed in to all.
  const vars = {
    ...stack.bindings,
    JWT_SECRET: key(),
    AUTH_SECRET: key(),
    // The limits stay in the path (each request still asks Redis) but never refuse the load.
    RATE_LIMIT_MESSAGES_PER_MIN: "100000000",
    RATE_LIMIT_MATCH_ATTEMPTS_PER_MIN: "100000000",
    RATE_LIMIT_CODE_REQUESTS_PER_IP_HOUR: "100000000",
    APP_COMMIT: "bench",
    // The ceiling worker has no wrangler.toml vars of the API's; it parses the same config.
    ENVIRONMENT: "development",
    MAIL_FROM: "Gaplash <bench@gaplash.local>",
    CORS_ORIGINS: "http://localhost:3000",
  };
  log(`starting the API, the ceiling worker and two variants under wrangler dev (--log-level ${logLevel})`);
  const api = await startWorker(vars);
  const ceiling = await startWorker(vars, ["-c", "bench/wrangler.toml"]);
  // The same API without the per-request log line, to show what that line costs under wrangler dev.
  const quietApi = await startWorker({ ...vars, LOG_LEVEL: "warn" });
  // The same API as before the HTTP path: every statement over a new WebSocket connection.
  const webSocketApi = await startWorker({ ...vars, DATABASE_HTTP: "off" });

  log("creating learners and a session");
  const [a, b, lone, searcher] = await Promise.all([
    signUp(api, "alice", "A1"),
    signUp(api, "bob", "A1"),
    signUp(api, "lone", "B1"),
    signUp(api, "searcher", "B1"),
  ]);
  log(
    `writing a search history: ${searchSessions} sessions of 100 messages for one learner, four times as many between strangers`,
  );
  for (let written = 0; written < searchSessions; written += 25) {
    await json(await fetch(`${ceiling}/search/corpus/${searcher.id}?sessions=25&messages=100`, { method: "POST" }));
  }
  const searchAuth = { authorization: `Bearer ${searcher.token}` };
  const secondPage = await json<{ next_cursor: string | null }>(
    await fetch(`${api}/messages/search?q=market`, { headers: searchAuth }),
  );
  if (!secondPage.next_cursor) throw new Error("the search history gave no second page of hits for market");
  const searches = [
    { label: "a rare word (20 hits)", q: "passport" },
    { label: "a word in 6 % of it", q: "market" },
    { label: "its second page", q: "market", cursor: secondPage.next_cursor },
    { label: "two characters of an unspaced script", q: "市場" },
    { label: "a typo: look-alikes only", q: "yesterdya" },
  ];
  const searchPlans = await Promise.all(
    searches
      .filter((search) => !search.cursor)
      .map(async (search) => ({
        q: search.q,
        plan: await (await fetch(`${ceiling}/search/plan/${searcher.id}?q=${encodeURIComponent(search.q)}`)).text(),
      })),
  );
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
    me: await load("ceiling: GET /me's own statement", `${ceiling}/raw/me/${a.id}`, { expect: 200 }),
    // Each search's own statement bare, so a search row's ratio is our code's share, not the statement's.
    ...Object.fromEntries(
      await sequentially([...new Set(searches.map((search) => search.q))], async (q) => [
        `search ${q}`,
        await load(searchCeilingName(q), `${ceiling}/raw/search/${searcher.id}?q=${encodeURIComponent(q)}`, {
          expect: 200,
        }),
      ]),
    ),
  };
  const hotRoutes = async (base: string, suffix: string): Promise<Measured[]> => [
    {
      ...(await load(`GET /me${suffix}`, `${base}/me`, { headers: auth, expect: 200 })),
      ceiling: ceilings.me.name,
    },
    {
      ...(await load(`POST /sessions/{id}/messages${suffix}`, `${base}/sessions/${sessionId}/messages`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: message,
        expect: 201,
      })),
      ceiling: ceilings.insert.name,
    },
    {
      ...(await load(`GET /sessions/{id}/messages${suffix}`, `${base}/sessions/${sessionId}/messages`, {
        headers: auth,
        expect: 200,
      })),
      ceiling: ceilings.select.name,
    },
  ];
  const routes: Measured[] = [
    { ...(await load("GET /health", `${api}/health`, { expect: 200 })), ceiling: ceilings.health.name },
    {
      ...(await load("GET /health, LOG_LEVEL=warn", `${quietApi}/health`, { expect: 200 })),
      ceiling: ceilings.health.name,
    },
    ...(await hotRoutes(api, "")),
    ...(await sequentially(searches, async (search) => ({
      ...(await load(
        `GET /messages/search, 10k history: ${search.label}`,
        `${api}/messages/search?${new URLSearchParams({ q: search.q, ...(search.cursor ? { cursor: search.cursor } : {}) })}`,
        { headers: searchAuth, expect: 200 },
      )),
      ceiling: searchCeilingName(search.q),
    }))),
    ...(await hotRoutes(quietApi, ", LOG_LEVEL=warn")),
    ...(await hotRoutes(webSocketApi, ", before (WebSocket)")),
  ];
  const byName = new Map(Object.values(ceilings).map((measured) => [measured.name, measured]));
  for (const route of routes) {
    const base = route.ceiling ? byName.get(route.ceiling) : undefined;
    if (base?.requestsPerSecond) route.ratio = route.requestsPerSecond / base.requestsPerSecond;
    if (ceilings.health.requestsPerSecond) {
      route.ratioToBareHono = route.requestsPerSecond / ceilings.health.requestsPerSecond;
    }
  }

  log(`distance: each hot route one at a time, at 0, at ${databaseRtt} ms to the database, at ${redisRtt} ms to Redis`);
  const probes = (base: string): Probe[] => [
    { name: "GET /me", request: () => fetch(`${base}/me`, { headers: auth }), expect: 200 },
    {
      name: "GET /sessions/{id}/messages",
      request: () => fetch(`${base}/sessions/${sessionId}/messages`, { headers: auth }),
      expect: 200,
    },
    {
      name: "POST /sessions/{id}/messages",
      request: () =>
        fetch(`${base}/sessions/${sessionId}/messages`, {
          method: "POST",
          headers: { ...auth, "content-type": "application/json" },
          body: message,
        }),
      expect: 201,
    },
    {
      name: "POST /match/attempt",
      prepare: () => ping(base, lone),
      request: () =>
        fetch(`${base}/match/attempt`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${lone.token}` },
          body: JSON.stringify({ desired_level: "B1" }),
        }),
      expect: 202,
      tidy: () =>
        fetch(`${base}/match/attempt`, { method: "DELETE", headers: { authorization: `Bearer ${lone.token}` } }),
    },
  ];
  const distanceRows: DistanceRow[] = [];
  for (const [path, base] of [
    ["HTTP (after)", api],
    ["WebSocket per request (before)", webSocketApi],
  ] as const) {
    for (const probe of probes(base)) {
      stack.distance.database.set(0);
      stack.distance.redis.set(0);
      const near = await medianLatency(probe, distanceSamples);
      stack.distance.database.set(databaseRtt);
      const farDatabase = databaseRtt > 0 ? await medianLatency(probe, distanceSamples) : near;
      stack.distance.database.set(0);
      stack.distance.redis.set(redisRtt);
      const farRedis = redisRtt > 0 ? await medianLatency(probe, distanceSamples) : undefined;
      stack.distance.database.set(databaseRtt);
      stack.distance.redis.set(databaseRtt);
      const farBoth = databaseRtt > 0 ? await medianLatency(probe, distanceSamples) : undefined;
      stack.distance.database.set(0);
      stack.distance.redis.set(0);
      distanceRows.push({
        route: probe.name,
        path,
        p50AtZeroMs: near.p50,
        p50AtDatabaseRttMs: farDatabase.p50,
        databaseRoundTrips: databaseRtt > 0 ? (farDatabase.p50 - near.p50) / databaseRtt : 0,
        p50AtRedisRttMs: farRedis?.p50 ?? null,
        redisRoundTrips: farRedis ? (farRedis.p50 - near.p50) / redisRtt : null,
        p50AtBothRttMs: farBoth?.p50 ?? null,
        totalRoundTrips: farBoth ? (farBoth.p50 - near.p50) / databaseRtt : null,
        reported: near.reported,
        reportedTotal: near.total,
      });
    }
  }

  log("cost: what each hot route asks of each back end, and what that costs at list prices");
  const costProbes = (base: string): Probe[] => [
    ...probes(base),
    {
      name: "GET /messages/search",
      request: () => fetch(`${base}/messages/search?q=market`, { headers: auth }),
      expect: 200,
    },
    {
      name: "POST /presence/ping",
      request: () => fetch(`${base}/presence/ping`, { method: "POST", headers: auth }),
      expect: 200,
    },
  ];
  // CPU is measured on the API without the request log line: under wrangler dev every console line is
  // also piped to wrangler's terminal, which production does not do.
  const quietCostProbes = costProbes(quietApi);
  // The same measure of a bare Hono worker's health route: what workerd under wrangler dev spends on
  // any request (its own entry worker in front, the HTTP and loopback work), which a route's own CPU is over.
  const bareCpuMs = await cpuMsPerRequest(ceiling, {
    name: "bare Hono",
    request: () => fetch(`${ceiling}/health`),
    expect: 200,
  });
  const costRows: { route: string; use: RequestUse; workerdCpuMs: number; cpuMs: number; dollars: number }[] = [];
  for (const [index, probe] of costProbes(api).entries()) {
    await probe.prepare?.();
    const response = await probe.request();
    await response.arrayBuffer();
    await probe.tidy?.();
    const use = requestUse(response);
    if (response.status !== probe.expect || !use) throw new Error(`${probe.name}: ${response.status}, no usage`);
    const workerdCpuMs = await cpuMsPerRequest(quietApi, quietCostProbes[index] ?? probe);
    const cpuMs = Math.max(0, workerdCpuMs - bareCpuMs);
    costRows.push({ route: probe.name, use, workerdCpuMs, cpuMs, dollars: dollarsPerRequest(use, cpuMs) });
  }
  // A learner's hour of practice: the web client's presence pings (every 30 s), one attempt, 20
  // messages sent and 10 pages read, and the profile once.
  const learnerHour: Record<string, number> = {
    "POST /presence/ping": 120,
    "POST /match/attempt": 1,
    "POST /sessions/{id}/messages": 20,
    "GET /sessions/{id}/messages": 10,
    "GET /me": 1,
  };
  const hourDollars = Object.entries(learnerHour).reduce(
    (total, [route, count]) => total + count * (costRows.find((row) => row.route === route)?.dollars ?? 0),
    0,
  );
  const hourRequests = Object.values(learnerHour).reduce((total, count) => total + count, 0);
  // Neon bills compute by the hour it runs, not per request: the smallest autoscaling floor, always on.
  const neonFloorPerMonth = 0.25 * 730 * prices.neonCuHour;

  log("matchmaking: time from the second attempt to both pushes");
  const latencies = await matchedPushLatency(api, Number(values["latency-samples"]));
  const burstUsers = Number(values["burst-users"]);
  log("matchmaking: a burst of learners arriving at one level, without interests and then with four each");
  const burst = await pairsPerSecond(api, burstUsers, stack.bindings.DATABASE_URL, false);
  const burstWithInterests = await pairsPerSecond(api, burstUsers, stack.bindings.DATABASE_URL, true);
  // The object-alone bursts get a ceiling worker of their own: the first one's isolate holds what the
  // search corpus and the ceilings left in its heap, and its garbage collection would be timed with the object.
  // Autovacuum catching up on the rows the autocannon runs and the search corpus wrote would be timed
  // with the object's statements on these two cores: settle the database first.
  log(
    "matchmaking: VACUUM ANALYZE, then a fresh ceiling worker for the object-alone bursts, warmed with one untimed burst",
  );
  const settling = new Pool({ connectionString: stack.bindings.DATABASE_URL, max: 1 });
  survivePool(settling, "postgres (the bench's VACUUM)", incidentsToStderr);
  await settling.query("vacuum analyze");
  await settling.end();
  const objectCeiling = await startWorker(vars, ["-c", "bench/wrangler.toml"]);
  await json<ObjectBurst>(await fetch(`${objectCeiling}/matchmaker/burst?users=${burstUsers}`, { method: "POST" }));
  log(`matchmaking: the same burst handed straight to one level's object, ${objectRounds} rounds each way`);
  const direct: { off: ObjectBurst[]; on: ObjectBurst[] } = { off: [], on: [] };
  for (let round = 0; round < objectRounds; round += 1) {
    for (const interests of ["off", "on"] as const) {
      direct[interests].push(
        await json<ObjectBurst>(
          await fetch(`${objectCeiling}/matchmaker/burst?users=${burstUsers}&interests=${interests}`, {
            method: "POST",
          }),
        ),
      );
    }
  }
  log(`matchmaking: the object-alone burst taken apart, ${objectRounds} rounds`);
  const parts: MatchmakerParts[] = [];
  for (let round = 0; round < objectRounds; round += 1) {
    parts.push(
      await json<MatchmakerParts>(
        await fetch(`${objectCeiling}/matchmaker/parts?users=${burstUsers}`, { method: "POST" }),
      ),
    );
  }
  log(`matchmaking: a CPU profile of the object-alone burst, ${objectRounds} rounds`);
  const objectProfile = await profileWorker(workerAt(objectCeiling).inspectorPort, () =>
    sequentially(
      Array.from({ length: objectRounds }, (_, round) => round),
      async () =>
        json<ObjectBurst>(await fetch(`${objectCeiling}/matchmaker/burst?users=${burstUsers}`, { method: "POST" })),
    ),
  );
  const objectSplit = attribute(objectProfile.profile, {
    "the bench's own side of the hand-over calls": (stack) => stack.includes("handOver"),
    "the object's passes over its arrivals (serveArrivals)": (stack) => stack.includes("serveArrivals"),
    "  of which its SQLite queue (sql.exec)": (stack) => stack.includes("serveArrivals") && stack.includes("exec"),
    "  of which the matched log line": (stack) => stack.includes("logMatched"),
    "the runtime outside JavaScript ((program): RPC, I/O)": (stack) => stack[0] === "(program)",
    "garbage collection": (stack) => stack[0] === "(garbage collector)",
  });
  // The API again, unminified so that its profile names our functions, without the request log line.
  log("matchmaking: one more burst through the API, profiled (an unminified build, LOG_LEVEL=warn)");
  const profiledApi = await startWorker({ ...vars, LOG_LEVEL: "warn" }, ["--no-minify"]);
  const profiledBurst = await pairsPerSecond(profiledApi, burstUsers, stack.bindings.DATABASE_URL, false, true);
  const statementMs = median(parts.map((part) => part.statement_ms));
  const callsMs = median(parts.map((part) => part.calls_ms));
  const directOff = median(direct.off.map((run) => run.pairs_per_second));
  const directOn = median(direct.on.map((run) => run.pairs_per_second));
  const burstRate = (run: Burst) => run.pairs / run.seconds;

  const rows = [...routes, ...Object.values(ceilings)];
  const pad = (text: string, width: number) => text.padEnd(width);
  const num = (value: number | null | undefined, digits = 1) =>
    value === null || value === undefined ? "—" : value.toFixed(digits);
  const use = (value: DatabaseUse | null) => (value ? `${num(value.statements)}/${num(value.roundTrips)}` : "—");
  const ratios = (row: Measured) =>
    [
      row.ratio === undefined || row.ceiling === ceilings.health.name
        ? ""
        : `${row.ratio.toFixed(2)} of ${row.ceiling?.replace("ceiling: ", "")}`,
      row.ratioToBareHono === undefined || row.name.startsWith("ceiling")
        ? ""
        : `${row.ratioToBareHono.toFixed(2)} of bare Hono`,
    ]
      .filter(Boolean)
      .join(", ");
  const lines = [
    `Gaplash benchmark — ${new Date().toISOString()}`,
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB; node ${process.version}; wrangler ${execFileSync("npx", ["wrangler", "--version"], { cwd: root, encoding: "utf8" }).trim()}`,
    `load: autocannon, ${connections} connections, ${duration} s per row; every worker with wrangler dev --log-level ${logLevel}; PostgreSQL ${postgres ? "started for this run" : "from DATABASE_URL"}, redis-server`,
    "",
    `${pad("route", 50)}${pad("req/s", 9)}${pad("p50 ms", 8)}${pad("p99 ms", 8)}${pad("errors", 8)}${pad("db st/rt", 10)}ratio`,
    ...rows.map(
      (row) =>
        `${pad(row.name, 50)}${pad(num(row.requestsPerSecond, 0), 9)}${pad(num(row.p50, 0), 8)}${pad(num(row.p99, 0), 8)}${pad(String(row.errors), 8)}${pad(use(row.database), 10)}${ratios(row)}`,
    ),
    "",
    ...searchPlans.flatMap(({ q, plan }) => [`search plan for q=${q} (EXPLAIN ANALYZE, first page):`, plan, ""]),
    `distance: one request at a time, p50 of ${distanceSamples}; round trips derived as (p50 far − p50 near) / RTT; "reported" is the database layer's own count (statements/round trips)`,
    `${pad("route", 30)}${pad("database path", 32)}${pad("p50 0", 8)}${pad(`db +${databaseRtt}`, 9)}${pad("db RTs", 8)}${pad(`redis +${redisRtt}`, 11)}${pad("redis RTs", 11)}reported`,
    ...distanceRows.map(
      (row) =>
        `${pad(row.route, 30)}${pad(row.path, 32)}${pad(num(row.p50AtZeroMs), 8)}${pad(num(row.p50AtDatabaseRttMs), 9)}${pad(num(row.databaseRoundTrips), 8)}${pad(num(row.p50AtRedisRttMs), 11)}${pad(num(row.redisRoundTrips), 11)}${use(row.reported)}`,
    ),
    "",
    `total: the database and Redis both ${databaseRtt} ms away at once; round trips derived as above; "reported" is the request's own count (Server-Timing total), with the Upstash commands it sent`,
    `${pad("route", 30)}${pad("database path", 32)}${pad("p50 0", 8)}${pad(`both +${databaseRtt}`, 11)}${pad("total RTs", 11)}${pad("reported", 10)}Upstash commands`,
    ...distanceRows.map(
      (row) =>
        `${pad(row.route, 30)}${pad(row.path, 32)}${pad(num(row.p50AtZeroMs), 8)}${pad(num(row.p50AtBothRttMs), 11)}${pad(num(row.totalRoundTrips), 11)}${pad(row.reportedTotal ? String(row.reportedTotal.roundTrips) : "—", 10)}${row.reportedTotal?.redisCommands ?? "—"}`,
    ),
    "",
    `cost: one request of each hot route, as its Server-Timing reports it; subrequests = database round trips + Upstash requests + Durable Object calls; workerd CPU = its processes' CPU time over ${cpuSamples} requests one at a time (LOG_LEVEL=warn, Durable Objects included), ${num(bareCpuMs, 2)} ms for a bare Hono worker's; CPU = the route's over that, which is what is priced; $ per million requests at list prices (Workers request and CPU, Durable Object calls, Upstash commands; Neon apart)`,
    `${pad("route", 30)}${pad("statements", 12)}${pad("Upstash cmds", 14)}${pad("DO calls", 10)}${pad("subrequests", 13)}${pad("total RTs", 11)}${pad("workerd CPU", 13)}${pad("CPU ms", 8)}$ per million`,
    ...costRows.map(
      ({ route, use, workerdCpuMs, cpuMs, dollars }) =>
        `${pad(route, 30)}${pad(String(use.statements), 12)}${pad(String(use.redisCommands), 14)}${pad(String(use.objectCalls), 10)}${pad(String(use.databaseRoundTrips + use.redisRequests + use.objectCalls), 13)}${pad(String(use.roundTrips), 11)}${pad(num(workerdCpuMs, 2), 13)}${pad(num(cpuMs, 2), 8)}${(dollars * 1e6).toFixed(2)}`,
    ),
    `cost: a learner-hour (${Object.entries(learnerHour)
      .map(([route, count]) => `${count} × ${route}`)
      .join(
        ", ",
      )}): ${hourRequests} requests, $${(hourDollars * 1000).toFixed(3)} per thousand learner-hours; Neon's compute on top, by the hour: $${neonFloorPerMonth.toFixed(2)} a month at its 0.25 CU floor, whatever the traffic`,
    "",
    `matchmaking: second attempt → both matched pushes: p50 ${num(percentile(latencies, 50))} ms, p99 ${num(percentile(latencies, 99))} ms, slowest ${num(Math.max(...latencies))} ms, first pair ${num(latencies[0])} ms (${latencies.length} pairs)`,
    `matchmaking: ${burst.pairs} pairs from ${burst.pairs * 2} learners arriving at once at one level: the first attempt to the last session took ${burst.seconds.toFixed(2)} s = ${burstRate(burst).toFixed(0)} pairs/s`,
    `             the same with four interests each: ${burstWithInterests.seconds.toFixed(2)} s = ${burstRate(burstWithInterests).toFixed(0)} pairs/s (${percentChange(burstRate(burstWithInterests), burstRate(burst))})`,
    `matchmaking: one level's object alone (attempts handed to it at once, no HTTP front), median of ${objectRounds}: ${directOff.toFixed(0)} pairs/s; with four interests each ${directOn.toFixed(0)} pairs/s (${percentChange(directOn, directOff)})`,
    `             taken apart: the one statement creating ${burstUsers / 2} sessions takes ${statementMs.toFixed(0)} ms bare, ${burstUsers} RPC calls at once to a trivial method ${callsMs.toFixed(0)} ms; of the ${((burstUsers / 2 / directOff) * 1000).toFixed(0)} ms the burst takes, the object's own work is the rest, ${Math.max(0, (burstUsers / 2 / directOff) * 1000 - statementMs - callsMs).toFixed(0)} ms`,
    `             through the API, the attempts took ${burst.arrivalSeconds.toFixed(2)} s to arrive through POST /match/attempt; once the later attempt of a pair was written, the object paired it in p50 ${num(burst.pairingMs.p50)} ms, p99 ${num(burst.pairingMs.p99)} ms`,
    `matchmaking: a CPU profile of the object-alone burst (${objectRounds} rounds), the ceiling worker's isolate, which the bench's calls, the object and its database client share: ${objectSplit.busy} of ${objectSplit.samples} samples busy; of the busy ones`,
    ...Object.entries(objectSplit.groups).map(
      ([group, share]) => `             ${pad(group, 58)}${(share * 100).toFixed(1)} %`,
    ),
    `matchmaking: a CPU profile of one more burst through the API (unminified, LOG_LEVEL=warn; ${profiledBurst.pairs} pairs in ${profiledBurst.seconds.toFixed(2)} s while sampled), the API's isolate with its Durable Objects: the named functions on the most busy samples' stacks`,
    ...(profiledBurst.profile ? topFunctions(profiledBurst.profile, 20) : []).map(
      ({ name, share }) => `             ${pad(name, 58)}${(share * 100).toFixed(1)} %`,
    ),
  ];
  console.log(lines.join("\n"));
  await mkdir(join(root, "bench/results"), { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const file = join(root, "bench/results", `bench-${stamp}.json`);
  // Open in Chrome DevTools (Performance) or any V8 profile viewer.
  await writeFile(join(root, "bench/results", `matchmaker-${stamp}.cpuprofile`), JSON.stringify(objectProfile.profile));
  if (profiledBurst.profile) {
    await writeFile(
      join(root, "bench/results", `api-burst-${stamp}.cpuprofile`),
      JSON.stringify(profiledBurst.profile),
    );
  }
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
        settings: { connections, duration, logLevel, databaseRtt, redisRtt, distanceSamples },
        routes,
        searchPlans,
        ceilings: Object.values(ceilings),
        distance: distanceRows,
        cost: { prices, cpuSamples, bareCpuMs, routes: costRows, learnerHour, learnerHourDollars: hourDollars },
        matchmaking: {
          pushLatencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), samples: latencies.length },
          burst: { ...burst, pairsPerSecond: burstRate(burst) },
          burstWithInterests: { ...burstWithInterests, pairsPerSecond: burstRate(burstWithInterests) },
          objectAlone: { rounds: direct, medianPairsPerSecond: { off: directOff, on: directOn } },
          objectAloneParts: { rounds: parts, medianStatementMs: statementMs, medianCallsMs: callsMs },
          objectAloneProfile: { rounds: objectRounds, ...objectSplit },
          profiledBurst: {
            ...profiledBurst,
            profile: undefined,
            top: profiledBurst.profile ? topFunctions(profiledBurst.profile, 20) : [],
          },
        },
      },
      null,
      2,
    ),
  );
  log(`written to ${file}`);
} catch (error) {
  // A failed measurement (an API error, a server that did not come up) is the bench's own answer, not a crash.
  console.error(error);
  process.exitCode = 1;
} finally {
  await cleanup();
}
process.exit();
