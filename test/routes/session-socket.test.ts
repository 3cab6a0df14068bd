import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { sessions } from "../../src/db/schema";
import { testDatabase } from "../support/db";
import { api, postJson, readProblem } from "../support/http";
import { eventually } from "../support/match";
import { endWith, openSessionSocket, pairInSession } from "../support/sessions";
import { ofType } from "../support/sockets";

/*
 * A client that missed the `ended` push and reconnects (the documented catch-up path) learns from
 * its socket at once that the session is over: `ended` with its reason, then a close with 4005.
 * A device signed out everywhere keeps no socket in a session room.
 */
const handle = testDatabase();

describe("a socket opened on an ended session", () => {
  it("gets the ended event as it was pushed, with who ended it and why, then closes with 4005", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const live = await openSessionSocket(b, sessionId);
    expect((await endWith(a, sessionId, { rating: 5 })).status).toBe(200);
    await eventually(() => ofType(live, "ended").length > 0, "the ended push");

    const late = await openSessionSocket(b, sessionId);
    await eventually(() => late.closed !== null, "the close");
    expect(late.closed?.code).toBe(4005);
    expect(ofType(late, "ended")).toEqual(ofType(live, "ended"));
    expect(ofType(late, "ended")[0]).toMatchObject({ session_id: sessionId, ended_by: a.user.id, reason: "ended" });
    expect(ofType(late, "room")).toEqual([]);
    expect(ofType(late, "closing")).toEqual([{ type: "closing", code: 4005, reason: "the session has ended" }]);
  });

  it("whose end the room never saw pushed, gets one from the session row (ended_by unknown)", async () => {
    const { a, sessionId } = await pairInSession(handle);
    const endedAt = new Date("2026-11-30T10:00:00.000Z");
    await handle.db.update(sessions).set({ status: "ended", endedAt }).where(eq(sessions.id, sessionId));
    const late = await openSessionSocket(a, sessionId);
    await eventually(() => late.closed !== null, "the close");
    expect(late.closed?.code).toBe(4005);
    expect(ofType(late, "ended")).toEqual([
      { type: "ended", session_id: sessionId, ended_at: endedAt.toISOString(), ended_by: null, reason: "ended" },
    ]);
  });
});

describe("a socket's device id", () => {
  it("that is not 8 to 64 letters, digits, _ or - is refused with 400 before any socket opens", async () => {
    const { a, sessionId } = await pairInSession(handle);
    const malformed = ["short", "x".repeat(65), "has space1", "tab/5f0c1e7a", "ünïcødé-id", "", "a%00bcdefgh"];
    for (const device of malformed) {
      const response = await api(
        `/sessions/${sessionId}/ws?token=${a.access_token}&device=${encodeURIComponent(device)}`,
        {
          headers: { Upgrade: "websocket" },
        },
      );
      expect(response.status, JSON.stringify(device)).toBe(400);
      expect(response.webSocket).toBeNull();
      const problem = await readProblem(response);
      expect(problem.code).toBe("VALIDATION_FAILED");
      expect(problem.errors?.map((error) => error.field)).toEqual(["query.device"]);
    }
    // The same id, well formed, opens the socket.
    const socket = await openSessionSocket(a, sessionId, "tab-5f0c1e7a");
    await eventually(() => ofType(socket, "room").length > 0, "the room frame");
  });
});

describe("signing out everywhere", () => {
  it("closes the user's sockets in the rooms of their sessions (4004), and leaves the partner's open", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const [laptop, phone] = [await openSessionSocket(a, sessionId), await openSessionSocket(a, sessionId)];
    const partner = await openSessionSocket(b, sessionId);
    const signedOut = await postJson("/auth/logout", { refresh_token: a.refresh_token, everywhere: true });
    expect(signedOut.status).toBe(204);
    await eventually(() => laptop.closed !== null && phone.closed !== null, "both closes");
    expect([laptop.closed?.code, phone.closed?.code]).toEqual([4004, 4004]);
    expect(ofType(laptop, "closing")).toHaveLength(1);
    // The session goes on for the partner, who is told the other side left.
    await eventually(() => ofType(partner, "peer.left").length > 0, "the partner told");
    expect(partner.closed).toBeNull();
    expect(ofType(partner, "ended")).toEqual([]);
  });
});
