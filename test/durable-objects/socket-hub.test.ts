import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { roomSessionHeader } from "../../src/durable-objects/session-room";
import { closeCodes, socketExpiresHeader, socketUserHeader } from "../../src/durable-objects/socket-hub";
import { eventually } from "../support/match";

interface Client {
  socket: WebSocket;
  received: unknown[];
  closed: { code: number; reason: string } | null;
}

const inFifteenMinutes = () => Date.now() + 15 * 60 * 1000;

async function connect(
  stub: DurableObjectStub,
  userId: string,
  expiresAt = inFifteenMinutes(),
  headers: Record<string, string> = {},
): Promise<Client> {
  const response = await stub.fetch("http://room/ws", {
    headers: { Upgrade: "websocket", [socketUserHeader]: userId, [socketExpiresHeader]: String(expiresAt), ...headers },
  });
  expect(response.status).toBe(101);
  const socket = response.webSocket;
  if (!socket) throw new Error("no socket in the 101 response");
  const client: Client = { socket, received: [], closed: null };
  socket.accept();
  socket.addEventListener("message", (event) => {
    client.received.push(event.data === "pong" ? "pong" : JSON.parse(String(event.data)));
  });
  socket.addEventListener("close", (event) => {
    client.closed = { code: event.code, reason: event.reason };
  });
  return client;
}

const newRoom = () => env.SESSION_ROOM.get(env.SESSION_ROOM.idFromName(crypto.randomUUID()));
/** A room's sockets also say which session it serves and who is in it, as the Worker does. */
function joinRoom(stub: DurableObjectStub, userId: string, participants: string[]): Promise<Client> {
  const session = { id: crypto.randomUUID(), participants, ended: false, ended_at: null };
  return connect(stub, userId, inFifteenMinutes(), { [roomSessionHeader]: JSON.stringify(session) });
}
const pushesOf = (client: Client) =>
  client.received.filter((frame) => typeof frame === "object" && frame !== null && "session_id" in frame);
const newMatchmaker = () => env.MATCHMAKER.get(env.MATCHMAKER.idFromName(`test-${crypto.randomUUID()}`));

describe("SessionRoom", () => {
  it("pushes a broadcast to every participant's socket", async () => {
    const stub = newRoom();
    const [azizaId, boburId] = [crypto.randomUUID(), crypto.randomUUID()];
    const aziza = await joinRoom(stub, azizaId, [azizaId, boburId]);
    const bobur = await joinRoom(stub, boburId, [azizaId, boburId]);
    const ended = {
      type: "ended" as const,
      session_id: "s1",
      ended_at: new Date().toISOString(),
      ended_by: "aziza",
      reason: "ended" as const,
    };
    expect(await stub.broadcast(ended)).toBe(2);
    await eventually(() => pushesOf(aziza).length === 1 && pushesOf(bobur).length === 1, "both pushes");
    expect(pushesOf(aziza)).toEqual([ended]);
    expect(pushesOf(bobur)).toEqual([ended]);
  });

  it("refuses anything but a WebSocket upgrade for a named user with a live token, in a known session", async () => {
    const stub = newRoom();
    expect(
      (await stub.fetch("http://room/ws", { headers: { Upgrade: "websocket", [socketUserHeader]: "a" } })).status,
    ).toBe(426);
    expect((await stub.fetch("http://room/ws")).status).toBe(426);
    expect((await stub.fetch("http://room/ws", { headers: { Upgrade: "websocket" } })).status).toBe(426);
    const expired = await stub.fetch("http://room/ws", {
      headers: { Upgrade: "websocket", [socketUserHeader]: "aziza", [socketExpiresHeader]: String(Date.now() - 1) },
    });
    expect(expired.status).toBe(426);
  });

  it("answers ping without waking the object", async () => {
    const id = crypto.randomUUID();
    const client = await joinRoom(newRoom(), id, [id]);
    client.socket.send("ping");
    await eventually(() => client.received.includes("pong"), "pong");
    expect(client.closed).toBeNull();
  });
});

describe("sockets on every object", () => {
  it("close a socket that sends anything but ping where nothing else is documented (1008)", async () => {
    const client = await connect(newMatchmaker(), "aziza");
    client.socket.send(JSON.stringify({ type: "hello" }));
    await eventually(() => client.closed !== null, "the close");
    expect(client.closed?.code).toBe(closeCodes.unsupportedFrame);
  });

  it("close a socket that sends an oversized frame (1009)", async () => {
    const client = await connect(newMatchmaker(), "aziza");
    client.socket.send("x".repeat(64 * 1024));
    await eventually(() => client.closed !== null, "the close");
    expect(client.closed?.code).toBe(closeCodes.frameTooLarge);
  });

  it("keep at most three sockets per user: a fourth closes the oldest (4001)", async () => {
    const stub = newMatchmaker();
    const sockets: Client[] = [];
    for (let i = 0; i < 4; i += 1) sockets.push(await connect(stub, "aziza"));
    const other = await connect(stub, "bobur");
    await eventually(() => sockets[0]?.closed !== null, "the oldest socket's close");
    expect(sockets[0]?.closed?.code).toBe(closeCodes.replaced);
    // Told first in a frame, which reaches the client at once where the close may lag.
    expect(sockets[0]?.received.at(-1)).toEqual({
      type: "closing",
      code: closeCodes.replaced,
      reason: "replaced by a newer connection",
    });
    expect(sockets.slice(1).map((client) => client.closed)).toEqual([null, null, null]);
    expect(other.closed).toBeNull();
    expect(await stub.notify("aziza", { type: "expired", attempt_id: "a1", reason: "timeout" })).toBe(3);
  });

  it("close sockets whose access token has expired, on the object's alarm (4003)", async () => {
    const stub = newMatchmaker();
    const expiring = await connect(stub, "aziza", Date.now() + 300);
    const fresh = await connect(stub, "bobur");
    await new Promise((resolve) => setTimeout(resolve, 400));
    await runDurableObjectAlarm(stub);
    await eventually(() => expiring.closed !== null, "the expired socket's close");
    expect(expiring.closed?.code).toBe(closeCodes.tokenExpired);
    expect(fresh.closed).toBeNull();
    expect(await stub.connectedUsers()).toEqual(["bobur"]);
  });

  it("close every socket of a user who can no longer connect (4004)", async () => {
    const stub = newMatchmaker();
    const [first, second] = [await connect(stub, "leaving"), await connect(stub, "leaving")];
    const staying = await connect(stub, "staying");
    expect(await stub.disconnect("leaving")).toBe(2);
    await eventually(() => first.closed !== null && second.closed !== null, "both closes");
    expect([first.closed?.code, second.closed?.code]).toEqual([closeCodes.revoked, closeCodes.revoked]);
    expect(first.received.at(-1)).toMatchObject({ type: "closing", code: closeCodes.revoked });
    expect(staying.closed).toBeNull();
  });
});

describe("Matchmaker", () => {
  it("pushes to one user's sockets only", async () => {
    const stub = newMatchmaker();
    const waiting = await connect(stub, "waiting-user");
    const other = await connect(stub, "other-user");
    const event = { type: "expired" as const, attempt_id: "a1", reason: "timeout" as const };
    expect(await stub.notify("waiting-user", event)).toBe(1);
    await eventually(() => waiting.received.length === 1, "the push");
    expect(waiting.received).toEqual([event]);
    expect(other.received).toEqual([]);
    expect(await stub.notify("nobody-here", event)).toBe(0);
  });

  it("keeps its sockets, who owns them and when they expire across an eviction", async () => {
    const stub = newMatchmaker();
    const waiting = await connect(stub, "waiting-user");
    await runInDurableObject(stub, (instance) => {
      expect(instance.connectedUsers()).toEqual(["waiting-user"]);
    });
    await evictDurableObject(stub);
    expect(await stub.connectedUsers()).toEqual(["waiting-user"]);
    const event = { type: "expired" as const, attempt_id: "after-eviction", reason: "offline" as const };
    expect(await stub.notify("waiting-user", event)).toBe(1);
    await eventually(() => waiting.received.length === 1, "the push after eviction");
    await runInDurableObject(stub, async (_, state) => {
      expect(await state.storage.getAlarm()).toBeGreaterThan(Date.now() + 14 * 60 * 1000);
    });
  });
});
