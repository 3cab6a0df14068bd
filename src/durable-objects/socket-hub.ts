import { DurableObject } from "cloudflare:workers";

/** What each hibernating socket remembers about itself across evictions. */
export interface SocketAttachment {
  userId: string;
  connectedAt: number;
}

/**
 * The header through which the Worker, after authenticating the caller, tells the object
 * whose socket it is. Objects are reachable only through the Worker, never directly.
 */
export const socketUserHeader = "x-gaplash-user-id";

/**
 * Hibernatable WebSockets for pushes. State lives only in each socket's attachment and tags,
 * and `ping` is answered by the runtime itself, so idle sockets never wake the object.
 */
export abstract class SocketHub extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  override async fetch(request: Request): Promise<Response> {
    const userId = request.headers.get(socketUserHeader);
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket" || !userId) {
      return new Response("expected a WebSocket upgrade for a known user", { status: 426 });
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [userId]);
    server.serializeAttachment({ userId, connectedAt: Date.now() } satisfies SocketAttachment);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Sends `message` to every open socket of `userId` (or of everyone); returns how many got it. */
  protected push(message: unknown, userId?: string): number {
    const payload = JSON.stringify(message);
    let delivered = 0;
    for (const socket of this.ctx.getWebSockets(userId)) {
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
    const users = new Set<string>();
    for (const socket of this.ctx.getWebSockets()) {
      const attachment = socket.deserializeAttachment() as SocketAttachment | null;
      if (attachment) users.add(attachment.userId);
    }
    return [...users];
  }

  // Pushes flow one way; anything but the auto-answered ping is ignored.
  override async webSocketMessage(): Promise<void> {}

  override async webSocketClose(socket: WebSocket, code: number, reason: string): Promise<void> {
    try {
      socket.close(code === 1005 ? 1000 : code, reason);
    } catch {
      // Already closed by the runtime.
    }
  }
}
