import { afterAll, describe, expect, it } from "vitest";
import { bearer, type SignedIn, signIn } from "../support/auth";
import { inRoom, next } from "../support/calls";
import { testDatabase } from "../support/db";
import { api, apiWith, postJson, readProblem } from "../support/http";
import { eventually } from "../support/match";
import { openSessionSocket, pairInSession, send } from "../support/sessions";
import { ofType } from "../support/sockets";

/*
 * Chat that feels live (SPEC §10): the partner sees that you are typing, and both see how far the
 * other has read, with the unread count in the session list. Nothing of typing is stored; a read
 * position only moves forward.
 */
const handle = testDatabase();
afterAll(() => handle.close());

interface SessionItem {
  id: string;
  unread_count: number;
  partner_read_up_to: string | null;
  partner_last_read_at: string | null;
}

async function sessionItem(who: SignedIn, sessionId: string): Promise<SessionItem | undefined> {
  const page = (await (await api("/sessions?limit=50", { headers: bearer(who) })).json()) as { items: SessionItem[] };
  return page.items.find((item) => item.id === sessionId);
}

async function texts(who: SignedIn, sessionId: string, ...lines: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const line of lines) {
    const response = await send(who, sessionId, { type: "text", text: line });
    expect(response.status).toBe(201);
    ids.push(((await response.json()) as { id: string }).id);
  }
  return ids;
}

const markRead = (who: SignedIn, sessionId: string, upTo: string) =>
  postJson(`/sessions/${sessionId}/read`, { up_to: upTo }, { headers: bearer(who) });

describe("typing", () => {
  it("reaches the partner's sockets only, at most once every 2 s, and is never stored", async () => {
    const { a, sessionId, aSocket, bSocket } = await inRoom(handle);
    const aPhone = await openSessionSocket(a, sessionId);
    await next(aPhone, "room");
    for (let i = 0; i < 5; i += 1) aSocket.send({ type: "typing" });
    expect(await next(bSocket, "typing")).toEqual({ type: "typing", from: a.user.id });
    // A frame the room answers at once comes after the typing frames it dropped: none of them reached anyone.
    aSocket.socket.send(JSON.stringify({ type: "read", up_to: "not-an-id" }));
    expect(await next(aSocket, "error")).toMatchObject({ code: "INVALID_FRAME" });
    expect(ofType(bSocket, "typing")).toHaveLength(1);
    expect(ofType(aSocket, "typing").length + ofType(aPhone, "typing").length).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    aPhone.send({ type: "typing" });
    await next(bSocket, "typing", 2);
    const page = (await (await api(`/sessions/${sessionId}/messages`, { headers: bearer(a) })).json()) as {
      items: unknown[];
    };
    expect(page.items).toEqual([]);
  });
});

describe("read positions", () => {
  it("count the partner's unread messages, tell the partner, and only move forward", async () => {
    const { a, b, sessionId, aSocket } = await inRoom(handle);
    const [first, second, third] = await texts(a, sessionId, "One", "Two", "Three");
    await texts(b, sessionId, "My own message does not count");
    expect(await sessionItem(b, sessionId)).toMatchObject({ unread_count: 3, partner_read_up_to: null });

    const read = await markRead(b, sessionId, second ?? "");
    expect(read.status).toBe(200);
    const position = (await read.json()) as { up_to: string; read_at: string };
    expect(position.up_to).toBe(second);
    expect(await next(aSocket, "read")).toEqual({ type: "read", user_id: b.user.id, ...position });
    expect(await sessionItem(b, sessionId)).toMatchObject({ unread_count: 1 });
    expect(await sessionItem(a, sessionId)).toMatchObject({
      partner_read_up_to: second,
      partner_last_read_at: position.read_at,
    });

    // A late read of an older message (another device, a retry) changes nothing and tells nobody.
    const late = await markRead(b, sessionId, first ?? "");
    expect(late.status).toBe(200);
    expect(await late.json()).toEqual(position);
    expect(await sessionItem(b, sessionId)).toMatchObject({ unread_count: 1 });

    // The socket's read frame does the same.
    const bSocket = await openSessionSocket(b, sessionId);
    await next(bSocket, "room");
    bSocket.send({ type: "read", up_to: third ?? "" });
    expect(await next(aSocket, "read", 2)).toMatchObject({ user_id: b.user.id, up_to: third });
    await eventually(async () => (await sessionItem(b, sessionId))?.unread_count === 0, "nothing unread");
    expect(ofType(aSocket, "read")).toHaveLength(2);
  });

  it("are refused for another user's session or another session's message, and change nothing", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const other = await pairInSession(handle);
    const [mine] = await texts(a, sessionId, "Hello");
    const [elsewhere] = await texts(other.a, other.sessionId, "Elsewhere");

    const stranger = await signIn();
    const refused = await markRead(stranger, sessionId, mine ?? "");
    expect(refused.status).toBe(404);
    expect((await readProblem(refused)).code).toBe("NOT_FOUND");
    expect((await markRead(b, sessionId, elsewhere ?? "")).status).toBe(404);
    expect((await markRead(b, sessionId, crypto.randomUUID())).status).toBe(404);
    expect((await postJson(`/sessions/${sessionId}/read`, { up_to: "not-an-id" }, { headers: bearer(b) })).status).toBe(
      400,
    );
    expect(await sessionItem(b, sessionId)).toMatchObject({ unread_count: 1 });

    const socket = await openSessionSocket(b, sessionId);
    await next(socket, "room");
    socket.send({ type: "read", up_to: elsewhere ?? "" });
    expect(await next(socket, "error")).toMatchObject({ code: "INVALID_FRAME" });
    expect(await sessionItem(b, sessionId)).toMatchObject({ unread_count: 1 });
  });

  it("take a burst of read frames as the newest of them, and keep working over HTTP once the session ended", async () => {
    const { a, b, sessionId, aSocket, bSocket } = await inRoom(handle);
    const ids = await texts(a, sessionId, "One", "Two", "Three", "Four");
    for (let round = 0; round < 10; round += 1) for (const id of ids) bSocket.send({ type: "read", up_to: id });
    await eventually(async () => (await sessionItem(b, sessionId))?.unread_count === 0, "all read");
    expect((await sessionItem(a, sessionId))?.partner_read_up_to).toBe(ids.at(-1));
    // Coalesced and forward only: far fewer pushes than frames, none of them backwards.
    const pushed = ofType(aSocket, "read").map((push) => push.up_to);
    expect(pushed.length).toBeLessThan(10);
    expect(pushed.at(-1)).toBe(ids.at(-1));

    const [late] = await texts(a, sessionId, "Bye!");
    expect((await postJson(`/sessions/${sessionId}/end`, { rating: 5 }, { headers: bearer(a) })).status).toBe(200);
    expect(await sessionItem(b, sessionId)).toMatchObject({ unread_count: 1 });
    expect((await markRead(b, sessionId, late ?? "")).status).toBe(200);
    expect(await sessionItem(b, sessionId)).toMatchObject({ unread_count: 0 });
  });

  it("over HTTP are limited per user, and a refused read changes nothing", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const [first, second, third] = await texts(a, sessionId, "Uno", "Dos", "Tres");
    const limited = { RATE_LIMIT_READS_PER_MIN: "2" };
    const read = (upTo: string | undefined) =>
      apiWith(limited, `/sessions/${sessionId}/read`, {
        method: "POST",
        headers: { ...bearer(b), "content-type": "application/json" },
        body: JSON.stringify({ up_to: upTo }),
      });
    expect((await read(first)).status).toBe(200);
    expect((await read(second)).status).toBe(200);
    const refused = await read(third);
    expect(refused.status).toBe(429);
    expect(await readProblem(refused)).toMatchObject({ code: "RATE_LIMITED", limit: "reads" });
    expect(await sessionItem(b, sessionId)).toMatchObject({ unread_count: 1, id: sessionId });
  });
});
