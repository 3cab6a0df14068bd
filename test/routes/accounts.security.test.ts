import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterAll, describe, expect, inject, it, vi } from "vitest";
import { getConfig } from "../../src/config";
import { authEmailTokens, matchAttempts, messages, reports, sessionParticipants, sessions } from "../../src/db/schema";
import { closeCodes } from "../../src/durable-objects/socket-hub";
import { getRedis } from "../../src/lib/redis";
import { bearer, type SignedIn, signIn, startSignIn } from "../support/auth";
import { makeAdmin, passResendCooldown, testDatabase } from "../support/db";
import { api, apiWith, postJson, readProblem } from "../support/http";
import { attempt, eventually, learner, openMatchSocket } from "../support/match";
import { openSessionSocket, pairInSession, send } from "../support/sessions";
import { ofType } from "../support/sockets";

/*
 * Suspension, deletion and signing out everywhere bite at once, everywhere: on every write route
 * (never a 500), on the sockets, and for the partner waiting in a session with them.
 */
const handle = testDatabase();
afterAll(() => handle.close());
const { blackhole, unreachableRedisRestUrl } = inject("fixtures");

/** The write routes a signed-in user can call, each with a body that is valid. */
function writes(who: SignedIn, other: { userId: string; sessionId: string }) {
  const json = (path: string, body: unknown, method = "POST") => postJson(path, body, { method, headers: bearer(who) });
  return {
    block: () => api(`/users/${other.userId}/block`, { method: "POST", headers: bearer(who) }),
    report: () => json("/reports", { target_user_id: other.userId, reason: "spam" }),
    profile: () => json("/me", { display_name: "still here" }, "PATCH"),
    upload: () => json("/uploads/presign", { kind: "voice", content_type: "audio/ogg", size: 10 }),
    end: () => json(`/sessions/${other.sessionId}/end`, { rating: 5 }),
    message: () => json(`/sessions/${other.sessionId}/messages`, { type: "text", text: "hello?" }),
    socket: () =>
      api(`/sessions/${other.sessionId}/ws?token=${who.access_token}`, { headers: { Upgrade: "websocket" } }),
  };
}

async function statuses(calls: Record<string, () => Promise<Response>>): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const [name, call] of Object.entries(calls)) result[name] = (await call()).status;
  return result;
}

describe("a deleted account's access token", () => {
  it("gets 401 on every write route and its sockets, never a 500", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    expect((await api("/me", { method: "DELETE", headers: bearer(a) })).status).toBe(204);
    const answered = await statuses(writes(a, { userId: b.user.id, sessionId }));
    expect(answered).toEqual({
      block: 401,
      report: 401,
      profile: 401,
      upload: 401,
      end: 401,
      message: 401,
      socket: 401,
    });
  });

  it("is still refused without a 500 when Redis cannot say it was revoked", async () => {
    const { a, b } = await pairInSession(handle);
    expect((await api("/me", { method: "DELETE", headers: bearer(a) })).status).toBe(204);
    const redisDown = { UPSTASH_REDIS_REST_URL: unreachableRedisRestUrl };
    const block = await apiWith(redisDown, `/users/${b.user.id}/block`, { method: "POST", headers: bearer(a) });
    const report = await apiWith(redisDown, "/reports", {
      method: "POST",
      headers: { ...bearer(a), "content-type": "application/json" },
      body: JSON.stringify({ target_user_id: b.user.id, reason: "spam" }),
    });
    expect([block.status, report.status]).toEqual([403, 403]);
  });
});

describe("DELETE /me", () => {
  it("ends the active session, tells the partner, closes the user's sockets and deletes the address's codes", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const partnerSocket = await openSessionSocket(b, sessionId);
    const ownSocket = await openSessionSocket(a, sessionId);
    const ownMatchSocket = await openMatchSocket(a, "B1");
    await passResendCooldown(a.user.email);
    await startSignIn(a.user.email);

    expect((await api("/me", { method: "DELETE", headers: bearer(a) })).status).toBe(204);
    await eventually(() => ofType(partnerSocket, "ended").length > 0, "the partner's ended push");
    expect(ofType(partnerSocket, "ended")[0]).toMatchObject({
      type: "ended",
      session_id: sessionId,
      ended_by: a.user.id,
    });
    await eventually(() => ownSocket.closed !== null && ownMatchSocket.closed !== null, "the user's sockets closed");
    expect([ownSocket.closed?.code, ownMatchSocket.closed?.code]).toEqual([closeCodes.revoked, closeCodes.revoked]);
    const [session] = await handle.db.select().from(sessions).where(eq(sessions.id, sessionId));
    expect(session?.status).toBe("ended");
    expect(await handle.db.select().from(authEmailTokens).where(eq(authEmailTokens.email, a.user.email))).toEqual([]);
  });

  it("withdraws a queued attempt from its matchmaker", async () => {
    const leaving = await learner("A2", "leaving-for-good");
    const queued = await attempt(leaving, "A2");
    expect(queued.status).toBe(202);
    expect((await api("/me", { method: "DELETE", headers: bearer(leaving) })).status).toBe(204);
    const matchmaker = env.MATCHMAKER.get(env.MATCHMAKER.idFromName("A2"));
    expect((await matchmaker.waiting()).map((entry) => entry.attemptId)).not.toContain(queued.body.attempt_id);
  });
});

describe("a suspension", () => {
  it("refuses the user's access token at once (403) and ends their session for the partner", async () => {
    const admin = await signIn();
    await makeAdmin(handle, admin.user.id);
    const { a, b, sessionId } = await pairInSession(handle);
    const partnerSocket = await openSessionSocket(b, sessionId);
    const suspended = await api(`/admin/users/${a.user.id}/suspend`, { method: "POST", headers: bearer(admin) });
    expect(suspended.status).toBe(200);

    const answered = await statuses(writes(a, { userId: b.user.id, sessionId }));
    expect(Object.values(answered).every((status) => status === 403)).toBe(true);
    expect((await readProblem(await writes(a, { userId: b.user.id, sessionId }).profile())).code).toBe(
      "ACCOUNT_SUSPENDED",
    );
    await eventually(() => ofType(partnerSocket, "ended").length > 0, "the partner's ended push");
    expect(ofType(partnerSocket, "ended")[0]).toMatchObject({ type: "ended", session_id: sessionId });
  });
});

describe("the revocation read, sent together with the work it guards", () => {
  async function suspendedInSession() {
    const admin = await signIn();
    await makeAdmin(handle, admin.user.id);
    const { a, b, sessionId } = await pairInSession(handle);
    const sent = (await (await send(a, sessionId, { type: "text", text: "before the suspension" })).json()) as {
      id: string;
    };
    expect((await api(`/admin/users/${a.user.id}/suspend`, { method: "POST", headers: bearer(admin) })).status).toBe(
      200,
    );
    return { a, b, sessionId, messageId: sent.id };
  }

  it("never lets a revoked token read: every read route answers the problem, not the data", async () => {
    const { a, sessionId } = await suspendedInSession();
    const reads = [
      "/me",
      "/sessions",
      `/sessions/${sessionId}`,
      `/sessions/${sessionId}/messages`,
      "/messages/search?q=suspension",
      "/me/streaks",
      "/me/badges",
      "/me/corrections",
    ];
    for (const path of reads) {
      const response = await api(path, { headers: bearer(a) });
      expect({ path, status: response.status }).toEqual({ path, status: 403 });
      const problem = await readProblem(response);
      expect(problem.code).toBe("ACCOUNT_SUSPENDED");
      expect(JSON.stringify(problem)).not.toContain("before the suspension");
    }
  });

  it("never lets a revoked token change anything on the routes whose rate limit awaits it", async () => {
    // Signed out everywhere: unlike a suspension, the session goes on, so only the check stands in the way.
    const { a, b, sessionId } = await pairInSession(handle);
    const sent = (await (await send(a, sessionId, { type: "text", text: "before signing out" })).json()) as {
      id: string;
    };
    const out = await postJson("/auth/logout", { refresh_token: a.refresh_token, everywhere: true });
    expect(out.status).toBe(204);
    const redis = getRedis(getConfig(env).redis);
    await redis.del(`online:${a.user.id}`);
    const json = (path: string, body: unknown, method = "POST") => postJson(path, body, { method, headers: bearer(a) });
    const answered = await statuses({
      send: () => send(a, sessionId, { type: "text", text: "after signing out" }),
      edit: () => json(`/sessions/${sessionId}/messages/${sent.id}`, { text: "rewritten" }, "PATCH"),
      delete: () => api(`/sessions/${sessionId}/messages/${sent.id}`, { method: "DELETE", headers: bearer(a) }),
      read: () => json(`/sessions/${sessionId}/read`, { up_to: sent.id }),
      iceServers: () => api(`/sessions/${sessionId}/call/ice-servers`, { method: "POST", headers: bearer(a) }),
      report: () => json("/reports", { target_user_id: b.user.id, reason: "spam" }),
      avatar: () => json("/me/avatar", { content_type: "image/png", size: 100 }),
      upload: () => json("/uploads/presign", { kind: "voice", content_type: "audio/ogg", size: 10 }),
      ping: () => api("/presence/ping", { method: "POST", headers: bearer(a) }),
    });
    expect(Object.entries(answered).filter(([, status]) => status !== 401)).toEqual([]);
    const stored = await handle.db.select().from(messages).where(eq(messages.sessionId, sessionId));
    expect(stored.map((message) => [message.text, message.editedAt, message.deletedAt])).toEqual([
      ["before signing out", null, null],
    ]);
    const [own] = await handle.db.select().from(sessionParticipants).where(eq(sessionParticipants.userId, a.user.id));
    expect(own?.readUpTo).toBeNull();
    expect(await handle.db.select().from(reports).where(eq(reports.reporterId, a.user.id))).toEqual([]);
    expect(await redis.exists(`online:${a.user.id}`)).toBe(0);

    const waiting = await learner("C2", "signs-out-while-matching");
    expect((await postJson("/auth/logout", { refresh_token: waiting.refresh_token, everywhere: true })).status).toBe(
      204,
    );
    const tried = await postJson("/match/attempt", { desired_level: "C2" }, { headers: bearer(waiting) });
    expect(tried.status).toBe(401);
    expect(await handle.db.select().from(matchAttempts).where(eq(matchAttempts.userId, waiting.user.id))).toEqual([]);
  });

  it("answers the refusal whole, none of the handler's own headers on it", async () => {
    const gone = await signIn();
    expect((await api("/me", { method: "DELETE", headers: bearer(gone) })).status).toBe(204);
    const refused = await api("/me", { headers: bearer(gone) });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toBe(
      'Bearer realm="gaplash", error="invalid_token", error_description="This account no longer exists."',
    );

    // A read that failed on its own (the database stalled: 503 with Retry-After) still ends as the refusal alone.
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { a } = await suspendedInSession();
    const stalled = { NEON_HTTP_ENDPOINT: `http://${blackhole}/sql`, DEADLINE_DATABASE_MS: "300" };
    const suspended = await apiWith(stalled, "/me", { headers: bearer(a) });
    expect(suspended.status).toBe(403);
    expect(suspended.headers.get("retry-after")).toBeNull();
    vi.restoreAllMocks();
  });

  it("refuses a revocation whose reason this version does not know, on reads and writes alike", async () => {
    const { a, sessionId } = await pairInSession(handle);
    // As a newer deploy might write it while this one still serves.
    await getRedis(getConfig(env).redis).set(`revoked:${a.user.id}`, { at: Date.now() + 60_000, reason: "banned" });
    expect((await api("/me", { headers: bearer(a) })).status).toBe(401);
    expect((await send(a, sessionId, { type: "text", text: "past an unknown revocation" })).status).toBe(401);
    expect(await handle.db.select().from(messages).where(eq(messages.sessionId, sessionId))).toEqual([]);
  });

  it("trusts a live token when Redis cannot answer: reads and sends still work", async () => {
    const { a, sessionId } = await pairInSession(handle);
    const redisDown = { UPSTASH_REDIS_REST_URL: unreachableRedisRestUrl };
    expect((await apiWith(redisDown, "/me", { headers: bearer(a) })).status).toBe(200);
    const sent = await apiWith(redisDown, `/sessions/${sessionId}/messages`, {
      method: "POST",
      headers: { ...bearer(a), "content-type": "application/json" },
      body: JSON.stringify({ type: "text", text: "through an outage" }),
    });
    expect(sent.status).toBe(201);
  });
});

describe("POST /users/{id}/block", () => {
  it("pushes `ended` to the room of the session it ends", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const partnerSocket = await openSessionSocket(b, sessionId);
    expect((await api(`/users/${b.user.id}/block`, { method: "POST", headers: bearer(a) })).status).toBe(204);
    await eventually(() => ofType(partnerSocket, "ended").length > 0, "the ended push");
    expect(ofType(partnerSocket, "ended")[0]).toMatchObject({
      type: "ended",
      session_id: sessionId,
      ended_by: a.user.id,
    });
  });
});

describe("POST /auth/logout with everywhere", () => {
  it("revokes every sign-in of the account, refuses its access tokens at once and closes its sockets", async () => {
    const phone = await signIn();
    await passResendCooldown(phone.user.email);
    const laptop = await signIn(phone.user.email);
    const laptopSocket = await openMatchSocket(laptop, "B1");

    const out = await postJson("/auth/logout", { refresh_token: phone.refresh_token, everywhere: true });
    expect(out.status).toBe(204);
    expect((await api("/me", { headers: bearer(laptop) })).status).toBe(401);
    expect((await postJson("/auth/refresh", { refresh_token: laptop.refresh_token })).status).toBe(401);
    await eventually(() => laptopSocket.closed !== null, "the laptop's socket closed");
    expect(laptopSocket.closed?.code).toBe(closeCodes.revoked);
  });

  it("changes nothing when given a refresh token that was already spent", async () => {
    const session = await signIn();
    const rotated = await postJson("/auth/refresh", { refresh_token: session.refresh_token });
    const fresh = (await rotated.json()) as SignedIn;
    expect((await postJson("/auth/logout", { refresh_token: session.refresh_token, everywhere: true })).status).toBe(
      204,
    );
    expect((await api("/me", { headers: bearer(fresh) })).status).toBe(200);
  });
});
