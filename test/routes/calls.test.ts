import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterAll, describe, expect, it } from "vitest";
import { frameLimit } from "../../src/durable-objects/session-room";
import { closeCodes } from "../../src/durable-objects/socket-hub";
import { stunOnly } from "../../src/services/turn";
import { bearer, type SignedIn, signIn } from "../support/auth";
import { callRow, candidate, connectedCall, evictionTimeoutMs, frame, inRoom, next, room, sdp } from "../support/calls";
import { makeAdmin, testDatabase } from "../support/db";
import { api, apiWith, postJson, readProblem } from "../support/http";
import { eventually } from "../support/match";
import { endWith, openSessionSocket, pairInSession } from "../support/sessions";
import { ofType } from "../support/sockets";
import { allocateRelay } from "../support/turn-client";

/*
 * Live calls: WebRTC between the two participants, signalled through the session's room, with
 * TURN credentials from the (local stand-in of) Cloudflare Realtime TURN in front of a real coturn.
 */
const handle = testDatabase();
afterAll(() => handle.close());

describe("the session room", () => {
  it("greets each socket with who it is, whether the partner is here and who yields, and tells the partner", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const aSocket = await openSessionSocket(a, sessionId);
    expect(await next(aSocket, "room")).toEqual({
      type: "room",
      you: a.user.id,
      partner_online: false,
      polite: a.user.id < b.user.id,
      call: null,
    });
    const bSocket = await openSessionSocket(b, sessionId);
    expect(await next(bSocket, "room")).toMatchObject({ partner_online: true, polite: b.user.id < a.user.id });
    expect(await next(aSocket, "peer.joined")).toEqual({ type: "peer.joined", user_id: b.user.id });
    bSocket.socket.close(1000, "bye");
    expect(await next(aSocket, "peer.left")).toEqual({ type: "peer.left", user_id: b.user.id });
  });

  it("relays offer, answer and candidates to the partner only, with who sent them", async () => {
    const sockets = await inRoom(handle);
    const callId = crypto.randomUUID();
    frame(sockets.aSocket, { type: "call.offer", call_id: callId, sdp: sdp("offer") });
    expect(await next(sockets.bSocket, "call.offer")).toEqual({
      type: "call.offer",
      call_id: callId,
      sdp: sdp("offer"),
      from: sockets.a.user.id,
    });
    frame(sockets.aSocket, { type: "call.ice", call_id: callId, candidate });
    expect(await next(sockets.bSocket, "call.ice")).toMatchObject({ candidate, from: sockets.a.user.id });
    frame(sockets.bSocket, { type: "call.answer", call_id: callId, sdp: sdp("answer") });
    expect(await next(sockets.aSocket, "call.answer")).toMatchObject({ sdp: sdp("answer"), from: sockets.b.user.id });
    frame(sockets.bSocket, { type: "call.ice", call_id: callId, candidate });
    expect(await next(sockets.aSocket, "call.ice")).toEqual({
      type: "call.ice",
      call_id: callId,
      candidate,
      from: sockets.b.user.id,
    });
    expect(ofType(sockets.aSocket, "call.offer")).toEqual([]);
    expect(ofType(sockets.bSocket, "call.answer")).toEqual([]);
    expect(ofType(sockets.bSocket, "call.ice")).toHaveLength(1);
  });

  it("lets nobody else in: an outsider's socket and ICE servers are 404", async () => {
    const { sessionId } = await pairInSession(handle);
    const outsider = await signIn();
    const upgrade = await api(`/sessions/${sessionId}/ws?token=${outsider.access_token}`, {
      headers: { Upgrade: "websocket" },
    });
    expect(upgrade.status).toBe(404);
    const ice = await api(`/sessions/${sessionId}/call/ice-servers`, { method: "POST", headers: bearer(outsider) });
    expect(ice.status).toBe(404);
  });

  it("answers an unknown frame type or a bad field with an error frame, and keeps the socket", async () => {
    const { aSocket } = await inRoom(handle);
    // Frames outside the contract, on purpose.
    aSocket.socket.send(JSON.stringify({ type: "call.dance", call_id: crypto.randomUUID() }));
    expect(await next(aSocket, "error")).toMatchObject({ code: "UNKNOWN_FRAME" });
    aSocket.socket.send(JSON.stringify({ type: "call.offer", call_id: "not-a-uuid", sdp: "x".repeat(20_001) }));
    const invalid = await next(aSocket, "error", 2);
    expect(invalid).toMatchObject({ code: "INVALID_FRAME" });
    expect(String(invalid.message)).toContain("call_id");
    expect(String(invalid.message)).toContain("sdp");
    aSocket.socket.send(
      JSON.stringify({ type: "call.ice", call_id: crypto.randomUUID(), candidate: { candidate: "x".repeat(2049) } }),
    );
    expect(await next(aSocket, "error", 3)).toMatchObject({ code: "INVALID_FRAME" });
    expect(aSocket.closed).toBeNull();
  });

  it("closes a socket that sends an oversized frame (1009) or something that is not a JSON object (1008)", async () => {
    const { aSocket, bSocket } = await inRoom(handle);
    aSocket.socket.send(JSON.stringify({ type: "call.offer", call_id: crypto.randomUUID(), sdp: "x".repeat(30_000) }));
    await eventually(() => aSocket.closed !== null, "the oversized frame's close");
    expect(aSocket.closed?.code).toBe(closeCodes.frameTooLarge);
    bSocket.socket.send("hello there");
    await eventually(() => bSocket.closed !== null, "the close");
    expect(bSocket.closed?.code).toBe(closeCodes.unsupportedFrame);
  });

  it("closes a socket past its frame limit (1008)", async () => {
    const { aSocket } = await inRoom(handle);
    for (let i = 0; i <= frameLimit.frames; i += 1)
      frame(aSocket, { type: "call.hangup", call_id: crypto.randomUUID() });
    await eventually(() => aSocket.closed !== null, "the close");
    expect(aSocket.closed?.code).toBe(closeCodes.unsupportedFrame);
  });

  it("refuses a call when the partner is not in the room, a second call while one goes on, and any call once the session ended", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const alone = await openSessionSocket(a, sessionId);
    frame(alone, { type: "call.offer", call_id: crypto.randomUUID(), sdp: sdp("offer") });
    expect(await next(alone, "error")).toMatchObject({ code: "PEER_OFFLINE" });

    const bSocket = await openSessionSocket(b, sessionId);
    await next(alone, "peer.joined");
    const first = crypto.randomUUID();
    frame(alone, { type: "call.offer", call_id: first, sdp: sdp("offer") });
    await next(bSocket, "call.offer");
    frame(bSocket, { type: "call.answer", call_id: first, sdp: sdp("answer") });
    await next(alone, "call.answer");
    frame(bSocket, { type: "call.offer", call_id: crypto.randomUUID(), sdp: sdp("second") });
    expect(await next(bSocket, "error")).toMatchObject({ code: "CALL_IN_PROGRESS", call_id: first });

    expect((await endWith(a, sessionId, { rating: 5 })).status).toBe(200);
    await next(alone, "call.ended");
    frame(alone, { type: "call.offer", call_id: crypto.randomUUID(), sdp: sdp("offer") });
    expect(await next(alone, "error", 2)).toMatchObject({ code: "SESSION_ENDED" });
  });
});

describe("a call", () => {
  it("negotiated and hung up is recorded with the time spoken, and shows on the session", async () => {
    const sockets = await inRoom(handle);
    const callId = await connectedCall(sockets);
    // The room writes the connection after its push announcing it: wait for the write, not the push.
    await eventually(
      async () => (await callRow(handle, callId))?.connectedAt instanceof Date,
      "the recorded connection",
    );
    expect(await callRow(handle, callId)).toMatchObject({ startedBy: sockets.a.user.id, endedAt: null });

    frame(sockets.bSocket, { type: "call.hangup", call_id: callId });
    const ended = { type: "call.ended", call_id: callId, reason: "hangup", duration_sec: expect.any(Number) };
    expect(await next(sockets.aSocket, "call.ended")).toEqual(ended);
    expect(await next(sockets.bSocket, "call.ended")).toEqual(ended);
    await eventually(async () => (await callRow(handle, callId))?.endReason === "hangup", "the recorded end");
    expect(await callRow(handle, callId)).toMatchObject({ durationSec: expect.any(Number), endedAt: expect.any(Date) });

    const session = (await (await api(`/sessions/${sockets.sessionId}`, { headers: bearer(sockets.a) })).json()) as {
      calls: { id: string; end_reason: string }[];
      spoken_sec: number;
    };
    expect(session.calls).toEqual([
      expect.objectContaining({ id: callId, started_by: sockets.a.user.id, end_reason: "hangup" }),
    ]);
    expect(session.spoken_sec).toBeGreaterThanOrEqual(0);
  });

  it.each([
    ["session_ended", (s: Sides) => endWith(s.a, s.sessionId, { rating: 4 })],
    ["blocked", (s: Sides) => api(`/users/${s.b.user.id}/block`, { method: "POST", headers: bearer(s.a) })],
    ["suspended", async (s: Sides) => suspend(s.b)],
    ["deleted", (s: Sides) => api("/me", { method: "DELETE", headers: bearer(s.b) })],
    [
      "reported",
      (s: Sides) =>
        postJson(`/sessions/${s.sessionId}/report-and-leave`, { reason: "other" }, { headers: bearer(s.a) }),
    ],
  ])("ends for both with reason %s", async (reason, endIt) => {
    const sockets = await inRoom(handle);
    const callId = await connectedCall(sockets);
    await endIt(sockets);
    expect(await next(sockets.aSocket, "call.ended")).toMatchObject({ call_id: callId, reason });
    await eventually(async () => (await callRow(handle, callId))?.endReason === reason, "the recorded end");
  });

  it("ends when one side has had no open socket for 15 s (peer_gone)", async () => {
    const sockets = await inRoom(handle);
    const callId = await connectedCall(sockets);
    sockets.bSocket.socket.close(1000, "network lost");
    await next(sockets.aSocket, "peer.left");
    await runInDurableObject(room(sockets.sessionId), (_, state) => {
      state.storage.sql.exec("update absences set since = since - 16000");
    });
    await runDurableObjectAlarm(room(sockets.sessionId));
    expect(await next(sockets.aSocket, "call.ended")).toMatchObject({ call_id: callId, reason: "peer_gone" });
    await eventually(async () => (await callRow(handle, callId))?.endReason === "peer_gone", "the recorded end");
  });

  it(
    "keeps its state when the room is evicted",
    async () => {
      const sockets = await inRoom(handle);
      const callId = crypto.randomUUID();
      frame(sockets.aSocket, { type: "call.offer", call_id: callId, sdp: sdp("offer") });
      await next(sockets.bSocket, "call.offer");
      await evictDurableObject(room(sockets.sessionId));
      frame(sockets.bSocket, { type: "call.answer", call_id: callId, sdp: sdp("answer") });
      expect(await next(sockets.aSocket, "call.answer")).toMatchObject({ call_id: callId });
      frame(sockets.aSocket, { type: "call.offer", call_id: crypto.randomUUID(), sdp: sdp("second") });
      expect(await next(sockets.aSocket, "error")).toMatchObject({ code: "CALL_IN_PROGRESS", call_id: callId });
    },
    evictionTimeoutMs,
  );

  it("connected for a minute earns both learners FIRST_CALL", async () => {
    const sockets = await inRoom(handle);
    await connectedCall(sockets);
    await runInDurableObject(room(sockets.sessionId), (_, state) => {
      state.storage.sql.exec("update calls set connected_at = connected_at - 61000");
    });
    await runDurableObjectAlarm(room(sockets.sessionId));
    for (const who of [sockets.a, sockets.b]) {
      const badges = (await (await api("/me/badges", { headers: bearer(who) })).json()) as {
        items: { badge: string }[];
      };
      expect(badges.items.map((item) => item.badge)).toContain("FIRST_CALL");
    }
  });
});

type Sides = Awaited<ReturnType<typeof inRoom>>;

async function suspend(who: SignedIn): Promise<Response> {
  const admin = await signIn();
  await makeAdmin(handle, admin.user.id);
  return api(`/admin/users/${who.user.id}/suspend`, { method: "POST", headers: bearer(admin) });
}

describe("POST /sessions/{id}/call/ice-servers", () => {
  interface IceServers {
    ice_servers: { urls: string[]; username?: string; credential?: string }[];
    expires_at: string | null;
  }

  it("gives STUN and short-lived TURN credentials that the TURN server accepts, and it refuses forged ones", async () => {
    const { a, sessionId } = await pairInSession(handle);
    const response = await postJson(`/sessions/${sessionId}/call/ice-servers`, undefined, { headers: bearer(a) });
    expect(response.status).toBe(200);
    const body = (await response.json()) as IceServers;
    expect(Date.parse(body.expires_at ?? "")).toBeGreaterThan(Date.now());
    const turn = body.ice_servers.find((server) => server.username);
    const tcp = turn?.urls.find((url) => url.startsWith("turn:") && url.endsWith("transport=tcp"));
    if (!turn?.username || !turn.credential || !tcp) throw new Error(`no TURN over TCP in ${JSON.stringify(body)}`);
    expect(await allocateRelay(tcp, turn.username, turn.credential)).toMatchObject({ outcome: "allocated" });
    expect(await allocateRelay(tcp, turn.username, `${turn.credential}x`)).toEqual({
      outcome: "refused",
      errorCode: 401,
    });
  });

  it("answers 409 once the session has ended", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    await endWith(b, sessionId, { rating: 3 });
    const ended = await api(`/sessions/${sessionId}/call/ice-servers`, { method: "POST", headers: bearer(a) });
    expect(ended.status).toBe(409);
    expect((await readProblem(ended)).code).toBe("CONFLICT");
  });

  it("gives STUN only when TURN is not configured, and readiness says TURN is off", async () => {
    const { a, sessionId } = await pairInSession(handle);
    const noTurn = { TURN_KEY_ID: undefined, TURN_KEY_API_TOKEN: undefined };
    const response = await apiWith(noTurn, `/sessions/${sessionId}/call/ice-servers`, {
      method: "POST",
      headers: bearer(a),
    });
    expect(await response.json()).toEqual({ ice_servers: stunOnly, expires_at: null });
    expect(await (await apiWith(noTurn, "/health/ready")).json()).toMatchObject({ status: "ready", turn: "off" });
  });
});
