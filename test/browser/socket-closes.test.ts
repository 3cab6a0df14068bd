import { afterAll, describe, expect, inject, it } from "vitest";
import { signedInLearner } from "./learners.ts";

/*
 * When the server closes a socket from another request (a fourth socket of the user replaces the
 * oldest, 4001; sign-out everywhere, 4004), the client learns at once, as it does of a close made
 * while handling its own frame. Measured from the moment the request that makes the server decide
 * was sent to the client's notice: the `closing` frame the server sends just before
 * the close, or the close itself, whichever comes first. Real network sockets through `wrangler
 * dev`, in Node.
 */
const apiUrl = inject("apiUrl");
const opened: WebSocket[] = [];
afterAll(() => {
  for (const socket of opened) socket.close();
});

interface Watched {
  socket: WebSocket;
  /** performance.now() of the client's first notice that the server is closing it, and what it said. */
  notice?: { at: number; code: number; via: "closing frame" | "close" };
  closed?: { at: number; code: number };
}

async function watch(token: string): Promise<Watched> {
  const socket = new WebSocket(`${apiUrl.replace(/^http/, "ws")}/match/ws?level=C1&token=${token}`);
  opened.push(socket);
  const watched: Watched = { socket };
  socket.addEventListener("message", (event) => {
    if (event.data === "pong") return;
    const frame = JSON.parse(String(event.data)) as { type?: string; code?: number };
    if (frame.type === "closing" && !watched.notice) {
      watched.notice = { at: performance.now(), code: Number(frame.code), via: "closing frame" };
    }
  });
  socket.addEventListener("close", (event) => {
    watched.closed = { at: performance.now(), code: event.code };
    watched.notice ??= { at: performance.now(), code: event.code, via: "close" };
  });
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener("open", () => resolve(), { once: true });
    socket.addEventListener("error", () => reject(new Error("the socket did not open")), { once: true });
  });
  return watched;
}

async function noticed(watched: Watched, boundMs = 15_000): Promise<NonNullable<Watched["notice"]>> {
  const deadline = performance.now() + boundMs;
  while (!watched.notice && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!watched.notice) throw new Error("the client never learned of the close");
  return watched.notice;
}

describe("a close the server decides in another request", () => {
  it("reaches the oldest of four sockets within a second of the fourth opening (4001)", async () => {
    const { access_token } = await signedInLearner(apiUrl, "Closes", "C1");
    const first = await watch(access_token);
    await watch(access_token);
    await watch(access_token);
    // The server decides while it upgrades the fourth.
    const asked = performance.now();
    await watch(access_token);
    const notice = await noticed(first);
    expect(notice.code).toBe(4001);
    expect(notice.at - asked, `noticed by ${notice.via}`).toBeLessThan(1000);
  });

  it("reaches every socket within a second of signing out everywhere (4004)", async () => {
    const tokens = await signedInLearner(apiUrl, "Closes", "C1");
    const sockets = [await watch(tokens.access_token), await watch(tokens.access_token)];
    const asked = performance.now();
    const signedOut = await fetch(`${apiUrl}/auth/logout`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: tokens.refresh_token, everywhere: true }),
    });
    expect(signedOut.status).toBe(204);
    for (const watched of sockets) {
      const notice = await noticed(watched);
      expect(notice.code).toBe(4004);
      expect(notice.at - asked, `noticed by ${notice.via}`).toBeLessThan(1000);
    }
  });
});
