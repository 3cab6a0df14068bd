import { afterAll, describe, expect, it } from "vitest";
import { bearer, type SignedIn, signIn } from "../support/auth";
import { testDatabase } from "../support/db";
import { api, apiWith, postJson, readProblem } from "../support/http";
import { eventually } from "../support/match";
import { endWith, openSessionSocket, pairInSession, send } from "../support/sessions";
import { ofType } from "../support/sockets";
import { withinOneWindow } from "../support/windows";

const handle = testDatabase();
afterAll(() => handle.close());

interface MessageBody {
  id: string;
  session_id: string;
  sender_id: string | null;
  type: string;
  text: string | null;
  audio_url: string | null;
  corrects: string | null;
  client_id: string | null;
  created_at: string;
}
type Page = { items: MessageBody[]; next_cursor: string | null };

const page = async (who: SignedIn, sessionId: string, query = "") =>
  api(`/sessions/${sessionId}/messages${query}`, { headers: bearer(who) });

describe("POST /sessions/{id}/messages", () => {
  it("stores 25 texts from both sides, paged 20 + 5 newest first", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    for (let i = 0; i < 25; i += 1) {
      const response = await send(i % 2 === 0 ? a : b, sessionId, { type: "text", text: `message ${i}` });
      expect(response.status).toBe(201);
    }
    const first = (await (await page(a, sessionId)).json()) as Page;
    expect(first.items).toHaveLength(20);
    expect(first.items[0]?.text).toBe("message 24");
    const second = (await (await page(a, sessionId, `?cursor=${first.next_cursor}`)).json()) as Page;
    expect(second.items.map((item) => item.text)).toEqual([4, 3, 2, 1, 0].map((i) => `message ${i}`));
    expect(second.next_cursor).toBeNull();
    expect(first.items[0]?.sender_id).toBe(a.user.id);
  });

  it("stores a retried send with the same client_id once and returns the first message", async () => {
    const { a, sessionId } = await pairInSession(handle);
    const clientId = crypto.randomUUID();
    const first = await send(a, sessionId, { type: "text", text: "Salom!", client_id: clientId });
    expect(first.status).toBe(201);
    const retry = await send(a, sessionId, { type: "text", text: "Salom!", client_id: clientId });
    expect(retry.status).toBe(200);
    expect(await retry.json()).toEqual(await first.json());
    const stored = (await (await page(a, sessionId)).json()) as Page;
    expect(stored.items).toHaveLength(1);
  });

  it("stores a correction of the partner's message, and refuses one of your own", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const original = (await (
      await send(a, sessionId, { type: "text", text: "I goed to school" })
    ).json()) as MessageBody;
    const correction = await send(b, sessionId, {
      type: "correction",
      corrects: original.id,
      text: "I went to school",
    });
    expect(correction.status).toBe(201);
    expect(await correction.json()).toMatchObject({
      type: "correction",
      corrects: original.id,
      text: "I went to school",
    });
    const own = await send(a, sessionId, { type: "correction", corrects: original.id, text: "I went" });
    expect(own.status).toBe(400);
    expect((await readProblem(own)).errors?.[0]?.field).toBe("body.corrects");
    const unknown = await send(b, sessionId, { type: "correction", corrects: crypto.randomUUID(), text: "x" });
    expect(unknown.status).toBe(400);
  });

  it("accepts a voice note uploaded with a URL presigned for the sender, and refuses any other URL", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const bytes = crypto.getRandomValues(new Uint8Array(1024));
    const presigned = (await (
      await postJson(
        "/uploads/presign",
        { kind: "voice", content_type: "audio/ogg", size: bytes.byteLength },
        { headers: bearer(a) },
      )
    ).json()) as { upload_url: string; headers: Record<string, string>; url: string };

    const beforeUpload = await send(a, sessionId, { type: "voice", audio_url: presigned.url, duration_ms: 3200 });
    expect(beforeUpload.status).toBe(400);

    await fetch(presigned.upload_url, { method: "PUT", headers: presigned.headers, body: bytes });
    const voice = await send(a, sessionId, { type: "voice", audio_url: presigned.url, duration_ms: 3200 });
    expect(voice.status).toBe(201);
    expect(await voice.json()).toMatchObject({ type: "voice", audio_url: expect.any(String), text: null });

    const stolen = await send(b, sessionId, { type: "voice", audio_url: presigned.url, duration_ms: 3200 });
    expect(stolen.status).toBe(400);
    expect((await readProblem(stolen)).errors?.[0]?.field).toBe("body.audio_url");
    const foreign = await send(a, sessionId, {
      type: "voice",
      audio_url: `https://evil.example/gaplash/uploads/${a.user.id}/${crypto.randomUUID()}.ogg`,
      duration_ms: 10,
    });
    expect(foreign.status).toBe(400);
  });

  it("refuses empty or over-long text naming the field", async () => {
    const { a, sessionId } = await pairInSession(handle);
    for (const text of ["   ", "x".repeat(4001)]) {
      const response = await send(a, sessionId, { type: "text", text });
      expect(response.status).toBe(400);
      expect((await readProblem(response)).errors?.[0]?.field).toBe("body.text");
    }
  });

  it("answers 409 once the session has ended", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    await endWith(b, sessionId, { rating: 5 });
    const response = await send(a, sessionId, { type: "text", text: "still there?" });
    expect(response.status).toBe(409);
  });

  it("pushes every stored message live to the partner's open socket", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const socket = await openSessionSocket(b, sessionId);
    const sent = (await (await send(a, sessionId, { type: "text", text: "Can you hear me?" })).json()) as MessageBody;
    await eventually(() => ofType(socket, "message").length > 0, "the live message");
    expect(ofType(socket, "message")).toEqual([{ type: "message", message: sent }]);
  });

  it("limits sends per user per minute (429 with Retry-After)", async () => {
    await withinOneWindow(60_000, 8_000);
    const { a, sessionId } = await pairInSession(handle);
    // A small limit, so the sends all fall in one window however slow the machine is.
    const sendLimited = (text: string) =>
      apiWith({ RATE_LIMIT_MESSAGES_PER_MIN: "5" }, `/sessions/${sessionId}/messages`, {
        method: "POST",
        headers: { ...bearer(a), "content-type": "application/json" },
        body: JSON.stringify({ type: "text", text }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await sendLimited(`m${i}`)).status);
    const limited = await sendLimited("one too many");
    expect([...statuses, limited.status]).toEqual([201, 201, 201, 201, 201, 429]);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});

describe("an outsider", () => {
  it("gets 404 on the session, its messages, posting and its socket, and learns nothing", async () => {
    const { a, sessionId } = await pairInSession(handle);
    await send(a, sessionId, { type: "text", text: "private" });
    const outsider = await signIn();
    expect((await api(`/sessions/${sessionId}`, { headers: bearer(outsider) })).status).toBe(404);
    expect((await page(outsider, sessionId)).status).toBe(404);
    expect((await send(outsider, sessionId, { type: "text", text: "hi" })).status).toBe(404);
    const socket = await api(`/sessions/${sessionId}/ws?token=${outsider.access_token}`, {
      headers: { Upgrade: "websocket" },
    });
    expect(socket.status).toBe(404);
    expect((await page(outsider, crypto.randomUUID())).status).toBe(404);
  });
});

describe("GET /messages/search", () => {
  it("finds a word by similarity for the participants and for nobody else", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const word = `zebrafish${crypto.randomUUID().slice(0, 6)}`;
    await send(a, sessionId, { type: "text", text: `Yesterday I saw a ${word} at the market` });
    await send(b, sessionId, { type: "text", text: "The weather is lovely" });
    for (const who of [a, b]) {
      const response = await api(`/messages/search?q=${word}`, { headers: bearer(who) });
      expect(response.status).toBe(200);
      const result = (await response.json()) as { items: (MessageBody & { score: number })[] };
      expect(result.items).toHaveLength(1);
      expect(result.items[0]?.text).toContain(word);
      expect(result.items[0]?.score).toBeGreaterThan(0.5);
    }
    const outsider = await signIn();
    const none = (await (await api(`/messages/search?q=${word}`, { headers: bearer(outsider) })).json()) as {
      items: unknown[];
    };
    expect(none.items).toEqual([]);
  });

  it("ranks the closest match first", async () => {
    const { a, sessionId } = await pairInSession(handle);
    const stem = `kalamush${crypto.randomUUID().slice(0, 4)}`;
    await send(a, sessionId, { type: "text", text: `${stem}ing all day long` });
    await send(a, sessionId, { type: "text", text: `I like ${stem}` });
    const result = (await (await api(`/messages/search?q=${stem}`, { headers: bearer(a) })).json()) as {
      items: { text: string; score: number }[];
    };
    expect(result.items.map((item) => item.text)).toEqual([`I like ${stem}`, `${stem}ing all day long`]);
  });

  it("refuses an empty query", async () => {
    const me = await signIn();
    const response = await api("/messages/search?q=%20", { headers: bearer(me) });
    expect(response.status).toBe(400);
    expect((await readProblem(response)).errors?.[0]?.field).toBe("query.q");
  });
});
