import type { AddressInfo, Socket } from "node:net";
import { createConnection } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";
import { Distance } from "./distance.ts";
import { type Incidents, incidentsToStderr } from "./incidents.ts";

export interface WsProxy {
  /** Value for `neonConfig.wsProxy`: the driver appends `?address=host:port`. */
  wsProxy: string;
  /**
   * The database goes away, for a server the stack does not own and so cannot stop: new
   * connections are refused and open ones dropped until `restore`.
   */
  cut(): void;
  restore(): void;
  /**
   * The database stalls: connections open and stay open, but no byte gets through either way
   * until `resume`, which delivers everything held, in order, as a network that heals would.
   */
  stall(): void;
  resume(): void;
  stop(): Promise<void>;
}

/** One client's WebSocket and its TCP connection to the database. */
interface Link {
  socket: WebSocket;
  tcp: Socket;
  connected: boolean;
  /** Client bytes not yet written to the database (before the connection is up, or while stalled). */
  held: Buffer[];
  /** The client hung up; the database hears of it after the bytes it sent before. */
  clientGone: boolean;
}

/**
 * The WebSocket→TCP bridge that Neon runs in front of its Postgres, so the serverless
 * driver reaches a local Postgres exactly as it reaches Neon. Only the addresses in
 * `allowedTargets` can be dialled: this is a bridge to our database, not an open relay.
 * `distance` delays each direction, the upgrade, bytes and hang-ups alike, by half its round trip.
 * A database connection that fails (not one the bridge cut itself) is told to `incidents`, and its
 * WebSocket closed, as Neon's proxy closes it.
 */
export async function startWsProxy(
  allowedTargets: string[],
  distance = new Distance(),
  incidents: Incidents = incidentsToStderr,
): Promise<WsProxy> {
  const allowed = new Set(allowedTargets);
  const links = new Set<Link>();
  let cut = false;
  let stalled = false;
  const deliver = (link: Link) => {
    if (stalled || !link.connected) return;
    for (const chunk of link.held.splice(0)) link.tcp.write(chunk);
    if (link.clientGone) link.tcp.end();
  };
  const server = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    path: "/v2",
    // Refused at the upgrade, as a proxy whose database is gone answers. The upgrade is a round
    // trip of its own before any Postgres byte moves, as it is to Neon.
    verifyClient: (_info, done) => {
      void distance
        .oneWay()
        .then(() => distance.oneWay())
        .then(() => done(!cut, 503, "database unreachable"));
    },
  });
  server.on("connection", (socket, request) => {
    const target = new URL(request.url ?? "", "http://proxy").searchParams.get("address") ?? "";
    if (!allowed.has(target)) {
      socket.close(1008, "address not allowed");
      return;
    }
    const [host, port] = splitHostPort(target);
    const tcp = createConnection({ host, port, noDelay: true });
    const link: Link = { socket, tcp, connected: false, held: [], clientGone: false };
    links.add(link);
    const toDatabase = distance.line();
    const toClient = distance.line();
    tcp.on("connect", () => {
      link.connected = true;
      deliver(link);
    });
    tcp.on("data", (chunk) => toClient(() => socket.send(chunk)));
    if (stalled) tcp.pause();
    tcp.on("close", () => {
      links.delete(link);
      toClient(() => socket.close());
    });
    tcp.on("error", (error) => {
      if (!cut) incidents("postgres (WebSocket bridge)", `connection to ${target} lost (${error.message})`);
      socket.terminate();
    });
    socket.on("message", (data: Buffer) =>
      toDatabase(() => {
        link.held.push(data);
        deliver(link);
      }),
    );
    socket.on("close", () =>
      toDatabase(() => {
        link.clientGone = true;
        deliver(link);
      }),
    );
    socket.on("error", () => tcp.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  server.on("error", (error) => incidents("WebSocket bridge", `server error (${error.message})`));
  const { port } = server.address() as AddressInfo;
  const dropAll = () => {
    for (const link of links) {
      link.socket.terminate();
      link.tcp.destroy();
    }
    links.clear();
  };
  return {
    wsProxy: `127.0.0.1:${port}/v2`,
    cut: () => {
      cut = true;
      dropAll();
    },
    restore: () => {
      cut = false;
    },
    stall: () => {
      stalled = true;
      // Bytes from the database stay in the kernel's buffers, as they would on a stalled network.
      for (const link of links) link.tcp.pause();
    },
    resume: () => {
      stalled = false;
      for (const link of links) {
        link.tcp.resume();
        deliver(link);
      }
    },
    stop: () =>
      new Promise<void>((resolve) => {
        dropAll();
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}

function splitHostPort(address: string): [string, number] {
  const at = address.lastIndexOf(":");
  return [address.slice(0, at).replace(/^\[|\]$/g, ""), Number(address.slice(at + 1))];
}
