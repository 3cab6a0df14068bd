/**
 * `npm run load [-- --url http://localhost:8080 --pairs 20]`: learners play the whole story at once
 * against a running server (sign-up → profile → presence → match → chat → end → streak → report),
 * then the script reconciles what the server stored with what the clients were told:
 * every message answered 201 is stored exactly once, and no learner is in two sessions.
 * Sign-in codes are read from the development mailbox, so the server must run with
 * ENVIRONMENT=development (`npm run dev`). Against a deployed API, where codes go to real inboxes,
 * sign two test accounts in once and pass their refresh tokens:
 * `npm run load -- --url https://api.example.com --pairs 1 --refresh-tokens <r1>,<r2>`.
 * Exits non-zero on any error, loss or duplicate.
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: "http://localhost:8080" },
    pairs: { type: "string", default: "20" },
    messages: { type: "string", default: "10" },
    "refresh-tokens": { type: "string" },
  },
});
const refreshTokens = values["refresh-tokens"]?.split(",").filter(Boolean) ?? [];
const baseUrl = (values.url ?? "http://localhost:8080").replace(/\/$/, "");
const pairs = refreshTokens.length > 0 ? refreshTokens.length / 2 : Number(values.pairs);
if (!Number.isInteger(pairs) || pairs < 1) {
  console.error("--refresh-tokens takes an even number of tokens, two per pair");
  process.exit(2);
}
const messagesPerLearner = Number(values.messages);
const levels = ["A1", "A2", "B1", "B2", "C1", "C2"] as const;
const runId = Date.now().toString(36);

const timings = new Map<string, number[]>();
const errors: string[] = [];

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function timed<T>(step: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    const list = timings.get(step) ?? [];
    list.push(performance.now() - started);
    timings.set(step, list);
  }
}

/** How many times a 503 is tried again, after its `Retry-After`, before it counts as an error. */
const retriesAfter503 = 5;
/** 503s the learners were told to come back after, and came back. */
let retried503 = 0;

/**
 * One request as a real client makes it: a 503 (the API or a dependency briefly unable to serve)
 * is tried again after its `Retry-After`, a few times, unless `retry503` is false. A 503 can come
 * after the database committed (its answer missed the deadline), so only requests that are safe
 * to repeat are retried: reads, writes that say who they are (a message's `client_id`), and a
 * code check, whose code is spent at most once. The wait is the `Retry-After` plus up to as much
 * again at random, so that learners turned away together do not all come back in the same instant.
 */
async function call(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; expect?: number[]; retry503?: boolean } = {},
): Promise<{ status: number; body: unknown; retried: boolean; retryAfterSeconds: number }> {
  let response: Response;
  let attempt = 0;
  for (; ; attempt += 1) {
    response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const retryAfter = response.headers.get("retry-after");
    if (response.status !== 503 || options.retry503 === false || attempt === retriesAfter503 || retryAfter === null)
      break;
    await response.arrayBuffer();
    retried503 += 1;
    await pause(Math.max(1, Number(retryAfter) || 1) * 1000 * (1 + Math.random()));
  }
  const text = await response.text();
  const body = text ? (JSON.parse(text) as unknown) : null;
  if (options.expect && !options.expect.includes(response.status)) {
    throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 200)}`);
  }
  const retryAfterSeconds = Math.max(1, Number(response.headers.get("retry-after")) || 1);
  return { status: response.status, body, retried: attempt > 0, retryAfterSeconds };
}

interface Learner {
  name: string;
  token: string;
  userId: string;
  level: (typeof levels)[number];
  sessionId?: string;
  sent: Map<string, string>;
}

async function signInWith(refreshToken: string, name: string, level: Learner["level"]): Promise<Learner> {
  const refreshed = (
    await timed("refresh", () =>
      call("POST", "/auth/refresh", { body: { refresh_token: refreshToken }, expect: [200] }),
    )
  ).body as { access_token: string; user: { id: string } };
  const learner: Learner = { name, token: refreshed.access_token, userId: refreshed.user.id, level, sent: new Map() };
  await timed("profile", () => call("PATCH", "/me", { token: learner.token, body: { level }, expect: [200] }));
  await timed("presence ping", () => call("POST", "/presence/ping", { token: learner.token, expect: [200] }));
  return learner;
}

/**
 * A sign-up as the web client does it: a code request (after a 429's `Retry-After`: the resend
 * cooldown of an earlier try), the code from the mailbox, its check. A check retried after a 503
 * may find its code already spent by the try whose answer was lost (`CODE_USED`): then the learner
 * asks for a new code, as the client's "send a new code" does.
 */
async function signUp(name: string, level: Learner["level"]): Promise<Learner> {
  const email = `load-${runId}-${name}@example.com`;
  let cooldowns = 0;
  let spentCodes = 0;
  for (;;) {
    const requested = await timed("code request", () =>
      call("POST", "/auth/email/request", { body: { email }, expect: [202, 429] }),
    );
    if (requested.status === 429) {
      cooldowns += 1;
      if (requested.retryAfterSeconds > 120 || cooldowns > 3)
        throw new Error(`${email}: code requests refused ${cooldowns} times, for ${requested.retryAfterSeconds} s`);
      await pause(requested.retryAfterSeconds * 1000 * (1 + Math.random()));
      continue;
    }
    const { login_id } = requested.body as { login_id: string };
    const mailbox = (await call("GET", `/dev/mailbox?email=${encodeURIComponent(email)}`, { expect: [200] })).body as {
      items: { text?: string; login_id: string | null }[];
    };
    const mail = mailbox.items.find((item) => item.login_id === login_id);
    const code = /\b(\d{6})\b/.exec(mail?.text ?? "")?.[1];
    if (!code) throw new Error(`no code mailed to ${email}`);
    const verified = await timed("verify", () =>
      call("POST", "/auth/email/verify", { body: { email, login_id, code }, expect: [200, 400, 409, 410] }),
    );
    if (verified.status !== 200) {
      const problem = verified.body as { code?: string };
      if (problem.code === "CODE_USED" && verified.retried && spentCodes < 3) {
        spentCodes += 1;
        continue;
      }
      throw new Error(`POST /auth/email/verify answered ${verified.status}: ${JSON.stringify(problem).slice(0, 200)}`);
    }
    const signedIn = verified.body as { access_token: string; user: { id: string } };
    const learner: Learner = { name, token: signedIn.access_token, userId: signedIn.user.id, level, sent: new Map() };
    await timed("profile", () =>
      call("PATCH", "/me", { token: learner.token, body: { display_name: name, level }, expect: [200] }),
    );
    await timed("presence ping", () => call("POST", "/presence/ping", { token: learner.token, expect: [200] }));
    return learner;
  }
}

async function findPartner(learner: Learner): Promise<void> {
  const attempt = (
    await timed("match attempt", () =>
      call("POST", "/match/attempt", {
        token: learner.token,
        body: { desired_level: learner.level },
        expect: [200, 202],
      }),
    )
  ).body as { status: string; session_id?: string };
  if (attempt.session_id) {
    learner.sessionId = attempt.session_id;
    return;
  }
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const status = (await call("GET", "/match/status", { token: learner.token, expect: [200] })).body as {
      status: string;
      session_id?: string;
    };
    if (status.status === "matched" && status.session_id) {
      learner.sessionId = status.session_id;
      return;
    }
    if (status.status !== "queued") throw new Error(`${learner.name}'s attempt ended as ${status.status}`);
  }
  throw new Error(`${learner.name} found no partner within 60 s`);
}

async function chat(learner: Learner): Promise<void> {
  for (let i = 0; i < messagesPerLearner; i += 1) {
    const clientId = crypto.randomUUID();
    const body = { type: "text", text: `${learner.name} says hello #${i}`, client_id: clientId };
    const first = (
      await timed("send message", () =>
        // 200: a retry after a 503 whose message had been stored after all, replayed (counted once below).
        call("POST", `/sessions/${learner.sessionId}/messages`, { token: learner.token, body, expect: [200, 201] }),
      )
    ).body as { id: string };
    learner.sent.set(clientId, first.id);
    if (i === 0) {
      // A retry of the same send must return the same message, not store another.
      const retry = (
        await call("POST", `/sessions/${learner.sessionId}/messages`, {
          token: learner.token,
          body,
          expect: [200],
        })
      ).body as { id: string };
      if (retry.id !== first.id) errors.push(`${learner.name}: a retried send stored a second message`);
    }
  }
  await timed("message page", () =>
    call("GET", `/sessions/${learner.sessionId}/messages?limit=50`, { token: learner.token, expect: [200] }),
  );
}

async function finish(learner: Learner, partnerId: string | undefined): Promise<void> {
  await timed("end session", () =>
    call("POST", `/sessions/${learner.sessionId}/end`, { token: learner.token, body: { rating: 5 }, expect: [200] }),
  );
  const streak = (await call("GET", "/me/streaks", { token: learner.token, expect: [200] })).body as {
    current: number;
  };
  if (streak.current < 1) errors.push(`${learner.name}: streak is ${streak.current} after a session`);
  if (partnerId) {
    await timed("report", () =>
      call("POST", "/reports", {
        token: learner.token,
        body: { target_user_id: partnerId, reason: "other", note: "load test", session_id: learner.sessionId },
        expect: [201],
        retry503: false,
      }),
    );
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

const started = performance.now();
const learners = await Promise.all(
  Array.from({ length: pairs * 2 }, (_, i) => {
    const level = levels[Math.floor(i / 2) % levels.length] ?? "B1";
    const refreshToken = refreshTokens[i];
    return refreshToken ? signInWith(refreshToken, `l${i}`, level) : signUp(`l${i}`, level);
  }),
).catch((error: unknown) => {
  console.error(`sign-up failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

const outcomes = await Promise.allSettled(
  learners.map(async (learner) => {
    await findPartner(learner);
    await chat(learner);
  }),
);
for (const outcome of outcomes) if (outcome.status === "rejected") errors.push(String(outcome.reason));

// Reconcile before ending, then end and report.
const bySession = new Map<string, Learner[]>();
for (const learner of learners) {
  if (!learner.sessionId) continue;
  bySession.set(learner.sessionId, [...(bySession.get(learner.sessionId) ?? []), learner]);
}
let stored = 0;
let lost = 0;
let duplicated = 0;
for (const [sessionId, members] of bySession) {
  if (members.length !== 2) errors.push(`session ${sessionId} has ${members.length} of our learners`);
  const reader = members[0];
  if (!reader) continue;
  const page = (await call("GET", `/sessions/${sessionId}/messages?limit=100`, { token: reader.token, expect: [200] }))
    .body as { items: { id: string; client_id: string | null }[] };
  const counts = new Map<string, number>();
  for (const item of page.items) counts.set(item.id, (counts.get(item.id) ?? 0) + 1);
  stored += page.items.length;
  for (const member of members) {
    for (const id of member.sent.values()) {
      const count = counts.get(id) ?? 0;
      if (count === 0) lost += 1;
      if (count > 1) duplicated += 1;
    }
  }
  const acknowledged = members.reduce((total, member) => total + member.sent.size, 0);
  if (page.items.length !== acknowledged) duplicated += Math.max(0, page.items.length - acknowledged);
}
for (const learner of learners) {
  const history = (await call("GET", "/sessions?limit=100", { token: learner.token, expect: [200] })).body as {
    items: unknown[];
  };
  if (history.items.length > 1) errors.push(`${learner.name} is in ${history.items.length} sessions`);
}
await Promise.allSettled(
  learners
    .filter((learner) => learner.sessionId)
    .map((learner) => {
      const partner = bySession.get(learner.sessionId ?? "")?.find((other) => other !== learner);
      // Against real accounts (refresh tokens given) the smoke test files no reports.
      const reportPartner = refreshTokens.length === 0 && learner.name.endsWith("0") ? partner?.userId : undefined;
      return finish(learner, reportPartner).catch((error: unknown) => errors.push(String(error)));
    }),
);

console.log(`\n${pairs} pairs against ${baseUrl} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
console.log("step               count   p50 ms   p99 ms");
for (const [step, list] of timings) {
  const sorted = [...list].sort((a, b) => a - b);
  console.log(
    `${step.padEnd(18)} ${String(sorted.length).padStart(5)} ${percentile(sorted, 50).toFixed(1).padStart(8)} ${percentile(sorted, 99).toFixed(1).padStart(8)}`,
  );
}
const acknowledgedTotal = learners.reduce((total, learner) => total + learner.sent.size, 0);
console.log(
  `\nsessions: ${bySession.size}  messages acknowledged: ${acknowledgedTotal}  stored: ${stored}  lost: ${lost}  duplicated: ${duplicated}  errors: ${errors.length}  503s tried again: ${retried503}`,
);
for (const error of errors.slice(0, 20)) console.log(`  error: ${error}`);
process.exit(errors.length > 0 || lost > 0 || duplicated > 0 || bySession.size !== pairs ? 1 : 0);
