import { DurableObject } from "cloudflare:workers";
import { describeError, log } from "../lib/logger";

/** What each hibernating socket remembers about itself across evictions. */
export interface SocketAttachment {
  userId: string;
  connectedAt: number;
  /** When the access token the socket was opened with expires (epoch ms); the socket closes then. */
  expiresAt: number;
  /** The device the client says it is (kept across its reconnections), or one of the socket's own. */
  deviceId: string;
  /** When the socket last sent a frame other than `ping` (epoch ms), where the object keeps it. */
  lastFrameAt?: number;
}

/**
 * The headers through which the Worker, after authenticating the caller, tells the object
 * whose socket it is and until when its token holds. Objects are reachable only through the
 * Worker, never directly.
 */
export const socketUserHeader = "x-gaplash-user-id";
export const socketExpiresHeader = "x-gaplash-token-expires";
export const socketDeviceHeader = "x-gaplash-device";

/** Close codes a client can act on: reconnect with a fresh token, stop, or fix what it sends. */
export const closeCodes = {
  /** The socket sent something this endpoint does not take. */
  unsupportedFrame: 1008,
  frameTooLarge: 1009,
  /** A newer socket of the same user replaced this one (at most `maxSocketsPerUser` each). */
  replaced: 4001,
  /** The access token expired: refresh it and reconnect. */
  tokenExpired: 4003,
  /** The account was suspended or deleted, or the user signed out everywhere: do not reconnect. */
  revoked: 4004,
  /** The session this socket joined has ended (its `ended` frame came first): do not reconnect. */
  sessionEnded: 4005,
  /** Nothing came from this socket for a minute (not even `ping`) while its device was in a call: reconnect. */
  silent: 4006,
} as const;

/**
 * Open sockets per user per object; a fourth closes the oldest that is not engaged (a phone, a
 * laptop and a spare tab).
 */
export const maxSocketsPerUser = 3;

/** The smallest alarm delay, so that a storm of changes does not set alarms in the past. */
const minimumAlarmDelayMs = 100;

/**
 * Hibernatable WebSockets for pushes. State lives only in each socket's attachment and tags,
 * and `ping` is answered by the runtime itself, so idle sockets never wake the object. Every
 * socket carries its token's expiry and is closed on the object's alarm when it passes.
 */
export abstract class SocketHub extends DurableObject<Env> {
  /** Frames larger than this close the socket (1009). */
  protected readonly maxFrameBytes: number = 1024;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  override async fetch(request: Request): Promise<Response> {
    const userId = request.headers.get(socketUserHeader);
    const expiresAt = Number(request.headers.get(socketExpiresHeader));
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket" || !userId || !(expiresAt > Date.now())) {
      return new Response("expected a WebSocket upgrade for a known user with a live token", { status: 426 });
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [userId]);
    const attachment: SocketAttachment = {
      userId,
      connectedAt: Date.now(),
      expiresAt,
      deviceId: request.headers.get(socketDeviceHeader) ?? crypto.randomUUID(),
    };
    server.serializeAttachment(attachment);
    this.closeOldestBeyondCap(userId);
    await this.onConnect(server, attachment);
    await this.rescheduleAlarm();
    return new Response(null, { status: 101, webSocket: client });
  }

  /** A socket was accepted; what it is sent now reaches the client first. */
  protected async onConnect(_socket: WebSocket, _attachment: SocketAttachment): Promise<void> {}

  /** A socket closed (the client left, or the object closed it). */
  protected async onDisconnect(_attachment: SocketAttachment): Promise<void> {}

  /** Whether a socket should outlast the others when a newer one replaces one (a socket in a call, say). */
  protected isEngaged(_attachment: SocketAttachment): boolean {
    return false;
  }

  private closeOldestBeyondCap(userId: string): void {
    const rank = (attachment: SocketAttachment) => (this.isEngaged(attachment) ? 1 : 0);
    const sockets = this.openSockets(userId).sort(
      (a, b) => rank(a.attachment) - rank(b.attachment) || a.attachment.connectedAt - b.attachment.connectedAt,
    );
    for (const { socket } of sockets.slice(0, Math.max(0, sockets.length - maxSocketsPerUser))) {
      this.close(socket, closeCodes.replaced, "replaced by a newer connection");
    }
  }

  /** The open sockets (of `userId`, or of everyone) with what each remembers. */
  protected openSockets(userId?: string): { socket: WebSocket; attachment: SocketAttachment }[] {
    return this.ctx.getWebSockets(userId).flatMap((socket) => {
      const attachment = socket.deserializeAttachment() as SocketAttachment | null;
      return attachment && socket.readyState === WebSocket.OPEN ? [{ socket, attachment }] : [];
    });
  }

  /**
   * Closes `socket` with `code`, telling the client first in a `{type: "closing", code, reason}`
   * frame. A close made while handling another request (a newer socket replacing this one, a
   * sign-out everywhere) reaches the client only seconds later under workerd's hibernation API,
   * while frames go out at once; so a client acts on the `closing` frame as on the close itself.
   */
  protected close(socket: WebSocket, code: number, reason: string): void {
    try {
      socket.send(JSON.stringify({ type: "closing", code, reason }));
      socket.close(code, reason);
    } catch {
      // Closed already.
    }
  }

  /** Sends `message` to every open socket of `userId` (or of everyone); returns how many got it. */
  protected push(message: unknown, userId?: string): number {
    const payload = JSON.stringify(message);
    let delivered = 0;
    for (const { socket } of this.openSockets(userId)) {
      try {
        socket.send(payload);
        delivered += 1;
      } catch {
        // A socket that closed while we iterated simply misses the push; the client catches up over HTTP.
      }
    }
    return delivered;
  }

  /** The users with at least one open socket here, read back from the attachments. */
  connectedUsers(): string[] {
    return [...new Set(this.openSockets().map(({ attachment }) => attachment.userId))];
  }

  /** Closes every socket of a user whose account was suspended or deleted; returns how many. */
  disconnect(userId: string): number {
    const sockets = this.openSockets(userId);
    for (const { socket } of sockets) this.close(socket, closeCodes.revoked, "the account can no longer connect");
    return sockets.length;
  }

  override async webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const size = typeof message === "string" ? new TextEncoder().encode(message).byteLength : message.byteLength;
    if (size > this.maxFrameBytes) {
      this.close(socket, closeCodes.frameTooLarge, `frames are at most ${this.maxFrameBytes} bytes`);
      return;
    }
    const attachment = socket.deserializeAttachment() as SocketAttachment | null;
    if (!attachment || attachment.expiresAt <= Date.now()) {
      this.close(socket, closeCodes.tokenExpired, "the access token expired; reconnect with a fresh one");
      return;
    }
    await this.onFrame(socket, attachment, message);
  }

  /** What the socket may send besides `ping`; by default nothing, and anything else closes it. */
  protected async onFrame(socket: WebSocket, _attachment: SocketAttachment, _frame: string | ArrayBuffer) {
    this.close(socket, closeCodes.unsupportedFrame, "this socket takes no messages but ping");
  }

  override async webSocketClose(socket: WebSocket, code: number, reason: string): Promise<void> {
    // The client closed: answer its close (code 1005 means "none given", which may not be sent back).
    try {
      socket.close(code === 1005 ? 1000 : code, reason);
    } catch {
      // Closed already.
    }
    await this.departed(socket);
  }

  /** A socket that failed (the connection broke without a close) has left as one that closed. */
  override async webSocketError(socket: WebSocket): Promise<void> {
    await this.departed(socket);
  }

  /** Sockets whose departure was handled: a failed socket may be closed too, and leaves once. */
  private readonly departedSockets = new WeakSet<WebSocket>();

  private async departed(socket: WebSocket): Promise<void> {
    if (this.departedSockets.has(socket)) return;
    this.departedSockets.add(socket);
    const attachment = socket.deserializeAttachment() as SocketAttachment | null;
    if (attachment) await this.onDisconnect(attachment);
  }

  /** When the object next has work of its own, besides closing sockets whose token expired. */
  protected nextWake(): number | undefined {
    return undefined;
  }

  /** The object's own work on the alarm; sockets whose token expired are closed first. */
  protected async onAlarm(): Promise<void> {}

  override async alarm(): Promise<void> {
    const now = Date.now();
    for (const { socket, attachment } of this.openSockets()) {
      if (attachment.expiresAt <= now) {
        this.close(socket, closeCodes.tokenExpired, "the access token expired; reconnect with a fresh one");
      }
    }
    try {
      await this.onAlarm();
    } catch (error) {
      log("error", "durable object alarm failed", describeError(error));
    } finally {
      await this.rescheduleAlarm();
    }
  }

  /** Sets the alarm for the earliest of the next token expiry and the object's own next wake. */
  protected async rescheduleAlarm(): Promise<void> {
    const moments = [...this.openSockets().map(({ attachment }) => attachment.expiresAt), this.nextWake()].filter(
      (moment) => moment !== undefined,
    );
    if (moments.length === 0) {
      await this.ctx.storage.deleteAlarm();
      return;
    }
    await this.ctx.storage.setAlarm(Math.max(Math.min(...moments), Date.now() + minimumAlarmDelayMs));
  }
}
