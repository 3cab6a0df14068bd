import { runInDurableObject } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { sessions, sessionTopics, topics } from "../../src/db/schema";
import type { TopicView } from "../../src/services/topics";
import { bearer, type SignedIn } from "../support/auth";
import { next, room } from "../support/calls";
import { testDatabase } from "../support/db";
import { api, postJson } from "../support/http";
import { attempt, type Level, learner } from "../support/match";
import { endWith, openSessionSocket, sessionBetween } from "../support/sessions";
import { ofType } from "../support/sockets";

/*
 * Every session starts with something to talk about (SPEC §10): a topic of its level, preferring
 * the interests both learners share, never one either had in their last ten sessions. Learners
 * are paired through the public API, as the app pairs them.
 */

const handle = testDatabase();
afterAll(() => handle.close());

async function withInterests(level: Level, interests: string[]): Promise<SignedIn> {
  const who = await learner(level);
  const patched = await postJson("/me", { interests }, { method: "PATCH", headers: bearer(who) });
  expect(patched.status).toBe(200);
  return who;
}

/** Pairs `waiting` with `arriving` and answers the session's id and the topic the answer named. */
async function pair(level: Level, waiting: SignedIn, arriving: SignedIn) {
  expect((await attempt(waiting, level)).status).toBe(202);
  const matched = await attempt(arriving, level);
  expect(matched.status).toBe(200);
  const sessionId = matched.body.session_id ?? "";
  return { sessionId, topic: matched.body.topic ?? null };
}

async function topicOf(who: SignedIn, sessionId: string): Promise<TopicView | null> {
  const response = await api(`/sessions/${sessionId}`, { headers: bearer(who) });
  expect(response.status).toBe(200);
  return ((await response.json()) as { topic: TopicView | null }).topic;
}

describe("a new session's topic", () => {
  it("is one of its level, the same for both learners, in the matched answer and in GET /sessions/{id}", async () => {
    const [a, b] = [await learner("A2"), await learner("A2")];
    const { sessionId, topic } = await pair("A2", a, b);
    expect(topic).toMatchObject({ level: "A2", title: expect.any(String) });
    expect(topic?.prompts.length).toBeGreaterThanOrEqual(3);
    expect(topic?.prompts.length).toBeLessThanOrEqual(5);
    expect(await topicOf(a, sessionId)).toEqual(topic);
    expect(await topicOf(b, sessionId)).toEqual(topic);
  });

  it("prefers the topic whose tags share the most of the interests both learners share", async () => {
    // Of the C2 topics only "Animals and our plates" is tagged both animals and philosophy.
    const a = await withInterests("C2", ["philosophy", "animals", "chess"]);
    const b = await withInterests("C2", ["animals", "philosophy", "knitting"]);
    const { sessionId, topic } = await pair("C2", a, b);
    expect(topic?.title).toBe("Animals and our plates");
    expect(topic?.tags).toEqual(expect.arrayContaining(["animals", "philosophy"]));
    await endWith(a, sessionId, { rating: 5 });
  });

  it("is never one either learner had in their last ten sessions, even one their interests prefer", async () => {
    const regular = await withInterests("B1", ["books"]);
    const seen: TopicView[] = [];
    for (let round = 0; round < 3; round += 1) {
      const partner = await withInterests("B1", ["books"]);
      const { sessionId, topic } = await pair("B1", partner, regular);
      expect(topic?.level).toBe("B1");
      expect(seen.map((earlier) => earlier.id)).not.toContain(topic?.id);
      if (topic) seen.push(topic);
      await endWith(regular, sessionId, { rating: 4 });
    }
    // Every partner shared "books" with the regular: the only B1 topic tagged so came first, and
    // never again, though it stayed the one their interests preferred.
    expect(seen.map((topic) => topic.title)[0]).toBe("A book or story I love");
    expect(seen).toHaveLength(3);
  });

  it("when every topic of the level is recent, is the one had longest ago, not the one the interests prefer", async () => {
    const a = await withInterests("C1", ["football"]);
    const b = await withInterests("C1", ["football"]);
    const level = await handle.db
      .select({ id: topics.id, title: topics.title })
      .from(topics)
      .where(and(eq(topics.level, "C1"), eq(topics.active, true)));
    // One earlier session of `a` that went through every C1 topic, the football one last.
    const earlier = await sessionBetween(handle, a, await learner("C1"));
    await handle.db.update(sessions).set({ level: "C1", status: "ended" }).where(eq(sessions.id, earlier));
    const ordered = [
      ...level.filter((topic) => topic.title !== "Sport and national pride"),
      ...level.filter((topic) => topic.title === "Sport and national pride"),
    ];
    const start = Date.now() - 60 * 60_000;
    await handle.db.insert(sessionTopics).values(
      ordered.map((topic, position) => ({
        sessionId: earlier,
        position,
        topicId: topic.id,
        chosenAt: new Date(start + position * 60_000),
      })),
    );
    const { sessionId, topic } = await pair("C1", a, b);
    expect(topic?.id).toBe(ordered[0]?.id);
    await endWith(a, sessionId, { rating: 4 });
  });
});

describe("topic.next on the session socket", () => {
  /** Two learners paired at A1 through the API, both in the session's room. */
  async function inTopicRoom() {
    const [a, b] = [await learner("A1"), await learner("A1")];
    const { sessionId, topic } = await pair("A1", a, b);
    const aSocket = await openSessionSocket(a, sessionId);
    await next(aSocket, "room");
    const bSocket = await openSessionSocket(b, sessionId);
    await next(bSocket, "room");
    return { a, b, sessionId, first: topic, aSocket, bSocket };
  }

  it("moves both learners on to another topic of the level, recorded for GET /sessions/{id}", async () => {
    const { a, b, sessionId, first, aSocket, bSocket } = await inTopicRoom();
    aSocket.send({ type: "topic.next" });
    const forA = await next(aSocket, "topic");
    const forB = await next(bSocket, "topic");
    expect(forB).toEqual(forA);
    expect(forA).toMatchObject({ topic: { level: "A1" }, chosen_by: a.user.id });
    const changed = forA.topic as TopicView;
    expect(changed.id).not.toBe(first?.id);
    expect(await topicOf(b, sessionId)).toEqual(changed);
    await endWith(a, sessionId, { rating: 5 });
  });

  it("changes at most once every 20 s per session, whoever asks; a refusal says when, and changes nothing", async () => {
    const { a, b, sessionId, aSocket, bSocket } = await inTopicRoom();
    aSocket.send({ type: "topic.next" });
    const changed = (await next(bSocket, "topic")).topic as TopicView;
    bSocket.send({ type: "topic.next" });
    const refused = await next(bSocket, "error");
    expect(refused).toMatchObject({ code: "RATE_LIMITED", retry_after_sec: expect.any(Number) });
    expect(refused.retry_after_sec).toBeGreaterThan(0);
    expect(refused.retry_after_sec).toBeLessThanOrEqual(20);
    expect(ofType(aSocket, "topic")).toHaveLength(1);
    expect(await topicOf(a, sessionId)).toEqual(changed);
    // Once 20 s have passed, the other learner may move on.
    await runInDurableObject(room(sessionId), (_, state) => {
      state.storage.sql.exec("update topic_change set at = at - 20000");
    });
    bSocket.send({ type: "topic.next" });
    expect(await next(aSocket, "topic", 2)).toMatchObject({ chosen_by: b.user.id });
    await endWith(a, sessionId, { rating: 5 });
  });

  it("on a session that ended without the room being told, tells everyone it ended", async () => {
    const { a, sessionId, aSocket, bSocket } = await inTopicRoom();
    const endedAt = new Date(Date.now() - 5000);
    await handle.db.update(sessions).set({ status: "ended", endedAt }).where(eq(sessions.id, sessionId));
    aSocket.send({ type: "topic.next" });
    expect(await next(aSocket, "error")).toMatchObject({ code: "SESSION_ENDED" });
    for (const socket of [aSocket, bSocket]) {
      expect(await next(socket, "ended")).toMatchObject({ session_id: sessionId, ended_at: endedAt.toISOString() });
    }
    expect(ofType(bSocket, "topic")).toEqual([]);
    expect((await topicOf(a, sessionId))?.id).toBeDefined();
  });

  it("is refused once the session has ended, and the topic stays", async () => {
    const { a, b, sessionId, bSocket } = await inTopicRoom();
    const before = await topicOf(a, sessionId);
    expect((await endWith(a, sessionId, { rating: 3 })).status).toBe(200);
    await next(bSocket, "ended");
    bSocket.send({ type: "topic.next" });
    expect(await next(bSocket, "error")).toMatchObject({ code: "SESSION_ENDED" });
    expect(await topicOf(b, sessionId)).toEqual(before);
  });
});
