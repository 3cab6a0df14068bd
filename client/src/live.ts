import { currentTokens, refreshTokens, socketUrl } from "./api";

/** Close codes the API's sockets use (src/durable-objects/socket-hub.ts). */
const tokenExpired = 4003;
const doNotReconnect = new Set([4001, 4004, 4005, 1008]);
/** How often an open socket says it is alive; a room in a call takes a socket silent for 60 s for gone. */
const pingEveryMs = 20_000;

/**
 * A WebSocket to the API that stays open: it reconnects with backoff (0.5 s doubling to 10 s),
 * refreshes the access token first when the server closed it for expiry, and stops for good when
 * the server says not to come back (replaced, revoked, refused). `onOpen` runs on every
 * (re)connection, so the owner can catch up over HTTP what it missed.
 */
export class LiveSocket {
  private socket: WebSocket | null = null;
  private attempt = 0;
  private closed = false;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private readonly ping = setInterval(() => {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send("ping");
  }, pingEveryMs);

  constructor(
    private readonly path: string,
    private readonly query: Record<string, string>,
    private readonly handlers: {
      onMessage(frame: Record<string, unknown>): void;
      onOpen?(): void;
      onState?(state: "connecting" | "open" | "closed"): void;
    },
  ) {
    this.connect();
  }

  private connect(): void {
    if (this.closed) return;
    this.handlers.onState?.("connecting");
    // The pair it connects with: if the server says that token expired, that pair is the stale one.
    const sentRefreshToken = currentTokens()?.refresh_token;
    const socket = new WebSocket(socketUrl(this.path, this.query));
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.attempt = 0;
      this.handlers.onState?.("open");
      this.handlers.onOpen?.();
    });
    socket.addEventListener("message", (event) => {
      if (event.data === "pong") return;
      let frame: Record<string, unknown>;
      try {
        frame = JSON.parse(String(event.data)) as Record<string, unknown>;
      } catch {
        return; // Not a frame of ours.
      }
      // The server is closing this socket: its close may reach us seconds later, so act now.
      if (frame.type === "closing") {
        this.serverClosed(socket, Number(frame.code), sentRefreshToken);
        socket.close(1000, "closing");
        return;
      }
      this.handlers.onMessage(frame);
    });
    socket.addEventListener("close", (event) => this.serverClosed(socket, event.code, sentRefreshToken));
  }

  /** The socket ended with `code` (by its close, or the `closing` frame before it): reconnect or stop. */
  private serverClosed(socket: WebSocket, code: number, sentRefreshToken: string | undefined): void {
    if (this.socket !== socket) return;
    this.socket = null;
    if (this.closed || doNotReconnect.has(code)) {
      this.handlers.onState?.("closed");
      return;
    }
    void this.reconnect(code === tokenExpired ? sentRefreshToken : undefined, code === tokenExpired);
  }

  private async reconnect(stale: string | undefined, refresh: boolean): Promise<void> {
    // A refresh that could not be made (offline, timed out) is tried again with the next attempt.
    const refreshed = refresh ? await refreshTokens(stale).catch(() => null) : true;
    if (refreshed === false) return;
    const delay = Math.min(10_000, 500 * 2 ** this.attempt);
    this.attempt += 1;
    this.retry = setTimeout(() => this.connect(), delay);
  }

  send(frame: Record<string, unknown>): boolean {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    clearInterval(this.ping);
    this.socket?.close(1000, "leaving");
  }
}
