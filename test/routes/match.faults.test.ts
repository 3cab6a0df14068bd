import {
  createExecutionContext,
  createScheduledController,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { afterAll, describe, expect, inject, it } from "vitest";
import { getConfig } from "../../src/config";
import { matchAttempts, sessions } from "../../src/db/schema";
import type { Level } from "../../src/db/schema/enums";
import type { EnqueueResult } from "../../src/durable-objects/matchmaker";
import worker from "../../src/index";
import { getRedis } from "../../src/lib/redis";
import type { QueueEntry } from "../../src/services/matching";
import { bearer, type SignedIn } from "../support/auth";
import { testDatabase } from "../support/db";
import { apiWith, readProblem } from "../support/http";
import {
  attempt,
  cancelAttempt,
  learner,
  matchStatus,
  openMatchSocket,
  attemptRow as writeAttempt,
} from "../support/match";

/*
 * Matchmaking must never strand a learner: an attempt the database calls queued is held by its
 * level's object, or it is resolved. These tests break the parts around it on purpose.
 * They use the C1 queue (and A1/A2 for widening) and leave every queue as they found it.
 */
const handle = testDatabase();
afterAll(() => handle.close());
const fixtures = inject("fixtures");
const matchmaker = (level: Level) => env.MATCHMAKER.get(env.MATCHMAKER.idFromName(level));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function attemptWith(overrides: Record<string, string>, who: SignedIn, level: Level) {
  return apiWith(overrides, "/match/attempt", {
    method: "POST",
    headers: { ...bearer(who), "content-type": "application/json" },
    body: JSON.stringify({ desired_level: level }),
  });
}

async function endSession(sessionId: string | undefined) {
  await handle.db
    .update(sessions)
    .set({ status: "ended", endedAt: new Date() })
    .where(eq(sessions.id, sessionId ?? ""));
}

/** A queued attempt written straight to the database, as a failed hand-off would leave it. */
async function strandedAttempt(who: SignedIn, level: Level, ageMs = 0): Promise<string> {
  const [row] = await handle.db
    .insert(matchAttempts)
    .values({ userId: who.user.id, level, createdAt: new Date(Date.now() - ageMs) })
    .returning({ id: matchAttempts.id });
  if (!row) throw new Error("no attempt");
  return row.id;
}

const attemptRow = (who: SignedIn, level: Level, status: "queued" | "cancelled") =>
  writeAttempt(handle.db, who, level, status);

function entryFor(who: SignedIn, attemptId: string, level: Level): QueueEntry {
  return {
    userId: who.user.id,
    attemptId,
    level,
    displayName: null,
    enqueuedAt: Date.now(),
    blocked: [],
    avoid: [],
    interests: [],
  };
}

describe("an attempt is never left queued without a matchmaker holding it", () => {
  it("with Redis failing, answers 503 naming Redis and writes nothing; back up, the learner is matched at once", async () => {
    const unlucky = await learner("C1", "unlucky");
    const partner = await learner("C1", "partner");
    const failed = await attemptWith({ UPSTASH_REDIS_REST_URL: fixtures.unreachableRedisRestUrl }, unlucky, "C1");
    expect(failed.status).toBe(503);
    expect(await readProblem(failed)).toMatchObject({ code: "DEPENDENCY_UNAVAILABLE", dependency: "redis" });
    expect(await matchStatus(unlucky)).toMatchObject({ status: "none" });

    expect((await attempt(unlucky, "C1")).status).toBe(202);
    const matched = await attempt(partner, "C1");
    expect(matched.status).toBe(200);
    expect(matched.body.partner?.id).toBe(unlucky.user.id);
    await endSession(matched.body.session_id);
  });

  it("hands an attempt the database holds but no object does back to its object when the learner asks again", async () => {
    const stranded = await learner("C1", "stranded");
    const attemptId = await strandedAttempt(stranded, "C1");
    const again = await attempt(stranded, "C1");
    expect(again).toEqual({ status: 202, body: { status: "queued", attempt_id: attemptId } });

    const partner = await learner("C1", "partner");
    const matched = await attempt(partner, "C1");
    expect(matched.status).toBe(200);
    expect(matched.body.partner?.id).toBe(stranded.user.id);
    expect(await matchStatus(stranded)).toMatchObject({ status: "matched", attempt_id: attemptId });
    await endSession(matched.body.session_id);
  });

  it("GET /match/status hands a stranded attempt back to its object, so a partner finds the learner", async () => {
    const stranded = await learner("C1", "polls-status");
    const attemptId = await strandedAttempt(stranded, "C1");
    expect(await matchStatus(stranded)).toMatchObject({ status: "queued", attempt_id: attemptId });
    const partner = await learner("C1", "arrives-later");
    const matched = await attempt(partner, "C1");
    expect(matched.status).toBe(200);
    expect(matched.body.partner?.id).toBe(stranded.user.id);
    await endSession(matched.body.session_id);
  });

  it("the cron sweep hands queued attempts no object holds back to their objects", async () => {
    const stranded = await learner("C1", "left-alone");
    await strandedAttempt(stranded, "C1", 20_000);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "* * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    const partner = await learner("C1", "arrives-after-sweep");
    const matched = await attempt(partner, "C1");
    expect(matched.status).toBe(200);
    expect(matched.body.partner?.id).toBe(stranded.user.id);
    await endSession(matched.body.session_id);
  });

  it("when the matchmaker does not answer in time, answers 503 naming it and withdraws the attempt", async () => {
    const learnerC1 = await learner("C1", "kept-waiting");
    // The C1 object takes no calls for 1.5 s: a stalled Durable Object.
    const stalled = runInDurableObject(matchmaker("C1"), (_, state) => state.blockConcurrencyWhile(() => sleep(1500)));
    await sleep(50);
    const response = await attemptWith({ DEADLINE_DURABLE_OBJECT_MS: "200" }, learnerC1, "C1");
    expect(response.status).toBe(503);
    expect(await readProblem(response)).toMatchObject({ code: "DEPENDENCY_UNAVAILABLE", dependency: "matchmaker" });
    const status = await matchStatus(learnerC1);
    expect(status.status).toBe("cancelled");

    // The hand-off that was still on its way reaches the object late: it must not queue it.
    await stalled;
    const waiting = await matchmaker("C1").waiting();
    expect(waiting.map((entry) => entry.attemptId)).not.toContain(status.attempt_id);
  });

  it("cancels in the object by attempt id, so a late cancel of an old attempt keeps the new one", async () => {
    const user = await learner("C1", "changes-mind");
    const first = await attempt(user, "C1");
    expect((await cancelAttempt(user)).status).toBe(204);
    const second = await attempt(user, "C1");
    expect(second.body.attempt_id).not.toBe(first.body.attempt_id);

    await matchmaker("C1").cancel(first.body.attempt_id);
    expect((await matchmaker("C1").waiting()).map((entry) => entry.attemptId)).toContain(second.body.attempt_id);
    await matchmaker("C1").cancel(second.body.attempt_id);
    expect((await matchmaker("C1").waiting()).map((entry) => entry.attemptId)).not.toContain(second.body.attempt_id);
    await handle.db
      .update(matchAttempts)
      .set({ status: "cancelled" })
      .where(eq(matchAttempts.id, second.body.attempt_id));
  });

  it("the cron sweep expires attempts queued in the database past their lifetime that no object holds", async () => {
    const forgotten = await learner("C1", "forgotten");
    const attemptId = await strandedAttempt(forgotten, "C1", 6 * 60 * 1000);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "* * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await matchStatus(forgotten)).toMatchObject({ status: "expired", attempt_id: attemptId });
  });
});

describe("error paths inside the matchmaker", () => {
  it("once the pair is committed, a neighbouring object that fails to hear of it does not undo the match", async () => {
    const waiting = await learner("A1", "waits-long");
    const queued = await attempt(waiting, "A1");
    await runInDurableObject(matchmaker("A1"), (instance, state) => {
      state.storage.sql.exec("update queue set enqueued_at = enqueued_at - 31000 where user_id = ?", waiting.user.id);
      // The A1 object fails every call that tells it one of its learners was paired elsewhere.
      instance.completeMatch = async () => {
        throw new Error("the A1 matchmaker is failing");
      };
    });
    await handle.db
      .update(matchAttempts)
      .set({ createdAt: sql`${matchAttempts.createdAt} - interval '31 seconds'` })
      .where(eq(matchAttempts.id, queued.body.attempt_id));
    await sleep(1100);

    try {
      const arriving = await learner("A2", "arrives");
      const matched = await attempt(arriving, "A2");
      expect(matched.status).toBe(200);
      expect(matched.body.partner?.id).toBe(waiting.user.id);
      expect(await matchStatus(waiting)).toMatchObject({ status: "matched", session_id: matched.body.session_id });
      await matchmaker("A1").drop(queued.body.attempt_id);
      await endSession(matched.body.session_id);
    } finally {
      // The object outlives this file (the suite shares its module graph and objects): heal it.
      await runInDurableObject(matchmaker("A1"), (instance) => {
        Reflect.deleteProperty(instance, "completeMatch");
      });
    }
  });

  it("the sweep tells `expired` only to attempts it expired itself", async () => {
    const user = await learner("C1", "paired-elsewhere");
    const socket = await openMatchSocket(user, "C1");
    const queued = await attempt(user, "C1");
    // A neighbour paired this attempt and its news has not reached the C1 object yet.
    await handle.db
      .update(matchAttempts)
      .set({ status: "matched", resolvedAt: new Date() })
      .where(eq(matchAttempts.id, queued.body.attempt_id));
    await getRedis(getConfig(env).redis).del(`online:${user.user.id}`);

    expect(await runDurableObjectAlarm(matchmaker("C1"))).toBe(true);
    expect((await matchmaker("C1").waiting()).map((entry) => entry.attemptId)).not.toContain(queued.body.attempt_id);
    await sleep(100);
    expect(socket.received).toEqual([]);
    expect(await matchStatus(user)).toMatchObject({ status: "matched" });
  });

  it("does not queue an arrival whose attempt was cancelled before its hand-off arrived", async () => {
    const early = await learner("C1", "cancelled-early");
    const row = await attemptRow(early, "C1", "cancelled");
    await matchmaker("C1").cancel(row.id);
    expect(await matchmaker("C1").enqueue(entryFor(early, row.id, "C1"))).toEqual({ status: "withdrawn" });
    expect((await matchmaker("C1").waiting()).map((entry) => entry.attemptId)).not.toContain(row.id);
  });

  it("does not queue an arrival the database refuses to pair because its attempt is no longer queued", async () => {
    const partner = await learner("C1", "waiting-partner");
    const waiting = await attempt(partner, "C1");
    const gone = await learner("C1", "cancelled-arrival");
    const row = await attemptRow(gone, "C1", "cancelled");
    expect(await matchmaker("C1").enqueue(entryFor(gone, row.id, "C1"))).toEqual({ status: "withdrawn" });
    const held = (await matchmaker("C1").waiting()).map((entry) => entry.attemptId);
    expect(held).not.toContain(row.id);
    expect(held).toContain(waiting.body.attempt_id);
    await cancelAttempt(partner);
  });

  it("settles every arrival of one batch, also two of one learner (a cancelled one and a new one)", async () => {
    const user = await learner("C1", "double-tap");
    const old = await attemptRow(user, "C1", "cancelled");
    await matchmaker("C1").cancel(old.id);
    const fresh = await attemptRow(user, "C1", "queued");
    const results = await runInDurableObject(matchmaker("C1"), (instance) =>
      Promise.race([
        Promise.all([instance.enqueue(entryFor(user, old.id, "C1")), instance.enqueue(entryFor(user, fresh.id, "C1"))]),
        sleep(3000).then((): EnqueueResult[] => []),
      ]),
    );
    expect(results).toEqual([{ status: "withdrawn" }, { status: "queued" }]);
    await cancelAttempt(user);
  });
});
