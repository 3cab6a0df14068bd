import { afterAll, describe, expect, it } from "vitest";
import { bearer, signIn } from "../support/auth";
import { testDatabase } from "../support/db";
import { api, readProblem } from "../support/http";
import { eventually, learner } from "../support/match";
import { endWith, openSessionSocket, pairInSession, sessionBetween } from "../support/sessions";
import { ofType } from "../support/sockets";

const handle = testDatabase();
afterAll(() => handle.close());

interface SessionBody {
  id: string;
  status: string;
  ended_at: string | null;
  duration_sec: number | null;
  partner: { id: string; display_name: string | null } | null;
  my_rating: number | null;
  my_notes: string | null;
}

describe("GET /sessions", () => {
  it("lists my sessions newest first with the partner and my rating, paged 2 + 1 by cursor", async () => {
    const me = await learner("B1", "Me");
    const partners = await Promise.all(["P1", "P2", "P3"].map((name) => learner("B1", name)));
    const ids: string[] = [];
    for (const partner of partners) {
      const id = await sessionBetween(handle, me, partner);
      await endWith(me, id, { rating: 4 });
      ids.push(id);
    }
    type Page = { items: SessionBody[]; next_cursor: string | null };
    const first = (await (await api("/sessions?limit=2", { headers: bearer(me) })).json()) as Page;
    const second = (await (
      await api(`/sessions?limit=2&cursor=${first.next_cursor}`, { headers: bearer(me) })
    ).json()) as Page;
    expect([...first.items, ...second.items].map((item) => item.id)).toEqual([...ids].reverse());
    expect(second.next_cursor).toBeNull();
    expect(first.items[0]).toMatchObject({ partner: { id: partners[2]?.user.id, display_name: "P3" }, my_rating: 4 });
  });

  it("shows nobody else's sessions", async () => {
    await pairInSession(handle);
    const outsider = await signIn();
    expect(await (await api("/sessions", { headers: bearer(outsider) })).json()).toEqual({
      items: [],
      next_cursor: null,
    });
  });
});

describe("GET /sessions/{id}", () => {
  it("shows the session and partner to a participant", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const response = await api(`/sessions/${sessionId}`, { headers: bearer(b) });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      id: sessionId,
      status: "active",
      partner: { id: a.user.id, display_name: "Aziza" },
      my_rating: null,
    });
  });

  it("answers an outsider exactly as it answers an id that does not exist", async () => {
    const { sessionId } = await pairInSession(handle);
    const outsider = await signIn();
    const forOutsider = await api(`/sessions/${sessionId}`, { headers: bearer(outsider) });
    const forNobody = await api(`/sessions/${crypto.randomUUID()}`, { headers: bearer(outsider) });
    expect(forOutsider.status).toBe(404);
    expect(forNobody.status).toBe(404);
    const [one, two] = [await readProblem(forOutsider), await readProblem(forNobody)];
    expect({ ...one, request_id: "" }).toEqual({ ...two, request_id: "" });
  });
});

describe("POST /sessions/{id}/end", () => {
  it("ends the session once, records each participant's own rating, and changes nothing when repeated", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const first = await endWith(a, sessionId, { rating: 5, notes: "Great talk" });
    expect(first.status).toBe(200);
    const ended = (await first.json()) as SessionBody;
    expect(ended).toMatchObject({ status: "ended", my_rating: 5, my_notes: "Great talk" });
    expect(ended.ended_at).not.toBeNull();
    expect(ended.duration_sec).toBeGreaterThanOrEqual(0);

    const again = (await (await endWith(a, sessionId, { rating: 1, notes: "changed my mind" })).json()) as SessionBody;
    expect(again).toEqual(ended);

    const partner = (await (await endWith(b, sessionId, { rating: 3 })).json()) as SessionBody;
    expect(partner).toMatchObject({ status: "ended", ended_at: ended.ended_at, my_rating: 3 });
    const aView = (await (await api(`/sessions/${sessionId}`, { headers: bearer(a) })).json()) as SessionBody;
    expect(aView.my_rating).toBe(5);
  });

  it("tells both clients in the live room that the session ended", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const socket = await openSessionSocket(b, sessionId);
    await endWith(a, sessionId, { rating: 4 });
    await eventually(() => ofType(socket, "ended").length > 0, "the ended event");
    expect(ofType(socket, "ended")[0]).toMatchObject({ type: "ended", session_id: sessionId, ended_by: a.user.id });
  });

  it("refuses a rating outside 1–5 and an outsider", async () => {
    const { a, sessionId } = await pairInSession(handle);
    const bad = await endWith(a, sessionId, { rating: 6 });
    expect(bad.status).toBe(400);
    expect((await readProblem(bad)).errors?.[0]?.field).toBe("body.rating");
    const outsider = await signIn();
    expect((await endWith(outsider, sessionId, { rating: 3 })).status).toBe(404);
    const still = (await (await api(`/sessions/${sessionId}`, { headers: bearer(a) })).json()) as SessionBody;
    expect(still.status).toBe("active");
  });
});

describe("streaks and badges after a session", () => {
  it("show a streak of 1 and FIRST_CHAT for both participants, once even when both end at once", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const [ra, rb] = await Promise.all([endWith(a, sessionId, { rating: 5 }), endWith(b, sessionId, { rating: 4 })]);
    expect([ra.status, rb.status]).toEqual([200, 200]);
    for (const who of [a, b]) {
      const streak = await (await api("/me/streaks", { headers: bearer(who) })).json();
      expect(streak).toMatchObject({
        current: 1,
        longest: 1,
        last_active_date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
      });
      const badges = (await (await api("/me/badges", { headers: bearer(who) })).json()) as {
        items: { badge: string }[];
      };
      expect(badges.items.map((item) => item.badge)).toEqual(["FIRST_CHAT"]);
    }
  });

  it("start empty", async () => {
    const me = await signIn();
    expect(await (await api("/me/streaks", { headers: bearer(me) })).json()).toEqual({
      current: 0,
      longest: 0,
      last_active_date: null,
    });
    expect(await (await api("/me/badges", { headers: bearer(me) })).json()).toEqual({ items: [] });
  });
});
