import { describe, expect, it } from "vitest";
import { bearer, signIn } from "../support/auth";
import { api, apiWith, readProblem } from "../support/http";
import { attempt, cancelAttempt, eventually, learner, matchStatus, openMatchSocket } from "../support/match";
import { withinOneWindow } from "../support/windows";

describe("POST /match/attempt", () => {
  it("pairs two users of one level into one session; the one who waited gets the push", async () => {
    const waiting = await learner("C1", "Aziza");
    const arriving = await learner("C1", "Bobur");
    const socket = await openMatchSocket(waiting, "C1");

    const first = await attempt(waiting, "C1");
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ status: "queued", attempt_id: expect.any(String) });

    const second = await attempt(arriving, "C1");
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({
      status: "matched",
      session_id: expect.any(String),
      partner: { id: waiting.user.id, display_name: "Aziza", level: "C1" },
      topic: { level: "C1", title: expect.any(String) },
    });

    await eventually(() => socket.received.length > 0, "the matched push");
    // Both learners talk about the same topic: the one the session was made with.
    expect(socket.received[0]).toEqual({
      type: "matched",
      attempt_id: first.body.attempt_id,
      session_id: second.body.session_id,
      partner: { id: arriving.user.id, display_name: "Bobur", level: "C1" },
      band: ["C1"],
      topic: second.body.topic,
      shared_interests: [],
    });
    expect(await matchStatus(waiting)).toMatchObject({
      status: "matched",
      attempt_id: first.body.attempt_id,
      session_id: second.body.session_id,
    });
  });

  it("is idempotent while queued: asking again returns the same attempt", async () => {
    const session = await learner("A1");
    const first = await attempt(session, "A1");
    const again = await attempt(session, "A1");
    expect(again.status).toBe(202);
    expect(again.body.attempt_id).toBe(first.body.attempt_id);
    await cancelAttempt(session);
  });

  it("refuses a second level while queued at another", async () => {
    const session = await learner("A1");
    await attempt(session, "A1");
    const other = await api("/match/attempt", {
      method: "POST",
      headers: { ...bearer(session), "content-type": "application/json" },
      body: JSON.stringify({ desired_level: "A2" }),
    });
    expect(other.status).toBe(409);
    expect((await readProblem(other)).code).toBe("ALREADY_QUEUED");
    await cancelAttempt(session);
  });

  it("requires a recent presence ping", async () => {
    const session = await signIn();
    const response = await api("/match/attempt", {
      method: "POST",
      headers: { ...bearer(session), "content-type": "application/json" },
      body: JSON.stringify({ desired_level: "B1" }),
    });
    expect(response.status).toBe(409);
    expect((await readProblem(response)).code).toBe("PRESENCE_REQUIRED");
  });

  it("refuses a user who is still in a session", async () => {
    const a = await learner("A2");
    const b = await learner("A2");
    await attempt(a, "A2");
    const matched = await attempt(b, "A2");
    expect(matched.status).toBe(200);
    const again = await attempt(a, "A2");
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: "ALREADY_IN_SESSION", session_id: matched.body.session_id });
  });

  it("limits attempts per user per minute (429 with Retry-After)", async () => {
    await withinOneWindow(60_000, 8_000);
    const session = await learner("A1");
    // A small limit, so the attempts all fall in one window however slow the machine is.
    const limitedAttempt = () =>
      apiWith({ RATE_LIMIT_MATCH_ATTEMPTS_PER_MIN: "3" }, "/match/attempt", {
        method: "POST",
        headers: { ...bearer(session), "content-type": "application/json" },
        body: JSON.stringify({ desired_level: "A1" }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await limitedAttempt()).status);
    const limited = await limitedAttempt();
    expect([...statuses, limited.status]).toEqual([202, 202, 202, 429]);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    await cancelAttempt(session);
  });

  it("refuses an unknown level with a 400 naming the field", async () => {
    const session = await learner("B1");
    const response = await api("/match/attempt", {
      method: "POST",
      headers: { ...bearer(session), "content-type": "application/json" },
      body: JSON.stringify({ desired_level: "Z9" }),
    });
    expect(response.status).toBe(400);
    expect((await readProblem(response)).errors?.[0]?.field).toBe("body.desired_level");
  });
});

describe("DELETE /match/attempt", () => {
  it("cancels the queued attempt, which then is never matched", async () => {
    const leaving = await learner("C2");
    const queued = await attempt(leaving, "C2");
    expect((await cancelAttempt(leaving)).status).toBe(204);
    expect(await matchStatus(leaving)).toMatchObject({ status: "cancelled", attempt_id: queued.body.attempt_id });
    const arriving = await learner("C2");
    expect((await attempt(arriving, "C2")).status).toBe(202);
    await cancelAttempt(arriving);
  });

  it("answers 404 when nothing is queued, also after the attempt was matched", async () => {
    const session = await learner("C2");
    expect((await cancelAttempt(session)).status).toBe(404);
    const partner = await learner("C2");
    await attempt(session, "C2");
    expect((await attempt(partner, "C2")).status).toBe(200);
    const response = await cancelAttempt(session);
    expect(response.status).toBe(404);
    expect(await matchStatus(session)).toMatchObject({ status: "matched" });
  });
});

describe("GET /match/status", () => {
  it("says none before any attempt, then queued with the band and the time waited", async () => {
    const session = await learner("A2");
    expect(await matchStatus(session)).toEqual({
      status: "none",
      attempt_id: null,
      level: null,
      band: [],
      waited_ms: 0,
    });
    await attempt(session, "A2");
    const status = await matchStatus(session);
    expect(status).toMatchObject({ status: "queued", level: "A2", band: ["A2"] });
    expect(status.waited_ms).toBeGreaterThanOrEqual(0);
    await cancelAttempt(session);
  });
});

describe("GET /match/ws", () => {
  it("refuses a missing or bad token and a plain HTTP request", async () => {
    expect((await api("/match/ws?level=B1", { headers: { Upgrade: "websocket" } })).status).toBe(401);
    expect((await api("/match/ws?level=B1&token=forged", { headers: { Upgrade: "websocket" } })).status).toBe(401);
    const session = await signIn();
    const plain = await api(`/match/ws?level=B1&token=${session.access_token}`);
    expect(plain.status).toBe(426);
  });
});
