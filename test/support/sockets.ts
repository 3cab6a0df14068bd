import { frameCheck } from "./frame-contract";
import { api } from "./http";

export interface TestSocket {
  socket: WebSocket;
  /** Every JSON push received (`pong` aside). */
  received: Record<string, unknown>[];
  /** How the server closed the socket, once it did. */
  closed: { code: number; reason: string } | null;
  /** Sends a frame the contract describes (anything else fails the test); `socket.send` sends any. */
  send(frame: Record<string, unknown> | "ping"): void;
}

/**
 * Opens a WebSocket on the Worker and collects every JSON push it receives, and how it closes.
 * Every frame received, and every frame sent with `send`, is held to `/asyncapi.json`.
 */
export async function openSocket(path: string): Promise<TestSocket> {
  const check = await frameCheck(path);
  const response = await api(path, { headers: { Upgrade: "websocket" } });
  if (response.status !== 101 || !response.webSocket) throw new Error(`upgrade of ${path} answered ${response.status}`);
  const socket = response.webSocket;
  const client: TestSocket = {
    socket,
    received: [],
    closed: null,
    send(frame) {
      const text = typeof frame === "string" ? frame : JSON.stringify(frame);
      check("send", text);
      socket.send(text);
    },
  };
  socket.accept();
  socket.addEventListener("message", (event) => {
    const text = String(event.data);
    check("receive", text);
    if (text !== "pong") client.received.push(JSON.parse(text) as Record<string, unknown>);
  });
  socket.addEventListener("close", (event) => {
    client.closed = { code: event.code, reason: event.reason };
  });
  return client;
}

/** The pushes of the given types a socket received, in order (a room also sends presence and call frames). */
export function ofType(client: TestSocket, ...types: string[]): Record<string, unknown>[] {
  return client.received.filter((frame) => types.includes(String(frame.type)));
}
