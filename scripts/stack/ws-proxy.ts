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
    const framer = new TerminateDetector();
    socket.on("message", (data: Buffer) => {
      if (connected) tcp.write(data);
      else pending.push(data);
      // Postgres hangs up after a Terminate message; PGlite's socket server does not, and the
      // driver does not always close its WebSocket, so the bridge hangs up as Postgres would.
      if (framer.push(data)) tcp.end();
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

const sslRequestCode = 80877103;
const gssEncRequestCode = 80877104;
const terminate = 0x58;

/** Follows the client's side of the Postgres protocol just far enough to see a Terminate message. */
class TerminateDetector {
  private buffer = Buffer.alloc(0);
  private startupDone = false;

  push(chunk: Buffer): boolean {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (!this.startupDone) {
        if (this.buffer.length < 8) return false;
        const length = this.buffer.readInt32BE(0);
        if (this.buffer.length < length) return false;
        const code = this.buffer.readInt32BE(4);
        if (code !== sslRequestCode && code !== gssEncRequestCode) this.startupDone = true;
        this.buffer = this.buffer.subarray(length);
        continue;
      }
      if (this.buffer.length < 5) return false;
      const type = this.buffer[0];
      const length = this.buffer.readInt32BE(1);
      if (this.buffer.length < 1 + length) return false;
      if (type === terminate) return true;
      this.buffer = this.buffer.subarray(1 + length);
    }
  }
}

function splitHostPort(address: string): [string, number] {
  const at = address.lastIndexOf(":");
  return [address.slice(0, at).replace(/^\[|\]$/g, ""), Number(address.slice(at + 1))];
}
