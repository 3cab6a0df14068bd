import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it, vi } from "vitest";
import { getConfig } from "../../src/config";
import { matchAttempts } from "../../src/db/schema";
import { DependencyUnavailableError } from "../../src/lib/dependencies";
import { getRedis } from "../../src/lib/redis";
import { objectCalls } from "../../src/services/objects";
import { type PlacementDeps, placeAttempt } from "../../src/services/placement";
import { signIn } from "../support/auth";
import { testDatabase } from "../support/db";
import { learner } from "../support/match";
import { sessionBetween } from "../support/sessions";

/*
 * Placing a match attempt, called directly with the real database, Redis and Matchmakers: what
 * each refusal leaves behind (nothing), and that a hand-off the Matchmaker does not answer never
 * leaves an attempt the database calls queued.
 */
const handle = testDatabase();
afterAll(() => handle.close());

const config = getConfig(env);
const pending: Promise<unknown>[] = [];

function deps(matchmakerDeadlineMs = config.durableObjectTimeoutMs): PlacementDeps {
  return {
    db: handle.db,
    redis: getRedis(config.redis),
    objects: objectCalls(env, matchmakerDeadlineMs),
    waitUntil: (work) => pending.push(work),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const attemptsOf = (userId: string) => handle.db.select().from(matchAttempts).where(eq(matchAttempts.userId, userId));

describe("placing an attempt", () => {
  it("refuses a learner who has not pinged presence, and writes nothing", async () => {
    const silent = await signIn();
    expect(await placeAttempt(deps(), silent.user.id, "B1", new Date())).toEqual({
      status: "refused",
      reason: "offline",
    });
    expect(await attemptsOf(silent.user.id)).toEqual([]);
  });

  it("refuses a learner in a session, naming it, and queues nothing", async () => {
    const [one, two] = await Promise.all([learner("B2", "Placed One"), learner("B2", "Placed Two")]);
    const sessionId = await sessionBetween(handle, one, two);
    expect(await placeAttempt(deps(), one.user.id, "B2", new Date())).toEqual({
      status: "refused",
      reason: "in-session",
      sessionId,
    });
    expect((await attemptsOf(one.user.id)).filter((attempt) => attempt.status === "queued")).toEqual([]);
  });

  it("refuses a second level while one attempt waits, naming the waiting attempt", async () => {
    const waiting = await learner("C1", "Placed Waiting");
    const [queued] = await handle.db
      .insert(matchAttempts)
      .values({ userId: waiting.user.id, level: "C1", status: "queued" })
      .returning();
    expect(await placeAttempt(deps(), waiting.user.id, "C2", new Date())).toEqual({
      status: "refused",
      reason: "queued-elsewhere",
      attemptId: queued?.id,
      level: "C1",
    });
    // No object holds it: left queued, the sweep would hand it to the C1 queue other files fill.
    await handle.db.update(matchAttempts).set({ status: "cancelled" }).where(eq(matchAttempts.userId, waiting.user.id));
  });

  it("withdraws an attempt whose hand-off the Matchmaker did not answer, and the late hand-off does not queue it", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const unlucky = await learner("A2", "Placed Unlucky");
    // The A2 object takes no calls for 1.5 s: a stalled Durable Object.
    const stub = env.MATCHMAKER.get(env.MATCHMAKER.idFromName("A2"));
    const stalled = runInDurableObject(stub, (_, state) => state.blockConcurrencyWhile(() => sleep(1500)));
    await sleep(50);
    const outcome = await placeAttempt(deps(200), unlucky.user.id, "A2", new Date()).catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(DependencyUnavailableError);
    expect(outcome).toMatchObject({ dependency: "matchmaker" });
    expect((await attemptsOf(unlucky.user.id)).map((attempt) => attempt.status)).toEqual(["cancelled"]);
    await stalled;
    await Promise.all(pending.splice(0));
    const attemptId = (await attemptsOf(unlucky.user.id))[0]?.id ?? "";
    expect(await stub.holds([attemptId])).toEqual([]);
    vi.restoreAllMocks();
  });
});
