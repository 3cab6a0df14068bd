import { afterAll, describe, expect, it } from "vitest";
import { bearer } from "../support/auth";
import { testDatabase } from "../support/db";
import { api, postJson } from "../support/http";
import { learner } from "../support/match";
import { pairInSession, send } from "../support/sessions";

const handle = testDatabase();
afterAll(() => handle.close());

/** The database statements and round trips a response reports in its standard Server-Timing header. */
function databaseUse(response: Response): { statements: number; roundTrips: number } {
  const match = /db;desc="(\d+) statements, (\d+) round trips"/.exec(response.headers.get("server-timing") ?? "");
  if (!match) throw new Error(`no Server-Timing: ${response.headers.get("server-timing")}`);
  return { statements: Number(match[1]), roundTrips: Number(match[2]) };
}

const one = { statements: 1, roundTrips: 1 };

/**
 * What a response reports it cost in all: Upstash's commands, the Durable Object calls it started
 * and the round trips it made one after another.
 */
function totalUse(response: Response): { redisCommands: number; objectCalls: number; roundTrips: number } {
  const timing = response.headers.get("server-timing") ?? "";
  const redis = /redis;desc="(\d+) requests, (\d+) commands"/.exec(timing);
  const objects = /do;desc="(\d+) calls"/.exec(timing);
  const total = /total;desc="(\d+) round trips"/.exec(timing);
  if (!redis || !objects || !total) throw new Error(`no Server-Timing: ${timing}`);
  return { redisCommands: Number(redis[2]), objectCalls: Number(objects[1]), roundTrips: Number(total[1]) };
}

describe("database round trips on the hot routes", () => {
  it("is one statement in one round trip for GET /me, a send, a message page and a search, none for /health", async () => {
    const { a, sessionId } = await pairInSession(handle);
    expect(databaseUse(await api("/health"))).toEqual({ statements: 0, roundTrips: 0 });
    expect(databaseUse(await api("/me", { headers: bearer(a) }))).toEqual(one);
    expect(databaseUse(await send(a, sessionId, { type: "text", text: "counting statements" }))).toEqual(one);
    expect(databaseUse(await api(`/sessions/${sessionId}/messages`, { headers: bearer(a) }))).toEqual(one);
    expect(databaseUse(await api("/messages/search?q=counting", { headers: bearer(a) }))).toEqual(one);
  });

  it("is one round trip in all for GET /me, a page and a search, two for a send and for an attempt", async () => {
    const { a, sessionId } = await pairInSession(handle);
    // Reads: the token's revocation read goes out with the statement.
    const read = { redisCommands: 1, objectCalls: 0, roundTrips: 1 };
    expect(totalUse(await api("/me", { headers: bearer(a) }))).toEqual(read);
    expect(totalUse(await api(`/sessions/${sessionId}/messages`, { headers: bearer(a) }))).toEqual(read);
    expect(totalUse(await api("/messages/search?q=counting", { headers: bearer(a) }))).toEqual(read);
    // A send: the revocation read with the rate limit (its count and its guard), then the statement,
    // then the push to the session's room after the answer.
    const sent = await send(a, sessionId, { type: "text", text: "counting round trips" });
    expect(totalUse(sent)).toEqual({ redisCommands: 3, objectCalls: 1, roundTrips: 2 });
    // A presence ping: the revocation read with the profile's level, then the ping's pipeline.
    const pinged = await api("/presence/ping", { method: "POST", headers: bearer(a) });
    expect(totalUse(pinged)).toEqual({ redisCommands: 9, objectCalls: 0, roundTrips: 2 });

    // An attempt: presence too goes with them; then the statement (and the matchmaker, not counted).
    const counted = await learner("C2", "counted-in-all");
    const queued = await postJson("/match/attempt", { desired_level: "C2" }, { headers: bearer(counted) });
    expect(queued.status).toBe(202);
    expect(totalUse(queued)).toEqual({ redisCommands: 4, objectCalls: 1, roundTrips: 2 });
    await api("/match/attempt", { method: "DELETE", headers: bearer(counted) });
  });

  it("is one round trip for a report: the lock on its target and the statement that files it and decides the hold", async () => {
    const { a, b } = await pairInSession(handle);
    const filed = await postJson("/reports", { target_user_id: b.user.id, reason: "spam" }, { headers: bearer(a) });
    expect(filed.status).toBe(201);
    expect(databaseUse(filed).roundTrips).toBe(1);
  });

  it("is one round trip for report-and-leave: the lock on the partner and the statement that reports, blocks and ends", async () => {
    const { a, sessionId } = await pairInSession(handle);
    const left = await postJson(`/sessions/${sessionId}/report-and-leave`, { reason: "spam" }, { headers: bearer(a) });
    expect(left.status).toBe(201);
    expect(databaseUse(left).roundTrips).toBe(1);
    // The revocation read with the rate limit, then the batch; the push to the room after the answer.
    expect(totalUse(left)).toEqual({ redisCommands: 3, objectCalls: 1, roundTrips: 2 });
    const retried = await postJson(
      `/sessions/${sessionId}/report-and-leave`,
      { reason: "spam" },
      { headers: bearer(a) },
    );
    expect(retried.status).toBe(200);
    expect(databaseUse(retried).roundTrips).toBe(1);
  });

  it("pays for a connection only when a request needs an interactive transaction", async () => {
    const { a, sessionId } = await pairInSession(handle);
    const ended = databaseUse(await postJson(`/sessions/${sessionId}/end`, { rating: 5 }, { headers: bearer(a) }));
    // The transaction's statements over one new connection, then the session read back in one round trip.
    expect(ended.roundTrips).toBe(ended.statements + 1);
  });

  it("is one statement for a match attempt: the checks and the new attempt together", async () => {
    const learnerA = await learner("C2", "counted");
    const response = await api("/match/attempt", {
      method: "POST",
      headers: { ...bearer(learnerA), "content-type": "application/json" },
      body: JSON.stringify({ desired_level: "C2" }),
    });
    expect(response.status).toBe(202);
    expect(databaseUse(response)).toEqual(one);
    await api("/match/attempt", { method: "DELETE", headers: bearer(learnerA) });
  });

  it("is two statements when a send has to explain why nothing was stored", async () => {
    const { a, sessionId } = await pairInSession(handle);
    const clientId = crypto.randomUUID();
    await send(a, sessionId, { type: "text", text: "once", client_id: clientId });
    expect(databaseUse(await send(a, sessionId, { type: "text", text: "once", client_id: clientId }))).toEqual({
      statements: 2,
      roundTrips: 2,
    });
  });
});
