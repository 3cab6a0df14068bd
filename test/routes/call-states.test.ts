import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterAll, afterEach, describe, expect, inject, it, vi } from "vitest";
import { getConfig } from "../../src/config";
import { KeptDatabase } from "../../src/db/kept";
import { calls, sessions } from "../../src/db/schema";
import { closeCodes } from "../../src/durable-objects/socket-hub";
import { callStartLimit } from "../../src/services/call-machine";
import { bearer, type SignedIn } from "../support/auth";
import { callRow, connectedCall, evictionTimeoutMs, frame, inRoom, next, room, sdp, told } from "../support/calls";
import { testDatabase } from "../support/db";
import { api } from "../support/http";
import { eventually } from "../support/match";
import { endWith, openSessionSocket, pairInSession } from "../support/sessions";
import { ofType, type TestSocket } from "../support/sockets";

/*
 * The call's state machine in the session room, under what real conditions bring: both learners
 * pressing Call at once, frames that cross the database round trip of a starting call, several
 * devices on one account, a network drop, a call nobody answers, and a database that is down.
 */
const fixtures = inject("fixtures");
const handle = testDatabase();
afterAll(() => handle.close());
afterEach(() => {
  vi.restoreAllMocks();
});

/** Both sides of a session in its room, named by their role in perfect negotiation. */
async function politeAndImpolite() {
  const sides = await inRoom(handle);
  const aIsPolite = sides.a.user.id < sides.b.user.id;
  const a = { who: sides.a, socket: sides.aSocket };
  const b = { who: sides.b, socket: sides.bSocket };
  return { sessionId: sides.sessionId, polite: aIsPolite ? a : b, impolite: aIsPolite ? b : a };
}

async function sessionCalls(sessionId: string) {
  return handle.db.select().from(calls).where(eq(calls.sessionId, sessionId));
}

const offer = (socket: TestSocket, callId = crypto.randomUUID()) => {
  frame(socket, { type: "call.offer", call_id: callId, sdp: sdp("offer") });
  return callId;
};

/** Runs `statement` on the room's own storage: how a test moves the room's clock back. */
async function ageRoom(sessionId: string, statement: string) {
  await runInDurableObject(room(sessionId), (_, state) => {
    state.storage.sql.exec(statement);
  });
}

/** Moves the room's live call `ms` into the past: started, answered and connected that much earlier. */
const ageCall = (sessionId: string, ms: number) =>
  ageRoom(
    sessionId,
    `update calls set started_at = started_at - ${ms}, answered_at = answered_at - ${ms},
       connected_at = connected_at - ${ms} where ended_at is null`,
  );

/** The absent device of the live call left `ms` after the call connected. */
const leftAfter = (sessionId: string, ms: number) =>
  ageRoom(sessionId, `update absences set since = (select connected_at from calls where ended_at is null) + ${ms}`);

async function badgesOf(who: SignedIn): Promise<string[]> {
  const badges = (await (await api("/me/badges", { headers: bearer(who) })).json()) as { items: { badge: string }[] };
  return badges.items.map((item) => item.badge);
}

describe("both learners pressing Call at once (glare)", () => {
  it("the polite side's ringing call yields to the impolite side's offer, and the impolite side's call connects", async () => {
    const { sessionId, polite, impolite } = await politeAndImpolite();
    const yielded = offer(polite.socket);
    await next(impolite.socket, "call.offer");
    const kept = offer(impolite.socket);

    for (const side of [polite, impolite]) {
      expect(await next(side.socket, "call.ended")).toEqual({
        type: "call.ended",
        call_id: yielded,
        reason: "glare",
        duration_sec: 0,
      });
    }
    expect(await next(polite.socket, "call.offer")).toMatchObject({ call_id: kept, from: impolite.who.user.id });
    frame(polite.socket, { type: "call.answer", call_id: kept, sdp: sdp("answer") });
    await next(impolite.socket, "call.answer");
    frame(polite.socket, { type: "call.connected", call_id: kept });
    frame(impolite.socket, { type: "call.connected", call_id: kept });
    await told(polite.socket, "connected");
    expect(ofType(impolite.socket, "error")).toEqual([]);

    await eventually(async () => (await callRow(handle, kept))?.connectedAt instanceof Date, "the kept call connected");
    await eventually(async () => (await callRow(handle, yielded))?.endReason === "glare", "the yielded call's end");
    expect(await callRow(handle, yielded)).toMatchObject({ endReason: "glare", durationSec: 0, connectedAt: null });
    expect((await sessionCalls(sessionId)).filter((call) => call.endedAt === null).map((call) => call.id)).toEqual([
      kept,
    ]);
  });

  it("the polite side's offer while the impolite side's call rings is refused, naming the call to adopt", async () => {
    const { sessionId, polite, impolite } = await politeAndImpolite();
    const kept = offer(impolite.socket);
    await next(polite.socket, "call.offer");
    const refused = offer(polite.socket);
    expect(await next(polite.socket, "error")).toMatchObject({ code: "CALL_IN_PROGRESS", call_id: kept });
    frame(polite.socket, { type: "call.answer", call_id: kept, sdp: sdp("answer") });
    await next(impolite.socket, "call.answer");
    expect(ofType(impolite.socket, "call.offer")).toEqual([]);
    expect((await sessionCalls(sessionId)).map((call) => call.id)).toEqual([kept]);
    expect(await callRow(handle, refused)).toBeUndefined();
  });

  it("offers that cross leave the impolite side's call, whichever reaches the room first, and no orphan blocks the next call", async () => {
    for (let round = 0; round < 3; round += 1) {
      const { sessionId, polite, impolite } = await politeAndImpolite();
      const yielded = crypto.randomUUID();
      const kept = crypto.randomUUID();
      offer(polite.socket, yielded);
      offer(impolite.socket, kept);
      await eventually(() => ofType(polite.socket, "call.offer").some((o) => o.call_id === kept), "the kept offer");
      expect(ofType(impolite.socket, "error")).toEqual([]);
      // Started before it yielded, or refused: a started one is recorded as ended by glare (Postgres is
      // written after the room's turn, so it may take a moment).
      const yieldedRow = await callRow(handle, yielded);
      if (yieldedRow) {
        await eventually(async () => (await callRow(handle, yielded))?.endReason === "glare", "the yielded call's end");
      }

      frame(impolite.socket, { type: "call.hangup", call_id: kept });
      await eventually(() => ofType(polite.socket, "call.ended").some((e) => e.call_id === kept), "the hang-up");
      const after = offer(polite.socket);
      expect(await next(impolite.socket, "call.offer", yieldedRow ? 2 : 1)).toMatchObject({ call_id: after });
      await eventually(
        async () => (await sessionCalls(sessionId)).every((call) => call.id === after || call.endedAt),
        "every other call ended",
      );
    }
  });
});

describe("frames that cross a starting call's database round trip", () => {
  it("a hang-up sent right after the offer ends the call: the callee stops ringing, and nothing is unknown", async () => {
    const { aSocket, bSocket } = await inRoom(handle);
    const callId = offer(aSocket);
    frame(aSocket, { type: "call.hangup", call_id: callId });
    expect(await next(bSocket, "call.offer")).toMatchObject({ call_id: callId });
    expect(await next(bSocket, "call.ended")).toMatchObject({ call_id: callId, reason: "hangup" });
    expect(ofType(aSocket, "error")).toEqual([]);
    await eventually(async () => (await callRow(handle, callId))?.endReason === "hangup", "the recorded hang-up");
  });

  it("the session ending while an offer is recorded leaves no call going on", async () => {
    const { a, b, sessionId, aSocket } = await inRoom(handle);
    const callId = offer(aSocket);
    expect((await endWith(b, sessionId, { rating: 4 })).status).toBe(200);
    await next(aSocket, "ended");
    await eventually(() => ofType(aSocket, "call.ended", "error").length > 0, "the call's fate");
    const [fate] = ofType(aSocket, "call.ended", "error");
    if (fate?.type === "error") expect(fate).toMatchObject({ code: "SESSION_ENDED" });
    else expect(fate).toMatchObject({ call_id: callId, reason: "session_ended" });
    await eventually(
      async () => (await sessionCalls(sessionId)).every((call) => call.endedAt !== null),
      "no call left ringing",
    );
    const session = (await (await api(`/sessions/${sessionId}`, { headers: bearer(a) })).json()) as {
      calls: { ended_at: string | null }[];
    };
    expect(session.calls.every((call) => call.ended_at !== null)).toBe(true);
  });
});

describe("an ended call", () => {
  it("is immutable: an offer naming it, from either side, is refused with CALL_ENDED and its record stays as it ended", async () => {
    const sides = await inRoom(handle);
    const callId = await connectedCall(sides);
    frame(sides.aSocket, { type: "call.hangup", call_id: callId });
    await eventually(async () => (await callRow(handle, callId))?.endReason === "hangup", "the recorded end");
    const recorded = await callRow(handle, callId);

    // The caller's network came back after the room ended the call, and its ICE restart names it.
    offer(sides.aSocket, callId);
    expect(await next(sides.aSocket, "error")).toMatchObject({ code: "CALL_ENDED", call_id: callId });
    offer(sides.bSocket, callId);
    expect(await next(sides.bSocket, "error")).toMatchObject({ code: "CALL_ENDED", call_id: callId });
    frame(sides.bSocket, { type: "call.connected", call_id: callId });
    expect(await next(sides.bSocket, "error", 2)).toMatchObject({ code: "CALL_ENDED" });
    expect(await callRow(handle, callId)).toEqual(recorded);

    const fresh = offer(sides.aSocket);
    expect(await next(sides.bSocket, "call.offer", 2)).toMatchObject({ call_id: fresh });
  });
});

describe("connected", () => {
  it("needs the answer and both devices' reports: the caller alone, or the callee alone, does not count", async () => {
    const { aSocket, bSocket } = await inRoom(handle);
    const callId = offer(aSocket);
    await next(bSocket, "call.offer");
    frame(aSocket, { type: "call.connected", call_id: callId });
    expect(await next(aSocket, "error")).toMatchObject({ code: "INVALID_FRAME", call_id: callId });

    frame(bSocket, { type: "call.answer", call_id: callId, sdp: sdp("answer") });
    await next(aSocket, "call.answer");
    frame(aSocket, { type: "call.connected", call_id: callId });
    // A candidate after the report reaches the callee once the report was applied (one queue).
    frame(aSocket, { type: "call.ice", call_id: callId, candidate: { candidate: "" } });
    await next(bSocket, "call.ice");
    expect((await callRow(handle, callId))?.connectedAt).toBeNull();
    expect(ofType(aSocket, "call.state").map((state) => state.state)).toEqual(["ringing", "answered"]);

    const reportedAt = Date.now();
    frame(bSocket, { type: "call.connected", call_id: callId });
    for (const socket of [aSocket, bSocket]) {
      expect(await told(socket, "connected")).toMatchObject({ call_id: callId, here: true });
    }
    await eventually(async () => (await callRow(handle, callId))?.connectedAt instanceof Date, "the connection");
    expect((await callRow(handle, callId))?.connectedAt?.getTime()).toBeGreaterThanOrEqual(reportedAt - 5);
  });
});

describe("spoken time", () => {
  it("of a call ended as peer_gone stops when the device left, not when its grace period ran out", async () => {
    const sides = await inRoom(handle);
    const callId = await connectedCall(sides);
    await ageCall(sides.sessionId, 100_000);
    sides.bSocket.socket.close(1000, "network lost");
    await next(sides.aSocket, "peer.left");
    await ageRoom(sides.sessionId, "update absences set since = since - 16000");
    const { connectedAt, since } = await runInDurableObject(room(sides.sessionId), (_, state) => ({
      connectedAt: state.storage.sql.exec<{ at: number }>("select connected_at as at from calls").one().at,
      since: state.storage.sql.exec<{ at: number }>("select since as at from absences").one().at,
    }));
    await runDurableObjectAlarm(room(sides.sessionId));
    const spoken = Math.floor((since - connectedAt) / 1000);
    expect(spoken).toBeLessThanOrEqual(85);
    expect(await next(sides.aSocket, "call.ended")).toEqual({
      type: "call.ended",
      call_id: callId,
      reason: "peer_gone",
      duration_sec: spoken,
    });
    await eventually(async () => (await callRow(handle, callId))?.durationSec === spoken, "the recorded time");
    expect((await callRow(handle, callId))?.endedAt?.getTime()).toBe(since);
  });
});

describe("ringing", () => {
  it("stops after 45 s unanswered (no_answer), and an answered call that never connects ends after 45 s more (failed)", async () => {
    const unanswered = await inRoom(handle);
    const ringing = offer(unanswered.aSocket);
    await next(unanswered.bSocket, "call.offer");
    await runDurableObjectAlarm(room(unanswered.sessionId));
    await ageRoom(unanswered.sessionId, "update calls set started_at = started_at - 46000");
    await runDurableObjectAlarm(room(unanswered.sessionId));
    for (const socket of [unanswered.aSocket, unanswered.bSocket]) {
      expect(await next(socket, "call.ended")).toMatchObject({ call_id: ringing, reason: "no_answer" });
      expect(ofType(socket, "call.ended")).toHaveLength(1);
    }
    await eventually(async () => (await callRow(handle, ringing))?.endReason === "no_answer", "no_answer recorded");

    const stuck = await inRoom(handle);
    const connecting = offer(stuck.aSocket);
    await next(stuck.bSocket, "call.offer");
    frame(stuck.bSocket, { type: "call.answer", call_id: connecting, sdp: sdp("answer") });
    await next(stuck.aSocket, "call.answer");
    await ageRoom(
      stuck.sessionId,
      "update calls set started_at = started_at - 50000, answered_at = answered_at - 46000",
    );
    await runDurableObjectAlarm(room(stuck.sessionId));
    expect(await next(stuck.bSocket, "call.ended")).toMatchObject({ call_id: connecting, reason: "failed" });
    await eventually(async () => (await callRow(handle, connecting))?.endReason === "failed", "failed recorded");
  });

  it("is limited to 5 call starts a minute per learner and session, across sockets", async () => {
    const { a, sessionId, bSocket } = await inRoom(handle);
    for (let started = 1; started <= callStartLimit.calls; started += 1) {
      // A fresh socket each time: the limit is the session's, not one socket's frame budget.
      const socket = await openSessionSocket(a, sessionId);
      await next(socket, "room");
      const callId = offer(socket);
      await next(bSocket, "call.offer", started);
      frame(socket, { type: "call.hangup", call_id: callId });
      await next(bSocket, "call.ended", started);
      socket.socket.close(1000, "again");
    }
    const last = await openSessionSocket(a, sessionId);
    await next(last, "room");
    offer(last);
    const refused = await next(last, "error");
    expect(refused).toMatchObject({ code: "RATE_LIMITED" });
    expect(refused.retry_after_sec).toBeGreaterThanOrEqual(1);
    expect(refused.retry_after_sec).toBeLessThanOrEqual(60);
    expect(ofType(bSocket, "call.offer")).toHaveLength(callStartLimit.calls);
    expect(await sessionCalls(sessionId)).toHaveLength(callStartLimit.calls);
  });
});

describe("several devices on one account", () => {
  async function devices() {
    const { a, b, sessionId } = await pairInSession(handle);
    const open = async (who: SignedIn, device: string) => {
      const socket = await openSessionSocket(who, sessionId, device);
      await next(socket, "room");
      return socket;
    };
    const laptop = await open(a, "a-laptop-1");
    const tablet = await open(a, "a-tablet-1");
    const phone = await open(b, "b-phone-01");
    const desktop = await open(b, "b-desktop-1");
    return { a, b, sessionId, laptop, tablet, phone, desktop };
  }

  it("every device of the callee rings; one answers; the others are told, and cannot end the call", async () => {
    const d = await devices();
    const callId = offer(d.laptop);
    for (const ringing of [d.phone, d.desktop])
      expect(await next(ringing, "call.offer")).toMatchObject({ call_id: callId });
    expect(await told(d.tablet, "ringing")).toMatchObject({ call_id: callId, here: false, started_by: d.a.user.id });
    expect(await told(d.laptop, "ringing")).toMatchObject({ here: true });

    frame(d.phone, { type: "call.answer", call_id: callId, sdp: sdp("answer") });
    expect(await next(d.laptop, "call.answer")).toMatchObject({ from: d.b.user.id });
    expect(await told(d.desktop, "answered")).toMatchObject({ call_id: callId, here: false });
    expect(await told(d.tablet, "answered")).toMatchObject({ here: false });
    expect(await told(d.phone, "answered")).toMatchObject({ here: true });
    expect(ofType(d.tablet, "call.answer")).toEqual([]);

    // Declining on the desktop, or leaving the screen on the tablet, does not end it for the phone.
    frame(d.desktop, { type: "call.answer", call_id: callId, sdp: sdp("late") });
    expect(await next(d.desktop, "error")).toMatchObject({ code: "NOT_IN_CALL", call_id: callId });
    frame(d.desktop, { type: "call.hangup", call_id: callId });
    expect(await next(d.desktop, "error", 2)).toMatchObject({ code: "NOT_IN_CALL" });
    frame(d.tablet, { type: "call.hangup", call_id: callId });
    expect(await next(d.tablet, "error")).toMatchObject({ code: "NOT_IN_CALL" });
    d.desktop.socket.close(1000, "left the screen");
    d.tablet.socket.close(1000, "left the screen");
    await ageRoom(d.sessionId, "update absences set since = since - 16000");
    await runDurableObjectAlarm(room(d.sessionId));

    frame(d.laptop, { type: "call.connected", call_id: callId });
    frame(d.phone, { type: "call.connected", call_id: callId });
    await told(d.phone, "connected");
    for (const socket of [d.laptop, d.phone, d.desktop, d.tablet]) expect(ofType(socket, "call.ended")).toEqual([]);
    expect((await callRow(handle, callId))?.endedAt).toBeNull();
  });

  it("a device that joins while the call rings rings too, and a device of the call that reconnects is still in it", async () => {
    const d = await devices();
    const callId = offer(d.laptop);
    await next(d.phone, "call.offer");
    const watch = await openSessionSocket(d.b, d.sessionId, "b-watch-01");
    expect(await next(watch, "room")).toMatchObject({ call: { call_id: callId, state: "ringing", here: false } });
    expect(await next(watch, "call.offer")).toMatchObject({ call_id: callId, sdp: sdp("offer"), from: d.a.user.id });

    frame(d.phone, { type: "call.answer", call_id: callId, sdp: sdp("answer") });
    frame(d.laptop, { type: "call.connected", call_id: callId });
    frame(d.phone, { type: "call.connected", call_id: callId });
    await told(d.laptop, "connected");

    d.phone.socket.close(1000, "network lost");
    const back = await openSessionSocket(d.b, d.sessionId, "b-phone-01");
    expect(await next(back, "room")).toMatchObject({ call: { call_id: callId, state: "connected", here: true } });
    await ageRoom(d.sessionId, "update absences set since = since - 16000");
    await runDurableObjectAlarm(room(d.sessionId));
    frame(back, { type: "call.ice", call_id: callId, candidate: { candidate: "" } });
    expect(await next(d.laptop, "call.ice")).toMatchObject({ from: d.b.user.id });
    expect(ofType(d.laptop, "call.ended")).toEqual([]);
  });
});

describe("FIRST_CALL while the database is down", () => {
  it("is tried again after a wait that grows, not at every alarm, and awarded once the database is back", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const sides = await inRoom(handle);
    await connectedCall(sides);
    await ageRoom(sides.sessionId, "update calls set connected_at = connected_at - 61000");
    const config = getConfig(env).database;
    const down = new KeptDatabase({ ...config, url: "postgres://postgres:postgres@127.0.0.1:9/postgres" }, "test");
    // The room's kept connection pointed at a database that is down, as `apiWith` does for a request.
    const kept = await runInDurableObject(room(sides.sessionId), (instance) => {
      const database: unknown = Reflect.get(instance, "database");
      Reflect.set(instance, "database", down);
      return database;
    });

    const retries: { failures: number; wait: number }[] = [];
    for (let attempt = 0; attempt < 3; attempt += 1) {
      await ageRoom(sides.sessionId, "update calls set award_retry_at = 0 where award_retry_at is not null");
      await runDurableObjectAlarm(room(sides.sessionId));
      retries.push(
        await runInDurableObject(room(sides.sessionId), async (_, state) => ({
          failures: state.storage.sql.exec<{ n: number }>("select award_failures as n from calls").one().n,
          wait: ((await state.storage.getAlarm()) ?? 0) - Date.now(),
        })),
      );
    }
    expect(retries.map(({ failures }) => failures)).toEqual([1, 2, 3]);
    expect(retries[0]?.wait).toBeGreaterThan(500);
    expect(retries[1]?.wait).toBeGreaterThan(1500);
    expect(retries[2]?.wait).toBeGreaterThan(3500);
    // An alarm before the wait is over does not try again.
    await runDurableObjectAlarm(room(sides.sessionId));
    const failures = await runInDurableObject(room(sides.sessionId), (_, state) => {
      return state.storage.sql.exec<{ n: number }>("select award_failures as n from calls").one().n;
    });
    expect(failures).toBe(3);

    await runInDurableObject(room(sides.sessionId), (instance) => {
      Reflect.set(instance, "database", kept);
    });
    await ageRoom(sides.sessionId, "update calls set award_retry_at = 0");
    await runDurableObjectAlarm(room(sides.sessionId));
    for (const who of [sides.a, sides.b]) expect(await badgesOf(who)).toContain("FIRST_CALL");
  });
});

describe("what the review found", () => {
  it("FIRST_CALL waits for the spoken minute: a call whose device left after 51 s earns nothing", async () => {
    const sides = await inRoom(handle);
    const callId = await connectedCall(sides);
    sides.bSocket.socket.close(1000, "network lost");
    await next(sides.aSocket, "peer.left");
    // Connected 61 s ago; the callee's device left 10 s ago, inside its grace period.
    await ageCall(sides.sessionId, 61_000);
    await leftAfter(sides.sessionId, 51_000);
    await runDurableObjectAlarm(room(sides.sessionId));
    // Its grace period runs out.
    await ageCall(sides.sessionId, 6000);
    await leftAfter(sides.sessionId, 51_000);
    await runDurableObjectAlarm(room(sides.sessionId));
    expect(await next(sides.aSocket, "call.ended")).toMatchObject({ reason: "peer_gone", duration_sec: 51 });
    await eventually(async () => (await callRow(handle, callId))?.durationSec === 51, "the recorded time");
    for (const who of [sides.a, sides.b]) expect(await badgesOf(who)).not.toContain("FIRST_CALL");
  });

  it("a hang-up while the other device is away counts only until that device left", async () => {
    const sides = await inRoom(handle);
    const callId = await connectedCall(sides);
    sides.bSocket.socket.close(1000, "network lost");
    await next(sides.aSocket, "peer.left");
    await ageCall(sides.sessionId, 40_000);
    await leftAfter(sides.sessionId, 26_000);
    frame(sides.aSocket, { type: "call.hangup", call_id: callId });
    expect(await next(sides.aSocket, "call.ended")).toMatchObject({ reason: "hangup", duration_sec: 26 });
    await eventually(async () => (await callRow(handle, callId))?.durationSec === 26, "the recorded time");
  });

  it("a session that ended without its push reaching the room ends the call when a socket next joins", async () => {
    const sides = await inRoom(handle);
    const callId = await connectedCall(sides);
    await handle.db
      .update(sessions)
      .set({ status: "ended", endedAt: new Date() })
      .where(eq(sessions.id, sides.sessionId));
    const late = await openSessionSocket(sides.a, sides.sessionId);
    expect(await next(late, "ended")).toMatchObject({ session_id: sides.sessionId, ended_by: null });
    for (const socket of [sides.aSocket, sides.bSocket]) {
      expect(await next(socket, "call.ended")).toMatchObject({ call_id: callId, reason: "session_ended" });
    }
    await eventually(async () => (await callRow(handle, callId))?.endReason === "session_ended", "the end");
  });

  it("a fourth socket replaces one that is not in the call", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const laptop = await openSessionSocket(a, sessionId, "a-laptop-2");
    await next(laptop, "room");
    const phone = await openSessionSocket(b, sessionId, "b-phone-02");
    await next(phone, "room");
    await connectedCall({ aSocket: laptop, bSocket: phone });
    const spares: TestSocket[] = [];
    for (const device of ["a-spare-01", "a-spare-02", "a-spare-03"]) {
      const spare = await openSessionSocket(a, sessionId, device);
      await next(spare, "room");
      spares.push(spare);
    }
    await eventually(() => spares.some((spare) => spare.closed !== null), "a spare replaced");
    expect(spares[0]?.closed?.code).toBe(closeCodes.replaced);
    expect(laptop.closed).toBeNull();
    expect(ofType(laptop, "closing")).toEqual([]);
  });

  it("the caller's device, back before the call connected, gets the answer it missed", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const laptop = await openSessionSocket(a, sessionId, "a-laptop-3");
    await next(laptop, "room");
    const phone = await openSessionSocket(b, sessionId, "b-phone-03");
    await next(phone, "room");
    const callId = offer(laptop);
    await next(phone, "call.offer");
    laptop.socket.close(1000, "network lost");
    frame(phone, { type: "call.answer", call_id: callId, sdp: sdp("answer") });
    await told(phone, "answered");
    const back = await openSessionSocket(a, sessionId, "a-laptop-3");
    expect(await next(back, "room")).toMatchObject({ call: { call_id: callId, state: "answered", here: true } });
    expect(await next(back, "call.answer")).toEqual({
      type: "call.answer",
      call_id: callId,
      sdp: sdp("answer"),
      from: b.user.id,
    });
  });

  it("a device of the call whose socket went silent, without a close, is taken for gone", async () => {
    const sides = await inRoom(handle);
    const callId = await connectedCall(sides);
    // The callee's phone lost power: its socket never closed, and nothing has come from it for 2 min.
    await runInDurableObject(room(sides.sessionId), (_, state) => {
      for (const socket of state.getWebSockets(sides.b.user.id)) {
        const attachment = socket.deserializeAttachment() as { connectedAt: number; lastFrameAt?: number };
        const silentSince = Date.now() - 120_000;
        socket.serializeAttachment({ ...attachment, connectedAt: silentSince, lastFrameAt: silentSince });
      }
    });
    await runDurableObjectAlarm(room(sides.sessionId));
    expect(await next(sides.bSocket, "closing")).toMatchObject({ code: closeCodes.silent });
    expect(await next(sides.aSocket, "call.ended")).toMatchObject({ call_id: callId, reason: "peer_gone" });
    await eventually(async () => (await callRow(handle, callId))?.endReason === "peer_gone", "the recorded end");
  });

  it("signalling goes on while a write to the database hangs", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const sides = await inRoom(handle);
    const callId = offer(sides.aSocket);
    await next(sides.bSocket, "call.offer");
    frame(sides.bSocket, { type: "call.answer", call_id: callId, sdp: sdp("answer") });
    await next(sides.aSocket, "call.answer");
    const config = getConfig(env).database;
    // A database that takes every connection and never answers, for far longer than this test waits.
    const stalled = new KeptDatabase({ ...config, wsProxy: `${fixtures.blackhole}/v2`, timeoutMs: 30_000 }, "test");
    await runInDurableObject(room(sides.sessionId), (instance) => {
      Reflect.set(instance, "database", stalled);
    });
    frame(sides.aSocket, { type: "call.connected", call_id: callId });
    frame(sides.bSocket, { type: "call.connected", call_id: callId });
    await told(sides.aSocket, "connected");
    frame(sides.aSocket, { type: "call.ice", call_id: callId, candidate: { candidate: "" } });
    await next(sides.bSocket, "call.ice");
    frame(sides.bSocket, { type: "call.hangup", call_id: callId });
    expect(await next(sides.aSocket, "call.ended")).toMatchObject({ call_id: callId, reason: "hangup" });
  });
});

describe("a room kept by an older release", () => {
  it(
    "ends the call it had going on when it starts again, since it cannot know the call's devices",
    async () => {
      const sides = await inRoom(handle);
      const callId = await connectedCall(sides);
      // The storage as the release before devices left it: per-user absences, no devices.
      await runInDurableObject(room(sides.sessionId), (_, state) => {
        const sql = state.storage.sql;
        sql.exec(`drop table calls; drop table absences;
        create table calls (call_id text primary key, started_by text not null, started_at integer not null,
          connected_at integer, ended_at integer, end_reason text, badge_awarded integer not null default 0,
          synced integer not null default 0);
        create table absences (user_id text primary key, since integer not null);
        drop table call_attempts;
        update schema_version set version = 1;`);
        sql.exec(
          "insert into calls (call_id, started_by, started_at, connected_at, synced) values (?, ?, ?, ?, 1)",
          callId,
          sides.a.user.id,
          Date.now() - 5000,
          Date.now() - 4000,
        );
      });
      await evictDurableObject(room(sides.sessionId));
      const back = await openSessionSocket(sides.a, sides.sessionId);
      expect(await next(back, "room")).toMatchObject({ call: null });
      frame(back, { type: "call.offer", call_id: crypto.randomUUID(), sdp: sdp("next") });
      await next(sides.bSocket, "call.offer", 2);
      await eventually(async () => (await callRow(handle, callId))?.endReason === "peer_gone", "the old call's end");
      // When the deploy cut it is not known: none of the time after what is certain counts.
      expect(await callRow(handle, callId)).toMatchObject({ durationSec: 0 });
    },
    evictionTimeoutMs,
  );
});

describe("what the second review found", () => {
  it("FIRST_CALL counts a live call only as far as both devices have been heard", async () => {
    const sides = await inRoom(handle);
    const callId = await connectedCall(sides);
    // The call connected 61 s ago, and the callee's phone went dark 2 s in: silent for 59 s, not yet
    // long enough to be taken for gone.
    await runInDurableObject(room(sides.sessionId), (_, state) => {
      const connectedAt = Date.now() - 61_000;
      state.storage.sql.exec(
        "update calls set started_at = ?, answered_at = ?, connected_at = ?",
        connectedAt - 100,
        connectedAt - 50,
        connectedAt,
      );
      for (const socket of state.getWebSockets(sides.b.user.id)) {
        const attachment = socket.deserializeAttachment() as { connectedAt: number; lastFrameAt?: number };
        socket.serializeAttachment({ ...attachment, connectedAt: connectedAt + 2000, lastFrameAt: connectedAt + 2000 });
      }
    });
    await runDurableObjectAlarm(room(sides.sessionId));
    for (const who of [sides.a, sides.b]) expect(await badgesOf(who)).not.toContain("FIRST_CALL");
    expect((await callRow(handle, callId))?.endedAt).toBeNull();
    expect(ofType(sides.aSocket, "call.ended")).toEqual([]);
  });

  it("a device that reconnects replaces its older socket, so its leaving is noticed", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const laptop = await openSessionSocket(a, sessionId, "a-laptop-4");
    await next(laptop, "room");
    const before = await openSessionSocket(b, sessionId, "b-phone-04");
    await next(before, "room");
    await connectedCall({ aSocket: laptop, bSocket: before });
    const after = await openSessionSocket(b, sessionId, "b-phone-04");
    await next(after, "room");
    expect(await next(before, "closing")).toMatchObject({ code: closeCodes.replaced });
    after.socket.close(1000, "network lost");
    await eventually(async () => {
      const away = await runInDurableObject(room(sessionId), (_, state) => {
        return state.storage.sql.exec("select 1 from absences where device_id = 'b-phone-04'").toArray().length;
      });
      return away === 1;
    }, "the phone's absence");
  });

  it("counts attempts to start a call, so offers naming a taken call_id are limited too", async () => {
    const first = await inRoom(handle);
    const taken = offer(first.aSocket);
    await next(first.bSocket, "call.offer");
    const { aSocket } = await inRoom(handle);
    for (let attempt = 1; attempt <= callStartLimit.calls; attempt += 1) {
      offer(aSocket, taken);
      expect(await next(aSocket, "error", attempt)).toMatchObject({ code: "INVALID_FRAME" });
    }
    offer(aSocket, taken);
    expect(await next(aSocket, "error", callStartLimit.calls + 1)).toMatchObject({ code: "RATE_LIMITED" });
  });
});
