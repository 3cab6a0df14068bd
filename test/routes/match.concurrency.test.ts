import {
  createExecutionContext,
  createScheduledController,
  evictDurableObject,
  runDurableObjectAlarm,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq, inArray } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { getConfig } from "../../src/config";
import { matchAttempts, sessionParticipants, sessions } from "../../src/db/schema";
import worker from "../../src/index";
import { getRedis } from "../../src/lib/redis";
import { bearer, type SignedIn } from "../support/auth";
import { testDatabase } from "../support/db";
import { api } from "../support/http";
import {
  attempt,
  backdateAttempt,
  cancelAttempt,
  eventually,
  type Level,
  learner,
  matchStatus,
  openMatchSocket,
} from "../support/match";

/*
 * The B1 and B2 queues belong to this file: other test files queue at other levels, so the
 * counts below are not disturbed by learners of other tests.
 */
const handle = testDatabase();
afterAll(() => handle.close());
const matchmaker = (level: string) => env.MATCHMAKER.get(env.MATCHMAKER.idFromName(level));

async function sessionsOf(userIds: string[]) {
  return handle.db
    .select({ sessionId: sessionParticipants.sessionId, userId: sessionParticipants.userId })
    .from(sessionParticipants)
    .where(inArray(sessionParticipants.userId, userIds));
}

async function endSessionsOf(users: SignedIn[]) {
  const rows = await sessionsOf(users.map((user) => user.user.id));
  if (rows.length === 0) return;
  await handle.db
    .update(sessions)
    .set({ status: "ended", endedAt: new Date() })
    .where(inArray(sessions.id, [...new Set(rows.map((row) => row.sessionId))]));
}

const backdate = (level: Level, user: SignedIn, ms: number) => backdateAttempt(handle.db, level, user, ms);

describe("matchmaking under concurrency", () => {
  it("twelve simultaneous attempts make six sessions, with nobody in two", async () => {
    const users = await Promise.all(Array.from({ length: 12 }, (_, i) => learner("B1", `racer-${i}`)));
    const results = await Promise.all(users.map((user) => attempt(user, "B1")));
    expect(results.every((result) => result.status === 200 || result.status === 202)).toBe(true);

    const memberships = await sessionsOf(users.map((user) => user.user.id));
    const perUser = new Map<string, number>();
    for (const row of memberships) perUser.set(row.userId, (perUser.get(row.userId) ?? 0) + 1);
    expect([...perUser.values()].every((count) => count === 1)).toBe(true);
    expect(new Set(memberships.map((row) => row.sessionId)).size).toBe(6);
    expect(memberships).toHaveLength(12);
    const statuses = await Promise.all(users.map((user) => matchStatus(user)));
    expect(statuses.every((status) => status.status === "matched")).toBe(true);
    await endSessionsOf(users);
  });

  it("two users racing for one waiting partner: one gets them, the other waits", async () => {
    const waiting = await learner("B1", "waiting");
    const [a, b] = await Promise.all([learner("B1", "a"), learner("B1", "b")]);
    await attempt(waiting, "B1");
    const [ra, rb] = await Promise.all([attempt(a, "B1"), attempt(b, "B1")]);
    expect([ra.status, rb.status].sort()).toEqual([200, 202]);
    const winner = ra.status === 200 ? ra : rb;
    expect(winner.body.partner?.id).toBe(waiting.user.id);
    const loser = ra.status === 200 ? b : a;
    expect((await matchStatus(loser)).status).toBe("queued");
    expect(await sessionsOf([waiting.user.id])).toHaveLength(1);
    await cancelAttempt(loser);
    await endSessionsOf([waiting, a, b]);
  });
});

describe("safety inside the matchmaker", () => {
  it("never pairs users when either blocked the other", async () => {
    const blocker = await learner("B1", "blocker");
    const blocked = await learner("B1", "blocked");
    expect((await api(`/users/${blocked.user.id}/block`, { method: "POST", headers: bearer(blocker) })).status).toBe(
      204,
    );
    await attempt(blocked, "B1");
    expect((await attempt(blocker, "B1")).status).toBe(202);
    const third = await learner("B1", "third");
    const paired = await attempt(third, "B1");
    expect(paired.status).toBe(200);
    expect(paired.body.partner?.id).toBe(blocked.user.id);
    await cancelAttempt(blocker);
    await endSessionsOf([blocked, third]);
  });

  it("does not pair the same two users back to back, nor partners rated 1–2", async () => {
    const x = await learner("B1", "x");
    const y = await learner("B1", "y");
    await attempt(x, "B1");
    const first = await attempt(y, "B1");
    expect(first.status).toBe(200);
    await handle.db
      .update(sessions)
      .set({ status: "ended", endedAt: new Date() })
      .where(eq(sessions.id, first.body.session_id ?? ""));

    await attempt(x, "B1");
    expect((await attempt(y, "B1")).status).toBe(202);
    const z = await learner("B1", "z");
    const withZ = await attempt(z, "B1");
    expect(withZ.status).toBe(200);
    expect(withZ.body.partner?.id).toBe(x.user.id);
    await cancelAttempt(y);
    await handle.db
      .update(sessionParticipants)
      .set({ rating: 1 })
      .where(eq(sessionParticipants.sessionId, withZ.body.session_id ?? ""));
    await endSessionsOf([x, z]);

    // x rated z 1: even after x talked to someone else, the two never meet again.
    const w = await learner("B1", "w");
    await attempt(w, "B1");
    expect((await attempt(x, "B1")).status).toBe(200);
    await endSessionsOf([w, x]);
    await attempt(x, "B1");
    expect((await attempt(z, "B1")).status).toBe(202);
    await cancelAttempt(x);
    await cancelAttempt(z);
  });
});

describe("widening", () => {
  it("keeps levels apart at first, then pairs a B1 with a B2 after 30 s of waiting alone", async () => {
    const b1 = await learner("B1", "b1-waiting");
    const socket = await openMatchSocket(b1, "B1");
    const queued = await attempt(b1, "B1");
    expect(queued.status).toBe(202);

    const early = await learner("B2", "b2-early");
    expect((await attempt(early, "B2")).status).toBe(202);
    await cancelAttempt(early);

    await backdate("B1", b1, 31_000);
    expect(await matchStatus(b1)).toMatchObject({ status: "queued", band: ["A2", "B1", "B2"] });
    // The B2 object remembers for a second what B1's longest wait was when "b2-early" arrived;
    // the backdating happened behind its back, so let that memory lapse as real waiting would.
    await new Promise((resolve) => setTimeout(resolve, 1100));

    const b2 = await learner("B2", "b2-arriving");
    const matched = await attempt(b2, "B2");
    expect(matched.status).toBe(200);
    expect(matched.body.partner).toEqual({ id: b1.user.id, display_name: "b1-waiting", level: "B1" });
    await eventually(() => socket.received.length > 0, "the push to the B1 learner");
    expect(socket.received[0]).toMatchObject({
      type: "matched",
      attempt_id: queued.body.attempt_id,
      partner: { id: b2.user.id, level: "B2" },
      band: ["A2", "B1", "B2"],
    });
    const [session] = await handle.db
      .select()
      .from(sessions)
      .where(eq(sessions.id, matched.body.session_id ?? ""));
    expect(session?.level).toBe("B2");
    await endSessionsOf([b1, b2]);
  });
});

describe("presence-driven tickets", () => {
  it("expire the attempt of a user who stopped pinging at the next sweep, and tell them", async () => {
    const leaving = await learner("B1", "leaving");
    const socket = await openMatchSocket(leaving, "B1");
    const queued = await attempt(leaving, "B1");
    await getRedis(getConfig(env).redis).del(`online:${leaving.user.id}`);

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "* * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);

    const status = await matchStatus(leaving);
    expect(status).toMatchObject({ status: "expired", attempt_id: queued.body.attempt_id });
    await eventually(() => socket.received.length > 0, "the expired push");
    expect(socket.received[0]).toEqual({ type: "expired", attempt_id: queued.body.attempt_id, reason: "offline" });
    const [row] = await handle.db.select().from(matchAttempts).where(eq(matchAttempts.id, queued.body.attempt_id));
    expect(row?.resolvedAt).toBeInstanceOf(Date);
  });

  it("expire after 5 minutes on the object's alarm, and a second alarm changes nothing", async () => {
    const patient = await learner("B1", "patient");
    const queued = await attempt(patient, "B1");
    await backdate("B1", patient, 301_000);
    expect(await runDurableObjectAlarm(matchmaker("B1"))).toBe(true);
    const [first] = await handle.db.select().from(matchAttempts).where(eq(matchAttempts.id, queued.body.attempt_id));
    expect(first?.status).toBe("expired");
    await runDurableObjectAlarm(matchmaker("B1"));
    const [second] = await handle.db.select().from(matchAttempts).where(eq(matchAttempts.id, queued.body.attempt_id));
    expect(second).toEqual(first);
    expect(await matchmaker("B1").queueDepth()).toBe(0);
  });
});

describe("the matchmaker object", () => {
  it("keeps its queue across an eviction", async () => {
    const waiting = await learner("B1", "before-eviction");
    await attempt(waiting, "B1");
    // Its queue is in storage; the sockets earlier tests left open would only hold the eviction
    // back for its 10 s timeout (the object's sockets across an eviction: socket-hub.test.ts).
    await evictDurableObject(matchmaker("B1"), { webSockets: "close" });
    const arriving = await learner("B1", "after-eviction");
    const matched = await attempt(arriving, "B1");
    expect(matched.status).toBe(200);
    expect(matched.body.partner?.id).toBe(waiting.user.id);
    await endSessionsOf([waiting, arriving]);
  });
});
