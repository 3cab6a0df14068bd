import type { AddressInfo } from "node:net";
import { createConnection } from "node:net";
import { WebSocketServer } from "ws";

export interface WsProxy {
  /** Value for `neonConfig.wsProxy`: the driver appends `?address=host:port`. */
  wsProxy: string;
  stop(): Promise<void>;
}

/**
 * The WebSocket→TCP bridge that Neon runs in front of its Postgres, so the serverless
 * driver reaches a local Postgres exactly as it reaches Neon. Only the addresses in
 * `allowedTargets` can be dialled: this is a bridge to our database, not an open relay.
 */
export async function startWsProxy(allowedTargets: string[]): Promise<WsProxy> {
  const allowed = new Set(allowedTargets);
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0, path: "/v2" });
  server.on("connection", (socket, request) => {
    const target = new URL(request.url ?? "", "http://proxy").searchParams.get("address") ?? "";
    if (!allowed.has(target)) {
      socket.close(1008, "address not allowed");
      return;
    }
    const [host, port] = splitHostPort(target);
    const tcp = createConnection({ host, port, noDelay: true });
    const pending: Buffer[] = [];
    let connected = false;
    tcp.on("connect", () => {
      connected = true;
      for (const chunk of pending.splice(0)) tcp.write(chunk);
    });
    tcp.on("data", (chunk) => socket.send(chunk));
    tcp.on("close", () => socket.close());
    tcp.on("error", () => socket.terminate());
    socket.on("message", (data: Buffer) => {
      if (connected) tcp.write(data);
      else pending.push(data);
    });
    socket.on("close", () => tcp.end());
    socket.on("error", () => tcp.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    wsProxy: `127.0.0.1:${port}/v2`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}

function splitHostPort(address: string): [string, number] {
  const at = address.lastIndexOf(":");
  return [address.slice(0, at).replace(/^\[|\]$/g, ""), Number(address.slice(at + 1))];
}
