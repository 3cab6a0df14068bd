import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { calls } from "../../src/db/schema";
import type { testDatabase } from "./db";
import { eventually } from "./match";
import { openSessionSocket, pairInSession } from "./sessions";
import { ofType, type TestSocket } from "./sockets";

/** The session's room, for what a test must do inside it (age its clock, run its alarm). */
export const room = (sessionId: string) => env.SESSION_ROOM.get(env.SESSION_ROOM.idFromName(sessionId));

/**
 * The timeout of a test that evicts a room its sockets stay in: `evictDurableObject` waits up to
 * 10 s for the requests in flight, and a socket opened through the Worker is one, so on a busy
 * machine such a test needs more than the usual 20 s. Not a measure of speed (that is the bench's).
 */
export const evictionTimeoutMs = 60_000;

export const sdp = (kind: string) =>
  `v=0\r\no=- 46117 2 IN IP4 127.0.0.1\r\ns=${kind}\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n`;

export const candidate = {
  candidate: "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
  sdpMid: "0",
  sdpMLineIndex: 0,
};

/** Sends a call frame the contract describes; a test that sends a frame on purpose outside it uses `socket.send`. */
export function frame(socket: TestSocket, body: Record<string, unknown>): void {
  socket.send(body);
}

/** The `count`-th push of `type` the socket received, once it has. */
export async function next(socket: TestSocket, type: string, count = 1): Promise<Record<string, unknown>> {
  await eventually(() => ofType(socket, type).length >= count, `${type} #${count}`);
  return ofType(socket, type)[count - 1] ?? {};
}

/** Two learners in a session, both in its room. */
export async function inRoom(handle: ReturnType<typeof testDatabase>) {
  const { a, b, sessionId } = await pairInSession(handle);
  const aSocket = await openSessionSocket(a, sessionId);
  await next(aSocket, "room");
  const bSocket = await openSessionSocket(b, sessionId);
  await next(bSocket, "room");
  await next(aSocket, "peer.joined");
  return { a, b, sessionId, aSocket, bSocket };
}

/** The last `call.state` a socket was told, once it was told `state`. */
export async function told(socket: TestSocket, state: string): Promise<Record<string, unknown>> {
  await eventually(() => ofType(socket, "call.state").some((pushed) => pushed.state === state), `call.state ${state}`);
  return ofType(socket, "call.state").findLast((pushed) => pushed.state === state) ?? {};
}

/** The caller's socket calls the callee's and they connect: offer, answer, both report the connection up. */
export async function connectedCall(sockets: { aSocket: TestSocket; bSocket: TestSocket }) {
  const callId = crypto.randomUUID();
  frame(sockets.aSocket, { type: "call.offer", call_id: callId, sdp: sdp("offer") });
  await next(sockets.bSocket, "call.offer");
  frame(sockets.bSocket, { type: "call.answer", call_id: callId, sdp: sdp("answer") });
  await next(sockets.aSocket, "call.answer");
  frame(sockets.aSocket, { type: "call.connected", call_id: callId });
  frame(sockets.bSocket, { type: "call.connected", call_id: callId });
  await told(sockets.aSocket, "connected");
  return callId;
}

export async function callRow(handle: ReturnType<typeof testDatabase>, callId: string) {
  const [row] = await handle.db.select().from(calls).where(eq(calls.id, callId));
  return row;
}
