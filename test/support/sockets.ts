import { api } from "./http";

/** Opens a WebSocket on the Worker and collects every JSON push it receives (`pong` aside). */
export async function openSocket(path: string): Promise<{ socket: WebSocket; received: Record<string, unknown>[] }> {
  const response = await api(path, { headers: { Upgrade: "websocket" } });
  if (response.status !== 101 || !response.webSocket) throw new Error(`upgrade of ${path} answered ${response.status}`);
  const socket = response.webSocket;
  const received: Record<string, unknown>[] = [];
  socket.accept();
  socket.addEventListener("message", (event) => {
    if (event.data !== "pong") received.push(JSON.parse(String(event.data)) as Record<string, unknown>);
  });
  return { socket, received };
}
