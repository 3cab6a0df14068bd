import { api } from "./http";

export interface TestSocket {
  socket: WebSocket;
  /** Every JSON push received (`pong` aside). */
  received: Record<string, unknown>[];
  /** How the server closed the socket, once it did. */
  closed: { code: number; reason: string } | null;
}

/** Opens a WebSocket on the Worker and collects every JSON push it receives, and how it closes. */
export async function openSocket(path: string): Promise<TestSocket> {
  const response = await api(path, { headers: { Upgrade: "websocket" } });
  if (response.status !== 101 || !response.webSocket) throw new Error(`upgrade of ${path} answered ${response.status}`);
  const socket = response.webSocket;
  const client: TestSocket = { socket, received: [], closed: null };
  socket.accept();
  socket.addEventListener("message", (event) => {
    if (event.data !== "pong") client.received.push(JSON.parse(String(event.data)) as Record<string, unknown>);
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
