/**
 * `npm run test:faults`: proves that the API holds up when Redis or Postgres fails while requests
 * are in flight, under the real runtime. Starts the local stack (PGlite unless DATABASE_URL, its
 * own redis-server unless REDIS_URL) and the API under `wrangler dev`, signs up learners (two
 * pairs already in sessions, four looking for partners, and a visitor asking for sign-in codes),
 * then for each fault keeps a steady mixed load going, breaks the dependency a moment in, restores
 * it a few seconds later and keeps going until the API answers normally again.
 *
 * Every answer is recorded: status, problem `code` and `dependency`, latency. It passes when no
 * request went unanswered for 15 s (a hang), every 5xx was a 503 problem naming the dependency
 * (or MAIL_NOT_SENT / SERVICE_UNAVAILABLE), no acknowledged message was lost or stored twice once
 * failed sends were retried with their `client_id`, no attempt was stranded (queued by
 * `GET /match/status` yet not matched with a fresh compatible partner), nobody was ever in two
 * active sessions, no valid token was refused, and every fault recovered without restarting
 * `wrangler dev`. Prints one table; exits 1 with the reasons otherwise.
 *
 * `-- --fault <part of a name> --rounds <n>` repeats some faults; `--intense` adds learners who
 * attempt back to back, so a request racing the fault's first moment is likely, not rare;
 * `--repeat <n>` runs the whole suite n times over, each on a fresh stack and API, to show that
 * it passes every time and not only once (a flaky local stack shows up there).
 *
 * What the stack itself tells of its dependencies (a connection lost, a server process gone) is
 * counted per fault; a server process that exits while nobody stopped it fails the run, as it
 * is no longer the fault being tested.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { neonConfig, Pool } from "@neondatabase/serverless";
import { reportUnhandledErrors, survivePool } from "./stack/incidents.ts";
import { type Stack, startStack } from "./stack/index.ts";
import { RedisServerMissingError } from "./stack/redis.ts";
import { TurnServerMissingError } from "./stack/turn.ts";
import { startLocalWorker } from "./stack/worker.ts";

const { values } = parseArgs({
  options: {
    // To chase an intermittent failure: `npm run test:faults -- --fault stalled --rounds 10 --intense`.
    fault: { type: "string" },
    rounds: { type: "string", default: "1" },
    // Four more learners, alone at their levels, and everyone looking for partners back to back:
    // makes a race between a request and the fault's first moment likely rather than rare.
    intense: { type: "boolean", default: false },
    repeat: { type: "string", default: "1" },
  },
});
/** An answer later than this is no answer: a hang. */
const clientTimeoutMs = 15_000;
const faultAfterMs = 1000;
const outageMs = 4000;
/** How long the API may take to answer normally again once the dependency is back. */
const recoveryBoundMs = 20_000;
const loadAfterRecoveryMs = 2000;
const chatLevel = "B2";
const matchLevel = "A2";
/** Alone at their level under --intense: nothing pairs them, so they attempt and cancel all along. */
const lonelyLevels = ["A1", "B1", "C1", "C2"];
const matcherPauseMs: [number, number] = values.intense ? [5, 20] : [50, 150];
const matchWeight = values.intense ? 400 : 45;

const cleanups: (() => Promise<void>)[] = [];
let cleaning: Promise<void> | undefined;
/**
 * Stops what the current run started, newest first; each step bounded, so one that hangs cannot
 * keep the rest (or the exit) from running. Callers at once (a signal during a run's own cleanup)
 * share one pass.
 */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (let step = cleanups.pop(); step; step = cleanups.pop()) {
      await Promise.race([step().catch(() => {}), sleep(15_000, undefined, { ref: false })]);
    }
    cleaning = undefined;
  })();
  return cleaning;
}
/** What the stack told of its dependencies, `component: what`, in order. */
const incidents: string[] = [];
reportUnhandledErrors("fault suite", cleanup);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping everything this run started`);
    void cleanup().then(() => process.exit(130));
  });
}

/** Wall-clock time of day of a performance.now() instant, as the database's timestamps read. */
function clock(at: number): string {
  return new Date(performance.timeOrigin + at).toISOString().slice(11, 23);
}

function log(line: string): void {
  process.stderr.write(`[faults] ${line}\n`);
}

// ---------------------------------------------------------------------------------------------
// HTTP, with every answer recorded

type Body = Record<string, unknown>;

interface Answer {
  route: string;
  /** performance.now() when the request was sent and when its answer (or none) came. */
  started: number;
  ended: number;
  /** undefined: no answer within the client timeout, or the connection dropped. */
  status: number | undefined;
  problem: boolean;
  body: Body;
  actor: string;
}

let recording: Answer[] | undefined;
let api = "";

function asBody(value: unknown): Body {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Body) : {};
}

const text = (body: Body, key: string): string | undefined =>
  typeof body[key] === "string" ? (body[key] as string) : undefined;

async function call(
  actor: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<Answer> {
  const route = `${method} ${path.replace(/\/[0-9a-f-]{36}/g, "/{id}").replace(/\?.*$/, "")}`;
  const started = performance.now();
  let answer: Answer;
  try {
    const response = await fetch(`${api}${path}`, {
      method,
      headers: {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(clientTimeoutMs),
    });
    const raw = await response.text();
    const type = response.headers.get("content-type") ?? "";
    let body: Body = {};
    if (type.includes("json") && raw) {
      try {
        body = asBody(JSON.parse(raw));
      } catch {
        body = { unparsed: raw.slice(0, 200) };
      }
    } else if (raw) {
      body = { unparsed: raw.slice(0, 200) };
    }
    answer = {
      route,
      started,
      ended: performance.now(),
      status: response.status,
      problem: type.startsWith("application/problem+json"),
      body,
      actor,
    };
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    answer = { route, started, ended: performance.now(), status: undefined, problem: false, body: { reason }, actor };
  }
  recording?.push(answer);
  return answer;
}

/** For setup and verification, where anything but the expected answer is an error of the run. */
async function must(answer: Promise<Answer>, statuses: number[]): Promise<Body> {
  const got = await answer;
  if (got.status === undefined || !statuses.includes(got.status)) {
    throw new Error(`${got.route} answered ${got.status ?? "nothing"}: ${JSON.stringify(got.body).slice(0, 300)}`);
  }
  return got.body;
}

// ---------------------------------------------------------------------------------------------
// Learners

interface Send {
  clientId: string;
  text: string;
  /** The stored message's id, once a send of it was acknowledged (201, or 200 for a retry). */
  ackId?: string;
  /** Acknowledged only by a retry that answered 200: the failed send had been stored after all. */
  foundOnRetry?: boolean;
}

interface Learner {
  name: string;
  id: string;
  token: string;
  level: string;
  sessionId?: string;
  /** Matchers: a 202 said queued and we have not cancelled yet. */
  waiting: boolean;
  /** Matchers: an attempt or cancel got no trustworthy answer; `GET /match/status` will tell. */
  unsure: boolean;
  /**
   * Matchers: after a failure, the status said queued. Like a real client, the learner believes
   * it and waits for a partner without asking again, so an attempt no object holds stays visible.
   */
  parked: boolean;
  needsPing: boolean;
  sends: Send[];
}

const runId = randomBytes(4).toString("hex");
let signUps = 0;

async function signUp(name: string, level: string): Promise<Learner> {
  signUps += 1;
  const email = `faults-${runId}-${signUps}-${name}@example.com`;
  const { login_id } = (await must(call(name, "POST", "/auth/email/request", { body: { email } }), [202])) as {
    login_id: string;
  };
  const mailbox = await must(call(name, "GET", `/dev/mailbox?email=${encodeURIComponent(email)}`), [200]);
  const items = Array.isArray(mailbox.items) ? mailbox.items.map(asBody) : [];
  const code = /\b(\d{6})\b/.exec(text(items[0] ?? {}, "text") ?? "")?.[1];
  if (!code) throw new Error(`no sign-in code was mailed to ${email}`);
  const signedIn = await must(call(name, "POST", "/auth/email/verify", { body: { email, login_id, code } }), [200]);
  const token = text(signedIn, "access_token");
  const id = text(asBody(signedIn.user), "id");
  if (!token || !id) throw new Error(`verify answered no token or user: ${JSON.stringify(signedIn).slice(0, 200)}`);
  await must(call(name, "PATCH", "/me", { token, body: { display_name: name, level } }), [200]);
  await must(call(name, "POST", "/presence/ping", { token }), [200]);
  return { name, id, token, level, waiting: false, unsure: false, parked: false, needsPing: false, sends: [] };
}

const attempt = (learner: Learner) =>
  call(learner.name, "POST", "/match/attempt", { token: learner.token, body: { desired_level: learner.level } });

/** Pairs two fresh learners through the API: the first waits, the second finds them. */
async function pairUp(a: Learner, b: Learner): Promise<string> {
  await must(attempt(a), [202]);
  const matched = await must(attempt(b), [200]);
  const sessionId = text(matched, "session_id");
  if (text(asBody(matched.partner), "id") !== a.id || !sessionId) {
    throw new Error(`${b.name} was not matched with ${a.name}: ${JSON.stringify(matched).slice(0, 200)}`);
  }
  a.sessionId = sessionId;
  b.sessionId = sessionId;
  return sessionId;
}

function pick<T>(choices: [number, T][]): T {
  let roll = Math.random() * choices.reduce((total, [weight]) => total + weight, 0);
  for (const [weight, choice] of choices) {
    roll -= weight;
    if (roll < 0) return choice;
  }
  return (choices.at(-1) as [number, T])[1];
}

type Step = () => Promise<unknown>;

function readSteps(learner: Learner): [number, Step][] {
  const { name, token } = learner;
  return [
    [15, () => call(name, "POST", "/presence/ping", { token })],
    [10, () => call(name, "GET", "/me", { token })],
    [10, () => call(name, "GET", "/match/status", { token })],
    [10, () => call(name, "GET", "/health/ready")],
  ];
}

let sent = 0;
async function sendMessage(learner: Learner): Promise<void> {
  sent += 1;
  const message: Send = { clientId: randomUUID(), text: `${learner.name} says #${sent}` };
  learner.sends.push(message);
  await deliver(learner, message);
}

async function deliver(learner: Learner, message: Send): Promise<Answer> {
  const answer = await call(learner.name, "POST", `/sessions/${learner.sessionId}/messages`, {
    token: learner.token,
    body: { type: "text", text: message.text, client_id: message.clientId },
  });
  const id = text(answer.body, "id");
  if ((answer.status === 201 || answer.status === 200) && id) message.ackId = id;
  return answer;
}

function chatterStep(learner: Learner): Step {
  return pick<Step>([
    [50, () => sendMessage(learner)],
    [5, () => call(learner.name, "GET", `/sessions/${learner.sessionId}/messages?limit=20`, { token: learner.token })],
    ...readSteps(learner),
  ]);
}

function matcherStep(learner: Learner): Step {
  return pick<Step>([[matchWeight, () => matchStep(learner)], ...readSteps(learner)]);
}

/** One move of a learner looking for partners: attempt, cancel, leave the session found, or look. */
async function matchStep(learner: Learner): Promise<void> {
  const { name, token } = learner;
  if (learner.needsPing) {
    const pinged = await call(name, "POST", "/presence/ping", { token });
    learner.needsPing = pinged.status !== 200;
    return;
  }
  if (learner.sessionId) {
    const ended = await call(name, "POST", `/sessions/${learner.sessionId}/end`, { token, body: { rating: 5 } });
    if (ended.status === 200 || ended.status === 404) learner.sessionId = undefined;
    return;
  }
  if (learner.unsure || learner.parked) {
    const status = await call(name, "GET", "/match/status", { token });
    if (status.status !== 200) return;
    const state = text(status.body, "status");
    if (state === "queued") learner.parked ||= learner.unsure;
    else learner.parked = false;
    if (state === "matched") learner.sessionId = text(status.body, "session_id");
    learner.unsure = false;
    learner.waiting = false;
    return;
  }
  if (learner.waiting) {
    const cancelled = await call(name, "DELETE", "/match/attempt", { token });
    learner.waiting = false;
    if (cancelled.status === 409) learner.sessionId = text(cancelled.body, "session_id");
    learner.unsure = cancelled.status !== 204 && !learner.sessionId;
    return;
  }
  const tried = await attempt(learner);
  const code = text(tried.body, "code");
  if (tried.status === 200 || code === "ALREADY_IN_SESSION") learner.sessionId = text(tried.body, "session_id");
  else if (tried.status === 202) learner.waiting = true;
  else if (code === "PRESENCE_REQUIRED") learner.needsPing = true;
  else learner.unsure = true;
}

function visitorStep(): Step {
  return pick<Step>([
    [
      70,
      () =>
        call("visitor", "POST", "/auth/email/request", {
          body: { email: `faults-${runId}-visitor-${randomUUID().slice(0, 8)}@example.com` },
        }),
    ],
    [30, () => call("visitor", "GET", "/health/ready")],
  ]);
}

// ---------------------------------------------------------------------------------------------
// Faults

interface Fault {
  name: string;
  dependency: "redis" | "postgres";
  /** Why this run cannot inject it, if it cannot. */
  unavailable?: string;
  inject(): Promise<void>;
  restore(): Promise<void>;
}

function faultsOf(stack: Stack): Fault[] {
  const { redis, database } = stack.faults;
  const notOurs = redis ? undefined : "REDIS_URL is not ours to kill";
  const viaBridge = database.stopsAt === "bridge" ? " (bridge)" : "";
  return [
    {
      name: "redis killed, restarted",
      dependency: "redis",
      unavailable: notOurs,
      inject: async () => redis?.kill(),
      restore: async () => redis?.start(),
    },
    {
      name: "redis paused, resumed",
      dependency: "redis",
      unavailable: notOurs,
      inject: async () => redis?.pause(),
      restore: async () => redis?.resume(),
    },
    {
      name: `postgres stopped, started${viaBridge}`,
      dependency: "postgres",
      inject: () => database.stop(),
      restore: () => database.start(),
    },
    {
      name: "postgres stalled, resumed",
      dependency: "postgres",
      inject: async () => database.stall(),
      restore: async () => database.resume(),
    },
  ];
}

interface Row {
  fault: string;
  skipped?: string;
  answers: Answer[];
  lost: number;
  stranded: number;
  recoveredInMs?: number;
  failures: string[];
  notes: string[];
}

function failingChecks(answer: Answer): string[] {
  const checks = asBody(answer.body.checks);
  return Object.keys(checks).filter((name) => checks[name] === "failing");
}

/** What a 5xx named: the dependency, or for readiness the failing checks. */
function named(answer: Answer): string | undefined {
  const dependency = text(answer.body, "dependency");
  if (dependency) return dependency;
  const failing = failingChecks(answer);
  return failing.length > 0 ? failing.join("+") : undefined;
}

function fiveXxKey(answer: Answer): string {
  const code = text(answer.body, "code") ?? (answer.problem ? "no code" : "not a problem");
  const name = named(answer);
  return `${answer.status} ${code}${name ? `(${name})` : ""}`;
}

function acceptable5xx(answer: Answer): boolean {
  if (answer.status !== 503 || !answer.problem) return false;
  const code = text(answer.body, "code");
  if (code === "MAIL_NOT_SENT" || code === "SERVICE_UNAVAILABLE") return true;
  return code === "DEPENDENCY_UNAVAILABLE" && named(answer) !== undefined;
}

/** Until readiness and a request of each kind that touches both dependencies answer 200. */
async function awaitRecovery(learner: Learner, restored: number): Promise<number | undefined> {
  while (performance.now() - restored < recoveryBoundMs) {
    const answers = await Promise.all([
      call("canary", "GET", "/health/ready"),
      call("canary", "POST", "/presence/ping", { token: learner.token }),
      call("canary", "GET", "/me", { token: learner.token }),
      call("canary", "GET", "/match/status", { token: learner.token }),
    ]);
    if (answers.every((answer) => answer.status === 200)) return performance.now() - restored;
    await sleep(200);
  }
  return undefined;
}

async function runFault(
  fault: Fault,
  cast: { chatters: Learner[]; matchers: Learner[] },
  database: DatabaseChecks,
): Promise<Row> {
  const row: Row = { fault: fault.name, answers: [], lost: 0, stranded: 0, failures: [], notes: [] };
  if (fault.unavailable) {
    row.skipped = fault.unavailable;
    return row;
  }
  log(`${fault.name}: load on, fault in ${faultAfterMs / 1000} s`);
  recording = row.answers;
  const sendsBefore = new Map(cast.chatters.map((learner) => [learner, learner.sends.length]));
  const incidentsBefore = incidents.length;
  let stopped = false;
  const loop = async (actor: string, next: () => Step, pauseMs: [number, number]) => {
    while (!stopped) {
      try {
        await next()();
      } catch (error) {
        row.failures.push(`${actor}: the client itself failed: ${error instanceof Error ? error.message : error}`);
      }
      await sleep(pauseMs[0] + Math.random() * (pauseMs[1] - pauseMs[0]));
    }
  };
  const load = Promise.all([
    ...cast.chatters.map((learner) => loop(learner.name, () => chatterStep(learner), [50, 150])),
    ...cast.matchers.map((learner) => loop(learner.name, () => matcherStep(learner), matcherPauseMs)),
    loop("visitor", visitorStep, [150, 350]),
  ]);

  await sleep(faultAfterMs);
  const injected = performance.now();
  await fault.inject();
  await sleep(outageMs);
  await fault.restore();
  const restored = performance.now();
  log(`${fault.name}: restored after ${((restored - injected) / 1000).toFixed(1)} s; waiting for the API`);
  const [canary] = cast.chatters;
  row.recoveredInMs = canary ? await awaitRecovery(canary, restored) : undefined;
  const recovered = row.recoveredInMs === undefined ? undefined : restored + row.recoveredInMs;
  if (recovered === undefined) {
    row.failures.push(`the API did not answer normally within ${recoveryBoundMs / 1000} s of the restore`);
  }
  await sleep(loadAfterRecoveryMs);
  stopped = true;
  await load;

  try {
    // Without an API that answers again there is nothing to verify against.
    if (recovered !== undefined) await verify(row, cast, sendsBefore, database, { injected, restored });
  } catch (error) {
    row.failures.push(`could not verify after recovery: ${error instanceof Error ? error.message : error}`);
  } finally {
    recording = undefined;
  }
  const holdup = await database.holdup();
  if (holdup) row.failures.push(`the database is held up: ${holdup}`);
  const told = incidents.slice(incidentsBefore);
  if (told.length > 0) {
    // Counted by what happened, without the detail (the error's own words) in its last parentheses.
    const kinds = count(told, (line) => line.replace(/ \([^()]*\)(; reconnecting)?$/, ""));
    row.notes.push(`the stack told: ${[...kinds].map(([what, n]) => `${what} ×${n}`).join(", ")}`);
  }
  for (const line of told.filter((line) => line.includes("exited unexpectedly"))) row.failures.push(line);

  judge(row, fault, { injected, recovered });
  return row;
}

/**
 * Once the API answers again: sends what failed again (same client_id, as a real client would),
 * then checks that no acknowledged message was lost or doubled, no attempt stranded and nobody
 * ever in two sessions at once.
 */
async function verify(
  row: Row,
  cast: { chatters: Learner[]; matchers: Learner[] },
  sendsBefore: Map<Learner, number>,
  database: DatabaseChecks,
  { injected, restored }: { injected: number; restored: number },
): Promise<void> {
  // As a real client would once the service is back: send again what failed, with its client_id.
  const sends = cast.chatters.flatMap((learner) =>
    learner.sends.slice(sendsBefore.get(learner) ?? 0).map((message) => ({ learner, message })),
  );
  const failed = sends.filter(({ message }) => !message.ackId);
  for (let pass = 0; pass < 3; pass += 1) {
    const pending = failed.filter(({ message }) => !message.ackId);
    if (pending.length === 0) break;
    if (pass > 0) await sleep(500);
    for (const { learner, message } of pending) {
      if ((await deliver(learner, message)).status === 200) message.foundOnRetry = true;
    }
  }
  recording = undefined;
  const unacknowledged = failed.filter(({ message }) => !message.ackId).length;
  if (unacknowledged > 0) row.failures.push(`${unacknowledged} failed sends were still refused after recovery`);
  const foundOnRetry = failed.filter(({ message }) => message.foundOnRetry).length;
  row.notes.push(
    `messages: ${sends.length} sent, ${failed.length} failed and were sent again (${foundOnRetry} already stored)`,
  );

  row.lost = await reconcileMessages(cast.chatters, new Set(sends.map(({ message }) => message.clientId)));
  const strands = await findStranded(cast.matchers, database.describeAttempts);
  row.stranded = strands.stranded.length;
  const attempts = row.answers.filter((answer) => answer.route === "POST /match/attempt");
  row.notes.push(
    `attempts: ${attempts.length}, ${attempts.filter((answer) => answer.status === 200).length} matched at once; ` +
      `${strands.checked} queued after recovery, ${strands.checked - strands.stranded.length} matched with a fresh partner`,
  );
  if (strands.stranded.length > 0) {
    row.notes.push(`fault from ${clock(injected)} to ${clock(restored)}`);
    for (const { learner, attempts } of strands.stranded) {
      // What the learner asked around the fault, and what it was told.
      const history = row.answers
        .filter(
          (answer) =>
            answer.actor === learner.name &&
            /^(POST|DELETE) \/match\/attempt$/.test(answer.route) &&
            answer.ended >= injected,
        )
        .slice(0, 3)
        .map(
          (answer) =>
            `${answer.route} ${answer.status ?? "none"}${answer.status && answer.status >= 500 ? ` ${fiveXxKey(answer)}` : ""} ${clock(answer.started)}–${clock(answer.ended)}`,
        );
      row.notes.push(
        `stranded: ${learner.name}: attempts in the database: ${attempts}; last answers: ${history.join(", ")}`,
      );
    }
  }
  row.failures.push(...(await database.newDoubleBookings()));
}

/** Acknowledged messages of `clientIds` that are not stored exactly once, with the acknowledged id. */
async function reconcileMessages(chatters: Learner[], clientIds: Set<string>): Promise<number> {
  const stored = new Map<string, string[]>();
  for (const sessionId of new Set(chatters.map((learner) => learner.sessionId))) {
    const reader = chatters.find((learner) => learner.sessionId === sessionId);
    if (!reader || !sessionId) continue;
    let cursor: string | undefined;
    do {
      const page = await must(
        call(
          "verify",
          "GET",
          `/sessions/${sessionId}/messages?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
          { token: reader.token },
        ),
        [200],
      );
      for (const item of Array.isArray(page.items) ? page.items.map(asBody) : []) {
        const clientId = text(item, "client_id");
        const id = text(item, "id");
        if (clientId && id) stored.set(clientId, [...(stored.get(clientId) ?? []), id]);
      }
      cursor = text(page, "next_cursor");
    } while (cursor);
  }
  let lost = 0;
  for (const learner of chatters) {
    for (const message of learner.sends) {
      if (!clientIds.has(message.clientId) || !message.ackId) continue;
      const ids = stored.get(message.clientId) ?? [];
      if (ids.length !== 1 || ids[0] !== message.ackId) lost += 1;
    }
  }
  return lost;
}

/**
 * Every matcher whose status says queued must be held by the level's matchmaker: a fresh learner
 * at that level (compatible with anyone waiting there, and paired FIFO with the first) attempts,
 * and must be matched with one of them. Those left when a fresh learner is not matched are
 * stranded. Sessions found are ended, so the matchers start the next fault free.
 */
async function findStranded(
  matchers: Learner[],
  describeAttempts: (userId: string) => Promise<string>,
): Promise<{ checked: number; stranded: { learner: Learner; attempts: string }[] }> {
  const queued: Learner[] = [];
  for (const learner of matchers) {
    const status = await must(call("verify", "GET", "/match/status", { token: learner.token }), [200]);
    learner.waiting = false;
    learner.unsure = false;
    learner.parked = false;
    learner.needsPing = false;
    if (status.status === "queued") queued.push(learner);
    if (status.status === "matched") learner.sessionId = text(status, "session_id");
  }
  const stranded: { learner: Learner; attempts: string }[] = [];
  const waiting = [...queued];
  for (let next = waiting[0]; next; next = waiting[0]) {
    const { level } = next;
    const fresh = await signUp("partner", level);
    const answer = await must(attempt(fresh), [200, 202]);
    if (answer.status === "matched") {
      // Whoever it was (one waiting at a neighbouring level may have widened to this one), they
      // must be one of ours: nobody else is left queued.
      const partnerId = text(asBody(answer.partner), "id");
      const index = waiting.findIndex((learner) => learner.id === partnerId);
      const [learner] = index >= 0 ? waiting.splice(index, 1) : [];
      if (!learner) {
        throw new Error(`a fresh partner was matched with someone unexpected: ${JSON.stringify(answer).slice(0, 300)}`);
      }
      learner.sessionId = text(answer, "session_id");
      continue;
    }
    await must(call("verify", "DELETE", "/match/attempt", { token: fresh.token }), [204]);
    for (const learner of waiting.filter((learner) => learner.level === level)) {
      waiting.splice(waiting.indexOf(learner), 1);
      stranded.push({ learner, attempts: await describeAttempts(learner.id) });
      // Asking again re-attaches the attempt (or pairs it); cancel it so the next fault starts clean.
      const again = await must(attempt(learner), [200, 202]);
      if (again.status === "matched") learner.sessionId = text(again, "session_id");
      else await must(call("verify", "DELETE", "/match/attempt", { token: learner.token }), [204]);
    }
  }
  for (const learner of matchers) {
    if (!learner.sessionId) continue;
    await must(
      call("verify", "POST", `/sessions/${learner.sessionId}/end`, { token: learner.token, body: { rating: 5 } }),
      [200],
    );
    learner.sessionId = undefined;
  }
  return { checked: queued.length, stranded };
}

function judge(row: Row, fault: Fault, at: { injected: number; recovered?: number }): void {
  const hangs = row.answers.filter((answer) => answer.status === undefined);
  if (hangs.length > 0) {
    const first = hangs[0];
    row.failures.push(
      `${hangs.length} requests got no answer within ${clientTimeoutMs / 1000} s (first: ${first?.route}, ${text(first?.body ?? {}, "reason")})`,
    );
  }
  const bad5xx = row.answers.filter((answer) => (answer.status ?? 0) >= 500 && !acceptable5xx(answer));
  const restarts = bad5xx.filter((answer) => /restarted mid-request/.test(text(answer.body, "unparsed") ?? ""));
  if (restarts.length > 0) {
    // workerd's own answer, not the API's: wrangler dev reloads the Worker when a file it watches changes.
    row.failures.push(
      `${restarts.length} requests were cut by wrangler dev restarting the Worker (did a source file change during the run?)`,
    );
  }
  if (bad5xx.length > restarts.length) {
    const first = bad5xx.find((answer) => !restarts.includes(answer));
    row.failures.push(
      `${bad5xx.length - restarts.length} 5xx answers were not a 503 problem naming the dependency (first: ${first?.route} ${first?.status} ${JSON.stringify(first?.body).slice(0, 200)})`,
    );
  }
  const wrongName = row.answers.filter(
    (answer) =>
      answer.route === "GET /health/ready" &&
      answer.status === 503 &&
      !failingChecks(answer).includes(fault.dependency),
  );
  if (wrongName.length > 0) {
    row.failures.push(`${wrongName.length} readiness answers did not name ${fault.dependency} as failing`);
  }
  const refused = row.answers.filter((answer) => answer.status === 401);
  if (refused.length > 0) {
    row.failures.push(`${refused.length} valid tokens were refused (401): authentication did not fail open`);
  }
  const healthy = row.answers.filter(
    (answer) =>
      (answer.status ?? 0) >= 500 &&
      (answer.ended < at.injected || (at.recovered !== undefined && answer.started >= at.recovered)),
  );
  if (healthy.length > 0) {
    const first = healthy[0];
    row.failures.push(
      `${healthy.length} 5xx answers while the dependency was up (first: ${first?.route} ${fiveXxKey(first as Answer)})`,
    );
  }
  if (row.lost > 0) row.failures.push(`${row.lost} acknowledged messages were lost or stored twice`);
  if (row.stranded > 0) row.failures.push(`${row.stranded} attempts were stranded`);
  const slowest = row.answers.reduce<Answer | undefined>(
    (worst, answer) =>
      answer.status !== undefined && (!worst || answer.ended - answer.started > worst.ended - worst.started)
        ? answer
        : worst,
    undefined,
  );
  if (slowest) {
    row.notes.push(
      `slowest answer ${((slowest.ended - slowest.started) / 1000).toFixed(1)} s (${slowest.route} ${slowest.status})`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Straight from the database, through the same bridge as the Worker

interface DatabaseChecks {
  /** Pairs of sessions of one user that overlapped in time, each reported once. */
  newDoubleBookings(): Promise<string[]>;
  /** How many users were found in two sessions at once so far. */
  usersInTwoSessions(): number;
  /** A user's latest attempts, to explain a stranded attempt. */
  describeAttempts(userId: string): Promise<string>;
  /**
   * Sessions a client left idle inside a transaction, after the load stopped: a leaked connection.
   * On Postgres each holds a backend and a snapshot; on PGlite, which serves one session, it
   * blocks every other client.
   */
  holdup(): Promise<string | undefined>;
}

function databaseChecks(stack: Stack): DatabaseChecks {
  neonConfig.wsProxy = stack.bindings.NEON_WS_PROXY;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
  const query = async <R extends Record<string, unknown>>(text: string, params: unknown[] = []): Promise<R[]> => {
    const pool = new Pool({
      connectionString: stack.bindings.DATABASE_URL,
      max: 1,
      connectionTimeoutMillis: 5000,
      query_timeout: 5000,
    });
    survivePool(pool, "postgres (the suite's own checks)", (component, what) => log(`${component}: ${what}`));
    try {
      return (await pool.query<R>(text, params)).rows;
    } finally {
      await pool.end();
    }
  };
  const reported = new Set<string>();
  const users = new Set<string>();
  return {
    usersInTwoSessions: () => users.size,
    newDoubleBookings: async () => {
      // Not only now: any two sessions of one user whose lifetimes overlap, ended ones included.
      const rows = await query<{ user_id: string; first: string; second: string }>(
        `select a.user_id, a.session_id as first, b.session_id as second
         from session_participants a
         join sessions sa on sa.id = a.session_id
         join session_participants b on b.user_id = a.user_id and b.session_id > a.session_id
         join sessions sb on sb.id = b.session_id
         where sa.started_at < coalesce(sb.ended_at, 'infinity')
           and sb.started_at < coalesce(sa.ended_at, 'infinity')`,
      );
      const fresh = rows.filter((row) => !reported.has(`${row.first} ${row.second}`));
      for (const row of rows) {
        reported.add(`${row.first} ${row.second}`);
        users.add(row.user_id);
      }
      return fresh.map((row) => `user ${row.user_id} was in two sessions at once (${row.first}, ${row.second})`);
    },
    holdup: async () => {
      if (stack.database === "pglite") return stack.faults.database.heldUp();
      const rows = await query<{ pid: number; seconds: number; query: string }>(
        `select pid, extract(epoch from now() - state_change)::float8 as seconds, query from pg_stat_activity
         where state like 'idle in transaction%' and pid <> pg_backend_pid()
           and now() - state_change > interval '2 seconds'`,
      );
      if (rows.length === 0) return undefined;
      const oldest = rows.reduce((a, b) => (b.seconds > a.seconds ? b : a));
      return (
        `${rows.length} sessions were left idle inside a transaction (the oldest for ${oldest.seconds.toFixed(1)} s, ` +
        `its last statement: ${oldest.query.replace(/\s+/g, " ").slice(0, 80)})`
      );
    },
    describeAttempts: async (userId) => {
      const attempts = await query<{ id: string; status: string; created_at: Date; resolved_at: Date | null }>(
        `select id, status, created_at, resolved_at from match_attempts
         where user_id = $1 order by created_at desc limit 3`,
        [userId],
      );
      return attempts
        .map(
          (row) =>
            `${row.id.slice(0, 8)} ${row.status} ${row.created_at.toISOString().slice(11, 23)}${row.resolved_at ? `→${row.resolved_at.toISOString().slice(11, 23)}` : ""}`,
        )
        .join("; ");
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Output

function count<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

function table(rows: Row[]): string {
  const header = ["fault", "requests", "2xx", "4xx", "5xx by code", "hangs", "lost", "stranded", "recovered in (s)"];
  const body = rows.map((row) => {
    if (row.skipped) return [row.fault, "—", "—", "—", `skipped: ${row.skipped}`, "—", "—", "—", "—"];
    const by = (low: number) =>
      row.answers.filter((answer) => (answer.status ?? 0) >= low && (answer.status ?? 0) < low + 100);
    const fiveXx = [...count(by(500), fiveXxKey)].sort((a, b) => b[1] - a[1]);
    return [
      row.fault,
      String(row.answers.length),
      String(by(200).length),
      String(by(400).length),
      fiveXx.map(([key, n]) => `${key}: ${n}`).join(", ") || "none",
      String(row.answers.filter((answer) => answer.status === undefined).length),
      String(row.lost),
      String(row.stranded),
      row.recoveredInMs === undefined ? "no" : (row.recoveredInMs / 1000).toFixed(1),
    ];
  });
  const widths = header.map((title, column) =>
    Math.max(title.length, ...body.map((cells) => cells[column]?.length ?? 0)),
  );
  const numeric = new Set([1, 2, 3, 5, 6, 7, 8]);
  const line = (cells: string[]) =>
    cells
      .map((cell, column) =>
        numeric.has(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
      )
      .join(" | ")
      .trimEnd();
  return [line(header), widths.map((width) => "-".repeat(width)).join("-|-"), ...body.map(line)].join("\n");
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const runStarted = performance.now();
  log("starting the local stack");
  const stack = await startStack({
    databaseUrl: process.env.DATABASE_URL || undefined,
    redisUrl: process.env.REDIS_URL || undefined,
    log: () => {},
    incidents: (component, what) => incidents.push(`${component}: ${what}`),
  });
  cleanups.push(stack.stop);

  const database = databaseChecks(stack);

  log(`starting the API under wrangler dev (${stack.database}, ${stack.redis})`);
  const worker = await startLocalWorker({
    vars: {
      ...stack.bindings,
      ENVIRONMENT: "development",
      LOG_LEVEL: "error",
      APP_COMMIT: "faults",
      // Short deadlines, so an outage of a few seconds is felt by many requests.
      DEADLINE_DATABASE_MS: "1500",
      DEADLINE_REDIS_MS: "500",
      DEADLINE_DURABLE_OBJECT_MS: "3000",
      // The limits stay in the path (each request still asks Redis) but never refuse the load.
      RATE_LIMIT_MESSAGES_PER_MIN: "100000",
      RATE_LIMIT_MATCH_ATTEMPTS_PER_MIN: "100000",
    },
    readyPath: "/health/ready",
    quiet: true,
  });
  cleanups.push(worker.stop);
  api = worker.url;

  log("signing up learners");
  const chatters = await Promise.all([0, 1, 2, 3].map((i) => signUp(`chatter${i}`, chatLevel)));
  const matcherLevels = [matchLevel, matchLevel, matchLevel, matchLevel, ...(values.intense ? lonelyLevels : [])];
  const matchers = await Promise.all(matcherLevels.map((level, i) => signUp(`matcher${i}`, level)));
  for (let i = 0; i < chatters.length; i += 2) {
    await pairUp(chatters[i] as Learner, chatters[i + 1] as Learner);
  }

  const chosen = faultsOf(stack).filter((fault) => fault.name.includes(values.fault ?? ""));
  if (chosen.length === 0) throw new Error(`no fault is named like "${values.fault}"`);
  const rows: Row[] = [];
  rounds: for (let round = 0; round < Number(values.rounds); round += 1) {
    for (const fault of chosen) {
      const row = await runFault(fault, { chatters, matchers }, database);
      rows.push(row);
      const exited = worker.exited();
      if (exited) {
        row.failures.push(exited);
        break rounds;
      }
      if (!row.skipped && row.recoveredInMs === undefined) {
        log(`${fault.name}: the API did not recover; the faults after it would prove nothing`);
        break rounds;
      }
    }
  }

  const seconds = (performance.now() - runStarted) / 1000;
  console.log(table(rows));
  for (const row of rows) {
    const fourXx = [
      ...count(
        row.answers.filter((a) => (a.status ?? 0) >= 400 && (a.status ?? 0) < 500),
        (a) => `${a.status} ${text(a.body, "code") ?? "?"}`,
      ),
    ]
      .map(([key, n]) => `${key}: ${n}`)
      .join(", ");
    const notes = [...row.notes, ...(fourXx ? [`4xx ${fourXx}`] : [])];
    if (notes.length > 0 && !row.skipped) console.log(`  ${row.fault}: ${notes.join("; ")}`);
  }
  console.log(
    `users in two sessions at once: ${database.usersInTwoSessions()}; ${stack.database === "pglite" ? "PGlite" : "Postgres from DATABASE_URL"}, ${stack.redis === "redis-server" ? "redis-server" : "Redis from REDIS_URL"}; ${seconds.toFixed(0)} s`,
  );
  const failures = rows.flatMap((row) => row.failures.map((failure) => `${row.fault}: ${failure}`));
  if (failures.length > 0) {
    console.log("\nFAILED:");
    for (const failure of failures) console.log(`  - ${failure}`);
    return 1;
  }
  const skipped = rows.filter((row) => row.skipped).length;
  console.log(
    `passed: no hangs, no 500s, nothing lost or stranded, nobody in two sessions, every fault recovered${skipped ? ` (${skipped} skipped)` : ""}`,
  );
  return 0;
}

/** One whole run on a fresh stack and API: 0 when it passed. */
async function run(): Promise<number> {
  try {
    return await main();
  } catch (error) {
    console.error(
      error instanceof RedisServerMissingError || error instanceof TurnServerMissingError ? error.message : error,
    );
    return 1;
  } finally {
    await cleanup();
  }
}

const repeat = Number(values.repeat);
if (!Number.isInteger(repeat) || repeat < 1) {
  console.error(`--repeat takes a whole number of runs, 1 or more (got ${values.repeat})`);
  process.exit(2);
}
const runs: { passed: boolean; seconds: number }[] = [];
for (let i = 0; i < repeat; i += 1) {
  if (repeat > 1) log(`run ${i + 1} of ${repeat}`);
  const started = performance.now();
  const passed = (await run()) === 0;
  runs.push({ passed, seconds: (performance.now() - started) / 1000 });
}
if (repeat > 1) {
  const failed = runs.filter((one) => !one.passed).length;
  console.log(
    `\nruns: ${runs.map((one, i) => `#${i + 1} ${one.passed ? "passed" : "FAILED"} in ${one.seconds.toFixed(0)} s`).join(", ")}`,
  );
  console.log(`${repeat - failed} passed, ${failed} failed`);
}
process.exit(runs.every((one) => one.passed) ? 0 : 1);
