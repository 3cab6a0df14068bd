import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { socketUserHeader } from "../../src/durable-objects/socket-hub";

async function connect(stub: DurableObjectStub, userId: string): Promise<{ socket: WebSocket; received: unknown[] }> {
  const response = await stub.fetch("http://room/ws", {
    headers: { Upgrade: "websocket", [socketUserHeader]: userId },
  });
  expect(response.status).toBe(101);
  const socket = response.webSocket;
  if (!socket) throw new Error("no socket in the 101 response");
  const received: unknown[] = [];
  socket.accept();
  socket.addEventListener("message", (event) => {
    received.push(event.data === "pong" ? "pong" : JSON.parse(String(event.data)));
  });
  return { socket, received };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("SessionRoom", () => {
  it("pushes a broadcast to every participant's socket", async () => {
    const stub = env.SESSION_ROOM.get(env.SESSION_ROOM.idFromName(crypto.randomUUID()));
    const aziza = await connect(stub, "aziza");
    const bobur = await connect(stub, "bobur");
    expect(await stub.broadcast({ type: "message", text: "salom" })).toBe(2);
    await until(() => aziza.received.length === 1 && bobur.received.length === 1, "both pushes");
    expect(aziza.received).toEqual([{ type: "message", text: "salom" }]);
    expect(bobur.received).toEqual([{ type: "message", text: "salom" }]);
  });

  it("refuses anything but a WebSocket upgrade for a named user", async () => {
    const stub = env.SESSION_ROOM.get(env.SESSION_ROOM.idFromName(crypto.randomUUID()));
    expect((await stub.fetch("http://room/ws")).status).toBe(426);
    expect((await stub.fetch("http://room/ws", { headers: { Upgrade: "websocket" } })).status).toBe(426);
  });

  it("answers ping without waking the object and ignores other client messages", async () => {
    const stub = env.SESSION_ROOM.get(env.SESSION_ROOM.idFromName(crypto.randomUUID()));
    const client = await connect(stub, "aziza");
    client.socket.send("ping");
    await until(() => client.received.includes("pong"), "pong");
    client.socket.send("hello?");
    expect(await stub.broadcast({ type: "end" })).toBe(1);
    await until(() => client.received.length === 2, "the push after the ignored message");
  });
});

describe("Matchmaker", () => {
  it("pushes to one user's sockets only", async () => {
    const stub = env.MATCHMAKER.get(env.MATCHMAKER.idFromName(`test-${crypto.randomUUID()}`));
    const waiting = await connect(stub, "waiting-user");
    const other = await connect(stub, "other-user");
    const event = { type: "expired" as const, attempt_id: "a1", reason: "timeout" as const };
    expect(await stub.notify("waiting-user", event)).toBe(1);
    await until(() => waiting.received.length === 1, "the push");
    expect(waiting.received).toEqual([event]);
    expect(other.received).toEqual([]);
    expect(await stub.notify("nobody-here", event)).toBe(0);
  });

  it("keeps its sockets and who owns them across an eviction", async () => {
    const stub = env.MATCHMAKER.get(env.MATCHMAKER.idFromName(`test-${crypto.randomUUID()}`));
    const waiting = await connect(stub, "waiting-user");
    await runInDurableObject(stub, (instance) => {
      expect(instance.connectedUsers()).toEqual(["waiting-user"]);
    });
    await evictDurableObject(stub);
    expect(await stub.connectedUsers()).toEqual(["waiting-user"]);
    const event = { type: "expired" as const, attempt_id: "after-eviction", reason: "offline" as const };
    expect(await stub.notify("waiting-user", event)).toBe(1);
    await until(() => waiting.received.length === 1, "the push after eviction");
  });
});
