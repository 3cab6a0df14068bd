import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { inArray } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { sessions } from "../../src/db/schema";
import { Matchmaker } from "../../src/durable-objects/matchmaker";
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

async function endSessions(...sessionIds: (string | undefined)[]) {
  const ids = sessionIds.filter((id): id is string => id !== undefined);
  await handle.db.update(sessions).set({ status: "ended", endedAt: new Date() }).where(inArray(sessions.id, ids));
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
});
