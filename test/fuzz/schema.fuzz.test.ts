import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { moderationNotices } from "../../src/db/schema";
import { bearer, newEmail, type SignedIn, signIn, startSignIn } from "../support/auth";
import { makeAdmin, testDatabase } from "../support/db";
import {
  answerFault,
  type DocumentedOperation,
  describeRequest,
  encode,
  type FuzzRequest,
  type OpenApiDocument,
  operationsOf,
  pathParameterNames,
  requestArbitrary,
  send,
} from "../support/fuzz";
import { api, postJson, randomIp } from "../support/http";
import { attempt, cancelAttempt, learner } from "../support/match";
import { pairInSession, send as sendMessage, uploadVoiceNote } from "../support/sessions";

/*
 * Schema fuzz: every operation of the API's own /openapi.json gets generated malformed (and some
 * valid-looking) bodies, path values and query strings, sent with a valid bearer token. No answer
 * may be a 5xx, and every error must be an RFC 9457 problem. A failure prints the request and
 * fast-check's seed and path, which replay it when passed to `fc.assert`.
 */

const handle = testDatabase();
afterAll(() => handle.close());

const document = (await (await api("/openapi.json")).json()) as OpenApiDocument;
const operations = operationsOf(document);

// Development only, so left out of the document; the stack runs in development, so it is served.
const devMailbox: DocumentedOperation = {
  key: "GET /dev/mailbox",
  method: "get",
  path: "/dev/mailbox",
  operation: {
    parameters: [{ name: "email", in: "query", required: true, schema: { type: "string", format: "email" } }],
  },
};

const fuzzed = operations.some(({ key }) => key === devMailbox.key) ? operations : [...operations, devMailbox];

const runsPerOperation = 40;

interface Target {
  /** A fresh account, so that rate limits, sign-outs and deletions stay within one operation. */
  caller: SignedIn;
  /** Real values for the path's `{id}`, so that body and query fuzzing gets past path validation. */
  ids?: string[];
  /** Bodies the operation accepts, to mutate and to send as they are. */
  bodies?: unknown[];
  /** Valid values of query parameters, by name. */
  query?: Record<string, string[]>;
  /** Leaves shared state as it was: a queued attempt could otherwise be matched by another file's learner. */
  cleanUp?: () => Promise<unknown>;
}

async function admin(): Promise<SignedIn> {
  const session = await signIn();
  await makeAdmin(handle, session.user.id);
  return session;
}

/** `next_cursor` of a one-item page of `path`, when there is a second page. */
async function cursorsOf(caller: SignedIn, path: string): Promise<string[]> {
  const separator = path.includes("?") ? "&" : "?";
  const response = await api(`${path}${separator}limit=1`, { headers: bearer(caller) });
  const page = (await response.json()) as { next_cursor?: string | null };
  return page.next_cursor ? [page.next_cursor] : [];
}

/** A participant of an active session, with a few messages in it. */
async function participant(): Promise<{
  target: Target;
  partnerMessageId: string;
  ownMessageId: string;
  partner: SignedIn;
}> {
  const { a, b, sessionId } = await pairInSession(handle, ["Fuzz", "Partner"]);
  const said = await sendMessage(b, sessionId, { type: "text", text: "I goes to the market on Sunday" });
  const asked = await sendMessage(a, sessionId, { type: "text", text: "Which market do you like?" });
  const { id } = (await said.json()) as { id: string };
  const { id: ownMessageId } = (await asked.json()) as { id: string };
  return { target: { caller: a, ids: [sessionId] }, partnerMessageId: id, ownMessageId, partner: b };
}

async function inSession(): Promise<Target> {
  const { target } = await participant();
  return target;
}

/** A user acting on another one; their own id too, as acting on yourself is refused separately. */
async function userAndOther(): Promise<Target> {
  const [caller, other] = await Promise.all([signIn(), signIn()]);
  return { caller, ids: [other.user.id, other.user.id, caller.user.id] };
}

async function adminAndOther(): Promise<Target> {
  const [caller, other] = await Promise.all([admin(), signIn()]);
  return { caller, ids: [other.user.id, other.user.id, caller.user.id] };
}

async function queuedLearner(): Promise<Target> {
  const caller = await learner("C2", "Fuzz");
  await attempt(caller, "C2");
  return { caller, cleanUp: () => cancelAttempt(caller) };
}

const targets: Record<string, () => Promise<Target>> = {
  "POST /auth/email/request": async () => ({ caller: await signIn(), bodies: [{ email: newEmail("fuzz") }] }),
  "POST /auth/email/verify": async () => {
    const pending = await startSignIn();
    return {
      caller: await signIn(),
      bodies: [{ email: pending.email, login_id: pending.loginId, code: pending.code }],
    };
  },
  "POST /auth/refresh": async () => {
    const caller = await signIn();
    return { caller, bodies: [{ refresh_token: caller.refresh_token }] };
  },
  "POST /auth/logout": async () => {
    const caller = await signIn();
    return {
      caller,
      bodies: [{ refresh_token: caller.refresh_token }, { refresh_token: caller.refresh_token, everywhere: true }],
    };
  },
  "PATCH /me": async () => ({
    caller: await signIn(),
    bodies: [
      { about: "I like football", interests: ["travel", "Football"] },
      { display_name: null, level: null },
    ],
  }),
  "POST /me/notices/{id}/ack": async () => {
    const [caller, other] = await Promise.all([signIn(), signIn()]);
    const notices = await handle.db
      .insert(moderationNotices)
      .values([
        { userId: caller.user.id, action: "warn", reason: "spam" },
        { userId: other.user.id, action: "warn", reason: "scam" },
      ])
      .returning({ id: moderationNotices.id });
    return { caller, ids: notices.map((notice) => notice.id) };
  },
  "POST /me/avatar": async () => ({ caller: await signIn(), bodies: [{ content_type: "image/png", size: 2048 }] }),
  "POST /uploads/presign": async () => ({
    caller: await signIn(),
    bodies: [{ kind: "avatar", content_type: "image/webp", size: 4096 }],
  }),
  "GET /presence": async () => {
    const [caller, other] = await Promise.all([learner("B2"), learner("B2")]);
    return { caller, query: { user_ids: [other.user.id, `${caller.user.id},${other.user.id}`] } };
  },
  "POST /match/attempt": async () => {
    const caller = await learner("C2", "Fuzz");
    return { caller, bodies: [{ desired_level: "C2" }], cleanUp: () => cancelAttempt(caller) };
  },
  "DELETE /match/attempt": queuedLearner,
  "GET /match/status": queuedLearner,
  // The WebSocket routes (this one and /sessions/{id}/ws) answer 426 without an Upgrade header,
  // which these requests never send: what is fuzzed is their path, query and token handling before that.
  "GET /match/ws": async () => ({ caller: await learner("C2") }),
  "POST /users/{id}/block": userAndOther,
  "DELETE /users/{id}/block": userAndOther,
  "GET /me/blocks": async () => {
    const [caller, first, second] = await Promise.all([signIn(), signIn(), signIn()]);
    for (const blocked of [first, second]) {
      await api(`/users/${blocked.user.id}/block`, { method: "POST", headers: bearer(caller) });
    }
    return { caller, query: { cursor: await cursorsOf(caller, "/me/blocks") } };
  },
  "GET /sessions": inSession,
  "GET /sessions/{id}": inSession,
  "PATCH /sessions/{id}/messages/{message_id}": async () => {
    const { target, ownMessageId } = await participant();
    return { ...target, ids: [...(target.ids ?? []), ownMessageId], bodies: [{ text: "Which market do you love?" }] };
  },
  "DELETE /sessions/{id}/messages/{message_id}": async () => {
    const { target, ownMessageId } = await participant();
    return { ...target, ids: [...(target.ids ?? []), ownMessageId] };
  },
  "POST /sessions/{id}/read": async () => {
    const { target, partnerMessageId } = await participant();
    return { ...target, bodies: [{ up_to: partnerMessageId }] };
  },
  "POST /sessions/{id}/end": async () => ({
    ...(await inSession()),
    bodies: [{ rating: 4, notes: "Good talk" }, { rating: 1 }],
  }),
  "POST /sessions/{id}/messages": async () => {
    const { target, partnerMessageId } = await participant();
    return {
      ...target,
      bodies: [
        { type: "text", text: "Salom!", client_id: crypto.randomUUID() },
        { type: "correction", corrects: partnerMessageId, text: "I go to the market on Sunday" },
        {
          type: "voice",
          audio_url: (await uploadVoiceNote(target.caller, crypto.getRandomValues(new Uint8Array(1024)))).url,
          duration_ms: 1800,
        },
      ],
    };
  },
  "GET /sessions/{id}/messages": async () => {
    const target = await inSession();
    return { ...target, query: { cursor: await cursorsOf(target.caller, `/sessions/${target.ids?.[0]}/messages`) } };
  },
  "GET /sessions/{id}/ws": inSession,
  "POST /sessions/{id}/call/ice-servers": inSession,
  "GET /messages/search": async () => {
    const target = await inSession();
    return {
      ...target,
      query: {
        q: ["market", "Sunday"],
        cursor: await cursorsOf(target.caller, "/messages/search?q=market"),
      },
    };
  },
  "POST /reports": async () => {
    const { target, partner } = await participant();
    return {
      caller: target.caller,
      bodies: [
        { target_user_id: partner.user.id, reason: "harassment", session_id: target.ids?.[0], note: "Rude" },
        { target_user_id: partner.user.id, reason: "spam" },
      ],
    };
  },
  "POST /sessions/{id}/report-and-leave": async () => ({
    ...(await inSession()),
    bodies: [{ reason: "harassment", note: "Rude" }, { reason: "spam" }],
  }),
  "GET /admin/reports": async () => {
    const caller = await admin();
    return { caller, query: { cursor: await cursorsOf(caller, "/admin/reports") } };
  },
  "POST /admin/reports/{id}/close": async () => {
    const [caller, { target, partner }] = await Promise.all([admin(), participant()]);
    const filed = await postJson(
      "/reports",
      { target_user_id: partner.user.id, reason: "spam", session_id: target.ids?.[0] },
      { headers: bearer(target.caller) },
    );
    const { id } = (await filed.json()) as { id: string };
    return {
      caller,
      ids: [id],
      bodies: [
        { resolution: "Talked to them", action: "warn" },
        { resolution: "Nothing wrong", action: "none" },
      ],
    };
  },
  "GET /admin/reports/{id}": async () => {
    const [caller, { target, partner }] = await Promise.all([admin(), participant()]);
    const filed = await postJson(
      "/reports",
      { target_user_id: partner.user.id, reason: "spam", session_id: target.ids?.[0] },
      { headers: bearer(target.caller) },
    );
    const { id } = (await filed.json()) as { id: string };
    // Read, not decided: closed at once, so that it leaves no open report in the shared queue.
    await postJson(`/admin/reports/${id}/close`, { resolution: "Fuzzed", action: "none" }, { headers: bearer(caller) });
    return { caller, ids: [id] };
  },
  "GET /admin/users/{id}": adminAndOther,
  "POST /admin/users/{id}/suspend": adminAndOther,
  "POST /admin/users/{id}/unsuspend": adminAndOther,
  "POST /admin/users/{id}/role": async () => ({
    ...(await adminAndOther()),
    bodies: [{ role: "admin" }, { role: "user" }],
  }),
  "PATCH /admin/topics/{id}": async () => {
    const caller = await admin();
    const created = await postJson(
      "/admin/topics",
      { level: "C2", title: "Fuzzed topic", prompts: ["One?", "Two?", "Three?"] },
      { headers: bearer(caller) },
    );
    const { id } = (await created.json()) as { id: string };
    const retire = () =>
      postJson(`/admin/topics/${id}`, { active: false }, { method: "PATCH", headers: bearer(caller) });
    return {
      caller,
      ids: [id],
      bodies: [{ active: false }, { title: "Fuzzed again", tags: ["fuzz"] }],
      cleanUp: retire,
    };
  },
  "GET /admin/audit-logs": async () => {
    const caller = await admin();
    return { caller, query: { cursor: await cursorsOf(caller, "/admin/audit-logs") } };
  },
  "GET /dev/mailbox": async () => {
    const caller = await signIn();
    return { caller, query: { email: [caller.user.email] } };
  },
};

async function targetFor(operation: DocumentedOperation): Promise<Target> {
  const setUp = targets[operation.key];
  if (setUp) return setUp();
  return { caller: operation.path.startsWith("/admin/") ? await admin() : await signIn() };
}

/** The valid requests the fixtures describe, tried before the generated ones so every run reaches the handler. */
function validRequests(operation: DocumentedOperation, target: Target): FuzzRequest[] {
  const path = pathParameterNames(operation.path).reduce(
    (filled, name) => filled.replace(`{${name}}`, target.ids?.[0] ?? ""),
    operation.path,
  );
  const query = Object.entries(target.query ?? {})
    .flatMap(([name, values]) => (values[0] === undefined ? [] : [`${encode(name)}=${encode(values[0])}`]))
    .join("&");
  const method = operation.method.toUpperCase();
  const bodies = target.bodies ?? [];
  if (bodies.length === 0) return target.ids || target.query ? [{ method, path, query }] : [];
  return bodies.map((body) => ({ method, path, query, contentType: "application/json", body: JSON.stringify(body) }));
}

describe("schema fuzz", () => {
  it("covers the documented operations, with real ids for every operation that takes one", () => {
    const documented = new Set(operations.map((operation) => operation.key));
    expect(operations.length).toBeGreaterThan(30);
    expect(Object.keys(targets).filter((key) => !documented.has(key) && key !== devMailbox.key)).toEqual([]);
    expect(
      operations
        .filter((operation) => pathParameterNames(operation.path).length > 0 && !(operation.key in targets))
        .map((operation) => operation.key),
    ).toEqual([]);
  });

  for (const operation of fuzzed) {
    // Talking to Google may fail for real (it is not reachable here): a 502 or 503 problem is the right answer.
    const upstreamMayFail = operation.path.startsWith("/auth/google/");
    it(`${operation.key} answers generated requests without a 5xx, and every error as a problem`, async () => {
      const target = await targetFor(operation);
      // Its own address, so that the fuzz does not use up the per-address sign-in limits of other tests.
      const headers = { ...bearer(target.caller), "cf-connecting-ip": randomIp() };
      const requests = requestArbitrary(document, operation, {
        ids: target.ids ?? [],
        bodies: target.bodies ?? [],
        query: target.query ?? {},
      });
      try {
        await fc.assert(
          fc.asyncProperty(requests, async (request) => {
            const fault = await answerFault(await send(request, headers), upstreamMayFail);
            if (fault) throw new Error(`${describeRequest(request)}\n${fault}`);
          }),
          {
            numRuns: runsPerOperation,
            examples: validRequests(operation, target).map((request) => [request]),
            // A request changes what the next one meets, so a shrunk case would not replay: report the first.
            endOnFailure: true,
          },
        );
      } finally {
        await target.cleanUp?.();
      }
    }, 60_000);
  }
});
