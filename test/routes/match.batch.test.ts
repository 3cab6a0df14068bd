import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq, inArray } from "drizzle-orm";
import { afterAll, describe, expect, it, vi } from "vitest";
import { matchAttempts, sessions } from "../../src/db/schema";
import type { Level } from "../../src/db/schema/enums";
import type { EnqueueResult, Matchmaker } from "../../src/durable-objects/matchmaker";
import type { QueueEntry } from "../../src/services/matching";
import type { SignedIn } from "../support/auth";
import { testDatabase } from "../support/db";
import {
  attempt,
  cancelAttempt,
  eventually,
  learner,
  matchStatus,
  openMatchSocket,
  attemptRow as writeAttempt,
} from "../support/match";

/*
 * One pass of the C1 object over a batch of arrivals: pairs with its own queue, duplicate
 * hand-offs, cancelled arrivals, and a pass that fails after it has paired some.
 */
const handle = testDatabase();
afterAll(() => handle.close());
const matchmaker = (level: Level) => env.MATCHMAKER.get(env.MATCHMAKER.idFromName(level));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const attemptRow = (who: SignedIn, level: Level, status: "queued" | "cancelled") =>
  writeAttempt(handle.db, who, level, status);

function entryFor(who: SignedIn, row: { id: string; createdAt: Date }, level: Level): QueueEntry {
  return {
    userId: who.user.id,
    attemptId: row.id,
    level,
    displayName: null,
    enqueuedAt: row.createdAt.getTime(),
    blocked: [],
    avoid: [],
    interests: [],
  };
}

async function endSessionsOf(ids: (string | undefined)[]) {
  const known = ids.filter((id): id is string => Boolean(id));
  if (known.length > 0)
    await handle.db.update(sessions).set({ status: "ended", endedAt: new Date() }).where(inArray(sessions.id, known));
}

describe("one pass over a batch", () => {
  it("reads the withdrawn attempts of a large batch in one query", async () => {
    const ids = Array.from({ length: 5000 }, () => crypto.randomUUID());
    const picked = [ids[0], ids[2500], ids[4999]] as string[];
    const found = await runInDurableObject(matchmaker("C1"), (instance, state) => {
      for (const id of picked)
        state.storage.sql.exec("insert into withdrawn (attempt_id, withdrawn_at) values (?, ?)", id, Date.now());
      const among = (instance as unknown as { withdrawnAmong(ids: string[]): Set<string> }).withdrawnAmong([
        ...ids,
        ...ids.slice(0, 10),
        "x'); drop table queue; --",
      ]);
      for (const id of picked) state.storage.sql.exec("delete from withdrawn where attempt_id = ?", id);
      return [...among].sort();
    });
    expect(found).toEqual([...picked].sort());
  });

  it("serves a duplicate hand-off, a cancelled arrival and a partner from the queue on two devices", async () => {
    const waiting = await learner("C1", "queued-two-devices");
    const phone = await openMatchSocket(waiting, "C1");
    const laptop = await openMatchSocket(waiting, "C1");
    const queued = await attempt(waiting, "C1");
    expect(queued.status).toBe(202);

    const arriving = await learner("C1", "arrives-twice");
    const arrivingRow = await attemptRow(arriving, "C1", "queued");
    const gone = await learner("C1", "cancelled-in-batch");
    const goneRow = await attemptRow(gone, "C1", "cancelled");
    await matchmaker("C1").cancel(goneRow.id);
    const alone = await learner("C1", "left-alone-in-batch");
    const aloneRow = await attemptRow(alone, "C1", "queued");

    const results = await runInDurableObject(matchmaker("C1"), (instance) =>
      Promise.all([
        instance.enqueue(entryFor(arriving, arrivingRow, "C1")),
        instance.enqueue(entryFor(gone, goneRow, "C1")),
        instance.enqueue(entryFor(arriving, arrivingRow, "C1")),
        instance.enqueue(entryFor(alone, aloneRow, "C1")),
      ]),
    );
    expect(results[0]).toMatchObject({ status: "matched", partner: { id: waiting.user.id } });
    expect(results[2]).toEqual(results[0]);
    expect(results[1]).toEqual({ status: "withdrawn" });
    expect(results[3]).toEqual({ status: "queued" });
    const held = (await matchmaker("C1").waiting()).map((entry) => entry.attemptId);
    expect(held).not.toContain(queued.body.attempt_id);
    expect(held).toContain(aloneRow.id);
    await eventually(() => phone.received.length > 0 && laptop.received.length > 0, "both devices told");
    for (const device of [phone, laptop])
      expect(device.received).toEqual([
        expect.objectContaining({
          type: "matched",
          attempt_id: queued.body.attempt_id,
          session_id: results[0]?.status === "matched" ? results[0].sessionId : "",
        }),
      ]);
    expect(await runInDurableObject(matchmaker("C1"), (_, state) => state.storage.getAlarm())).not.toBeNull();
    await cancelAttempt(alone);
    await endSessionsOf([results[0]?.status === "matched" ? results[0].sessionId : undefined]);
  });

  it("a pass that fails after pairing: the pair keeps its answer, its partner leaves the queue, the log names it", async () => {
    const waiting = await learner("C1", "paired-before-failure");
    const socket = await openMatchSocket(waiting, "C1");
    const queued = await attempt(waiting, "C1");
    const arriving = await learner("C1", "pairs-before-failure");
    const arrivingRow = await attemptRow(arriving, "C1", "queued");
    const unlucky = await learner("C1", "fails-after-pair");
    const unluckyRow = await attemptRow(unlucky, "C1", "queued");
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    try {
      const results = await runInDurableObject(matchmaker("C1"), async (instance) => {
        (instance as unknown as { pairWithSomeone: () => Promise<EnqueueResult> }).pairWithSomeone = async () => {
          throw new Error("the database went away mid-pass");
        };
        try {
          return await Promise.allSettled([
            instance.enqueue(entryFor(arriving, arrivingRow, "C1")),
            instance.enqueue(entryFor(unlucky, unluckyRow, "C1")),
          ]);
        } finally {
          Reflect.deleteProperty(instance as Matchmaker, "pairWithSomeone");
        }
      });
      expect(results[0]).toMatchObject({ status: "fulfilled", value: { status: "matched" } });
      expect(results[1]).toMatchObject({ status: "rejected" });
      const held = (await matchmaker("C1").waiting()).map((entry) => entry.attemptId);
      expect(held).not.toContain(queued.body.attempt_id);
      expect(held).not.toContain(unluckyRow.id);
      await eventually(() => socket.received.length > 0, "the queued partner told");
      const sessionId =
        results[0]?.status === "fulfilled" && results[0].value.status === "matched" ? results[0].value.sessionId : "";
      expect(socket.received[0]).toMatchObject({ type: "matched", session_id: sessionId });
      expect(lines.some((line) => line.includes('"msg":"matched"') && line.includes(sessionId))).toBe(true);
      expect(await matchStatus(waiting)).toMatchObject({ status: "matched", session_id: sessionId });
      await endSessionsOf([sessionId]);
    } finally {
      spy.mockRestore();
      await handle.db.update(matchAttempts).set({ status: "cancelled" }).where(eq(matchAttempts.id, unluckyRow.id));
    }
  });

  it("a pass that fails after the database created its pairs still logs every session it created", async () => {
    const first = await learner("C1", "queued-first");
    const second = await learner("C1", "queued-second");
    // The two waiting learners will not meet each other (as blocks the object knows of).
    const firstRow = await attemptRow(first, "C1", "queued");
    await sleep(5);
    const secondRow = await attemptRow(second, "C1", "queued");
    const waitingResults = await matchmaker("C1").enqueue({
      ...entryFor(first, firstRow, "C1"),
      blocked: [second.user.id],
    });
    expect(waitingResults).toEqual({ status: "queued" });
    expect(await matchmaker("C1").enqueue({ ...entryFor(second, secondRow, "C1"), blocked: [first.user.id] })).toEqual({
      status: "queued",
    });
    const arrivals = [await learner("C1", "arrival-one"), await learner("C1", "arrival-two")];
    const rows = [
      await attemptRow(arrivals[0] as SignedIn, "C1", "queued"),
      await attemptRow(arrivals[1] as SignedIn, "C1", "queued"),
    ];
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    let sessionIds: string[] = [];
    try {
      const results = await runInDurableObject(matchmaker("C1"), async (instance) => {
        const own = instance as unknown as { remove(attemptId: string): void };
        const remove = own.remove.bind(instance);
        // The object's storage fails on the second partner it takes off its queue.
        let calls = 0;
        own.remove = (attemptId: string) => {
          calls += 1;
          if (calls === 2) throw new Error("the object's storage failed");
          remove(attemptId);
        };
        try {
          return await Promise.allSettled(
            rows.map((row, n) => instance.enqueue(entryFor(arrivals[n] as SignedIn, row, "C1"))),
          );
        } finally {
          Reflect.deleteProperty(instance as Matchmaker, "remove");
        }
      });
      expect(results[0]).toMatchObject({ status: "fulfilled", value: { status: "matched" } });
      expect(results[1]).toMatchObject({ status: "rejected" });
      // Both sessions were created by the pass's one statement.
      const statuses = [await matchStatus(first), await matchStatus(second)];
      expect(statuses.map((status) => status.status)).toEqual(["matched", "matched"]);
      sessionIds = statuses.map((status) => String(status.session_id));
      const matchedLines = lines.filter((line) => line.includes('"msg":"matched"'));
      for (const sessionId of sessionIds) expect(matchedLines.some((line) => line.includes(sessionId))).toBe(true);
    } finally {
      spy.mockRestore();
      await matchmaker("C1").drop(secondRow.id);
      await endSessionsOf(sessionIds);
    }
  });
});
