import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { and, eq, inArray } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { matchAttempts, sessionParticipants, sessions } from "../../src/db/schema";
import { Matchmaker } from "../../src/durable-objects/matchmaker";
import { pairMany } from "../../src/services/match-store";
import type { QueueEntry, QueueEntryFromRpc } from "../../src/services/matching";
import { bearer, type SignedIn } from "../support/auth";
import { testDatabase } from "../support/db";
import { api, apiWith, postJson } from "../support/http";
import {
  attempt,
  backdateAttempt,
  cancelAttempt,
  eventually,
  type Level,
  learner,
  openMatchSocket,
} from "../support/match";

/*
 * Partners who share interests (SPEC §10): an arrival prefers the waiting learner it shares the
 * most interests with, until a compatible learner has waited 20 s, who then goes first. A level's
 * queue only ever holds learners who cannot be paired with each other, so each test makes two wait
 * side by side with a block between them. The A1 queue (and A2/B1 for the neighbours) is left empty.
 */
const handle = testDatabase();
afterAll(() => handle.close());
const matchmaker = (level: Level) => env.MATCHMAKER.get(env.MATCHMAKER.idFromName(level));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function endSessions(...sessionIds: (string | undefined)[]) {
  const ids = sessionIds.filter((id): id is string => id !== undefined);
  if (ids.length === 0) return;
  await handle.db.update(sessions).set({ status: "ended", endedAt: new Date() }).where(inArray(sessions.id, ids));
}

/** The sessions `who` is in that are still going on. */
async function activeSessionsOf(who: SignedIn): Promise<string[]> {
  const rows = await handle.db
    .select({ id: sessions.id })
    .from(sessionParticipants)
    .innerJoin(sessions, eq(sessions.id, sessionParticipants.sessionId))
    .where(and(eq(sessionParticipants.userId, who.user.id), eq(sessions.status, "active")));
  return rows.map((row) => row.id);
}

/** A queued attempt written straight to the database, and its queue entry as the attempt route makes it. */
async function queuedEntry(who: SignedIn, level: Level, interests: string[]): Promise<QueueEntry> {
  const [row] = await handle.db
    .insert(matchAttempts)
    .values({ userId: who.user.id, level })
    .returning({ id: matchAttempts.id, createdAt: matchAttempts.createdAt });
  if (!row) throw new Error("no attempt");
  return {
    userId: who.user.id,
    attemptId: row.id,
    level,
    displayName: null,
    enqueuedAt: row.createdAt.getTime(),
    blocked: [],
    avoid: [],
    interests,
  };
}

async function sessionView(who: SignedIn, sessionId: string | undefined) {
  const response = await api(`/sessions/${sessionId}`, { headers: bearer(who) });
  expect(response.status).toBe(200);
  return (await response.json()) as { shared_interests: string[] };
}

/** Two learners waiting side by side at `level`, the first longer: the second blocked the first. */
async function twoWaiting(level: Level, first: [string, string[]], second: [string, string[]]) {
  const longer = await learner(level, first[0], first[1]);
  const newer = await learner(level, second[0], second[1]);
  const blocked = await api(`/users/${longer.user.id}/block`, { method: "POST", headers: bearer(newer) });
  expect(blocked.status).toBe(204);
  expect((await attempt(longer, level)).status).toBe(202);
  expect((await attempt(newer, level)).status).toBe(202);
  return { longer, newer };
}

describe("partners who share interests", () => {
  it("pairs an arrival with the waiting learner it shares the most with, and tells both what they share", async () => {
    const { longer, newer } = await twoWaiting(
      "A1",
      ["cooks", ["cooking", "gardening"]],
      ["fan", ["music", "football"]],
    );
    const socket = await openMatchSocket(newer, "A1");
    const arrival = await learner("A1", "arrival", ["football", "films", "music"]);
    const matched = await attempt(arrival, "A1");
    expect(matched.status).toBe(200);
    expect(matched.body.partner?.id).toBe(newer.user.id);
    expect(matched.body.shared_interests).toEqual(["football", "music"]);
    // A learner whose socket dropped learns them from the session, which both see the same.
    expect((await sessionView(newer, matched.body.session_id)).shared_interests).toEqual(["football", "music"]);
    expect((await sessionView(arrival, matched.body.session_id)).shared_interests).toEqual(["football", "music"]);
    await eventually(() => socket.received.length > 0, "the matched push");
    expect(socket.received[0]).toMatchObject({
      type: "matched",
      partner: { id: arrival.user.id },
      shared_interests: ["football", "music"],
    });
    socket.socket.close();

    // The learner who waited longer still goes to the next arrival; sharing nothing is an empty list.
    const next = await learner("A1", "next", ["chess"]);
    const second = await attempt(next, "A1");
    expect(second.body.partner?.id).toBe(longer.user.id);
    expect(second.body.shared_interests).toEqual([]);
    await endSessions(matched.body.session_id, second.body.session_id);
  });

  it("gives a learner who has waited 20 s the next arrival, however much another shares with it", async () => {
    const { longer, newer } = await twoWaiting("A1", ["patient", ["art"]], ["kindred", ["books", "travel"]]);
    await backdateAttempt(handle.db, "A1", longer, 20_500);
    const arrival = await learner("A1", "traveller", ["books", "travel"]);
    const matched = await attempt(arrival, "A1");
    expect(matched.body.partner?.id).toBe(longer.user.id);
    expect(matched.body.shared_interests).toEqual([]);
    await cancelAttempt(newer);
    await endSessions(matched.body.session_id);
  });

  it("weighs interests across levels too: a widened learner is paired with the neighbour sharing more", async () => {
    const widened = await learner("A2", "widened", ["science", "tech"]);
    const socket = await openMatchSocket(widened, "A2");
    const below = await learner("A1", "below", ["art"]);
    const above = await learner("B1", "above", ["tech"]);
    for (const [who, level] of [
      [widened, "A2"],
      [below, "A1"],
      [above, "B1"],
    ] as [SignedIn, Level][]) {
      expect((await attempt(who, level)).status).toBe(202);
    }
    // The A2 learner has waited past the first widening; the two neighbours only just came.
    await backdateAttempt(handle.db, "A2", widened, 31_000);
    expect(await runDurableObjectAlarm(matchmaker("A2"))).toBe(true);
    await eventually(() => socket.received.length > 0, "the matched push");
    expect(socket.received[0]).toMatchObject({
      type: "matched",
      partner: { id: above.user.id, level: "B1" },
      shared_interests: ["tech"],
    });
    socket.socket.close();
    await cancelAttempt(below);
    await endSessions((socket.received[0] as { session_id?: string }).session_id);
  });

  it("keeps the queue of an object stored before interests were kept, and pairs from it", async () => {
    const waiting = await learner("A1", "stored-before", ["music"]);
    expect((await attempt(waiting, "A1")).status).toBe(202);
    await runInDurableObject(matchmaker("A1"), (_, state) => {
      state.storage.sql.exec("alter table queue drop column interests");
      const restarted = new Matchmaker(state, env);
      expect(restarted.waiting()).toMatchObject([{ userId: waiting.user.id, interests: [] }]);
    });
    const arrival = await learner("A1", "arrives-after", ["music"]);
    const matched = await attempt(arrival, "A1");
    expect(matched.body.partner?.id).toBe(waiting.user.id);
    // What the object kept from before says nothing about interests; the pair shares none it knows of.
    expect(matched.body.shared_interests).toEqual([]);
    await endSessions(matched.body.session_id);
  });

  it("tells both the interests they shared when they queued, even when the object's answer is lost", async () => {
    const waiting = await learner("A1", "changes-mind", ["music"]);
    const socket = await openMatchSocket(waiting, "A1");
    expect((await attempt(waiting, "A1")).status).toBe(202);
    // Changed while queued: this attempt keeps what it queued with.
    const patched = await postJson("/me", { interests: ["art"] }, { method: "PATCH", headers: bearer(waiting) });
    expect(patched.status).toBe(200);
    // The object commits the pair but answers after the arrival's request has given up on it.
    await runInDurableObject(matchmaker("A1"), (instance: Matchmaker) => {
      const completeMatch = instance.completeMatch.bind(instance);
      instance.completeMatch = async (attemptId, event) => {
        await completeMatch(attemptId, event);
        await sleep(600);
      };
    });
    try {
      const arrival = await learner("A1", "arrives-late", ["art", "music"]);
      const response = await apiWith({ DEADLINE_DURABLE_OBJECT_MS: "250" }, "/match/attempt", {
        method: "POST",
        headers: { ...bearer(arrival), "content-type": "application/json" },
        body: JSON.stringify({ desired_level: "A1" }),
      });
      expect(response.status).toBe(200);
      const answer = (await response.json()) as { session_id: string; shared_interests: string[] };
      await eventually(() => socket.received.length > 0, "the matched push");
      expect(answer.shared_interests).toEqual(["music"]);
      expect(socket.received[0]).toMatchObject({ session_id: answer.session_id, shared_interests: ["music"] });
      expect((await sessionView(arrival, answer.session_id)).shared_interests).toEqual(["music"]);
      await endSessions(answer.session_id);
    } finally {
      await sleep(700);
      await runInDurableObject(matchmaker("A1"), (instance: Matchmaker) => {
        Reflect.deleteProperty(instance, "completeMatch");
      });
      socket.socket.close();
    }
  });

  it("matches an interest however it was typed: composed or not, full-width or not", async () => {
    const waiting = await learner("A1", "decomposed", ["cafe\u0301", "ｆｏｏｔｂａｌｌ"]);
    expect((await attempt(waiting, "A1")).status).toBe(202);
    const arrival = await learner("A1", "composed", ["caf\u00e9", "football"]);
    const matched = await attempt(arrival, "A1");
    expect(matched.body.partner?.id).toBe(waiting.user.id);
    expect(matched.body.shared_interests).toEqual(["caf\u00e9", "football"]);
    await endSessions(matched.body.session_id);
  });
});

describe("an attempt handed over more than once", () => {
  it("is paired once when two hand-offs of it reach the object together, and both get the answer", async () => {
    const { longer, newer } = await twoWaiting("A1", ["one-of-two", ["music"]], ["other-of-two", ["art"]]);
    const twoDevices = await learner("A1", "phone-and-laptop", ["art"]);
    const entry = await queuedEntry(twoDevices, "A1", ["art"]);
    const results = await runInDurableObject(matchmaker("A1"), (instance: Matchmaker) =>
      Promise.all([instance.enqueue({ ...entry }), instance.enqueue({ ...entry })]),
    );
    const sessionIds = await activeSessionsOf(twoDevices);
    expect(sessionIds).toHaveLength(1);
    expect(results).toEqual([
      expect.objectContaining({ status: "matched", sessionId: sessionIds[0] }),
      expect.objectContaining({ status: "matched", sessionId: sessionIds[0] }),
    ]);
    await endSessions(...sessionIds);
    await cancelAttempt(results[0]?.status === "matched" && results[0].partner.id === newer.user.id ? longer : newer);
  });

  it("is refused by the pairing statement itself when one statement proposes it twice", async () => {
    const [a, b, c] = await Promise.all([learner("A1", "in-two"), learner("A1", "first"), learner("A1", "second")]);
    const [entryA, entryB, entryC] = await Promise.all([
      queuedEntry(a, "A1", []),
      queuedEntry(b, "A1", []),
      queuedEntry(c, "A1", []),
    ]);
    const pair = (other: QueueEntry) => ({
      sessionId: crypto.randomUUID(),
      level: "A1" as const,
      attempts: [entryA.attemptId, other.attemptId] as [string, string],
      users: [a.user.id, other.userId] as [string, string],
      sharedInterests: [],
    });
    const created = await pairMany(handle.db, [pair(entryB), pair(entryC)], new Date());
    expect(created.size).toBe(0);
    expect(await activeSessionsOf(a)).toEqual([]);
    await handle.db.delete(matchAttempts).where(inArray(matchAttempts.userId, [a.user.id, b.user.id, c.user.id]));
  });
});

describe("a deploy, while Workers and objects run two versions", () => {
  it("pairs an entry sent without interests by the previous version, as sharing none", async () => {
    const waiting = await learner("A1", "new-version", ["music"]);
    expect((await attempt(waiting, "A1")).status).toBe(202);
    const old = await learner("A1", "old-version", ["music"]);
    const { interests: _notSent, ...oldShape } = await queuedEntry(old, "A1", ["music"]);
    const result = await runInDurableObject(matchmaker("A1"), (instance: Matchmaker) =>
      instance.enqueue(oldShape satisfies QueueEntryFromRpc),
    );
    expect(result).toMatchObject({ status: "matched", partner: { id: waiting.user.id }, sharedInterests: [] });
    if (result.status === "matched") await endSessions(result.sessionId);
  });

  it("pairs with a neighbour's offer sent without interests, and tells both", async () => {
    const widened = await learner("A2", "widened-new", ["tech"]);
    const socket = await openMatchSocket(widened, "A2");
    const above = await learner("B1", "above-old", ["tech"]);
    expect((await attempt(widened, "A2")).status).toBe(202);
    const aboveAttempt = await attempt(above, "B1");
    expect(aboveAttempt.status).toBe(202);
    await backdateAttempt(handle.db, "A2", widened, 31_000);
    await backdateAttempt(handle.db, "B1", above, 31_000);
    // The B1 object still runs the previous version: the entries it offers carry no interests.
    await runInDurableObject(matchmaker("B1"), (instance: Matchmaker) => {
      const waiting = instance.waiting.bind(instance);
      instance.waiting = () => waiting().map(({ interests: _notKept, ...oldShape }) => oldShape as QueueEntry);
    });
    try {
      expect(await runDurableObjectAlarm(matchmaker("A2"))).toBe(true);
      await eventually(() => socket.received.length > 0, "the matched push");
      expect(socket.received[0]).toMatchObject({ partner: { id: above.user.id }, shared_interests: [] });
      expect((await matchmaker("A2").waiting()).map((entry) => entry.userId)).not.toContain(widened.user.id);
      expect(await matchmaker("B1").holds([aboveAttempt.body.attempt_id])).toEqual([]);
      await endSessions(socket.received[0]?.session_id as string | undefined);
    } finally {
      await runInDurableObject(matchmaker("B1"), (instance: Matchmaker) => {
        Reflect.deleteProperty(instance, "waiting");
      });
      socket.socket.close();
    }
  });
});
