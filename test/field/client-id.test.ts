import { describe, expect, it } from "vitest";
import { bearer, type SignedIn } from "../support/auth";
import { testDatabase } from "../support/db";
import { api, readProblem } from "../support/http";
import { pairInSession, send, uploadVoiceNote } from "../support/sessions";

/*
 * A `client_id` names one message of its sender: a retry with the same payload replays the
 * stored message (200), and the same id with anything else is refused with 422
 * `CLIENT_ID_REUSED` naming the id, so the new text is never dropped without a word.
 */
const handle = testDatabase();

interface Message {
  id: string;
  text: string | null;
  client_id: string | null;
  duration_ms: number | null;
}

async function storedTexts(who: SignedIn, sessionId: string): Promise<(string | null)[]> {
  const page = (await (await api(`/sessions/${sessionId}/messages`, { headers: bearer(who) })).json()) as {
    items: Message[];
  };
  return page.items.map((item) => item.text);
}

async function reused(response: Response, clientId: string, messageId: string): Promise<void> {
  expect(response.status).toBe(422);
  const problem = await readProblem(response);
  expect(problem).toMatchObject({ code: "CLIENT_ID_REUSED", client_id: clientId, message_id: messageId });
  expect(problem.detail).toContain(clientId);
}

describe("a client_id used again", () => {
  it("replays the first message for the same text (trimmed alike), and refuses other text or a correction", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const clientId = crypto.randomUUID();
    const first = await send(a, sessionId, { type: "text", text: "See you at 5pm", client_id: clientId });
    expect(first.status).toBe(201);
    const stored = (await first.json()) as Message;

    const retry = await send(a, sessionId, { type: "text", text: "  See you at 5pm ", client_id: clientId });
    expect(retry.status).toBe(200);
    expect(((await retry.json()) as Message).id).toBe(stored.id);

    await reused(
      await send(a, sessionId, { type: "text", text: "See you at 6pm", client_id: clientId }),
      clientId,
      stored.id,
    );
    const partners = (await (await send(b, sessionId, { type: "text", text: "I goed" })).json()) as Message;
    await reused(
      await send(a, sessionId, {
        type: "correction",
        corrects: partners.id,
        text: "See you at 5pm",
        client_id: clientId,
      }),
      clientId,
      stored.id,
    );
    expect(await storedTexts(a, sessionId)).toEqual(["I goed", "See you at 5pm"]);
  });

  it("is the sender's own: the partner's message with the same id is a message of its own", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const clientId = crypto.randomUUID();
    expect((await send(a, sessionId, { type: "text", text: "Mine", client_id: clientId })).status).toBe(201);
    expect((await send(b, sessionId, { type: "text", text: "Yours", client_id: clientId })).status).toBe(201);
  });

  it("replays a voice note sent again from the same upload, and refuses another upload or duration", async () => {
    const { a, sessionId } = await pairInSession(handle);
    const upload = await uploadVoiceNote(a, crypto.getRandomValues(new Uint8Array(1024)));
    const clientId = crypto.randomUUID();
    const voice = { type: "voice", audio_url: upload.url, duration_ms: 3200, client_id: clientId };
    const first = await send(a, sessionId, voice);
    expect(first.status).toBe(201);
    const stored = (await first.json()) as Message;
    const retry = await send(a, sessionId, voice);
    expect(retry.status).toBe(200);
    expect(((await retry.json()) as Message).id).toBe(stored.id);

    await reused(await send(a, sessionId, { ...voice, duration_ms: 3300 }), clientId, stored.id);
    const other = await uploadVoiceNote(a, crypto.getRandomValues(new Uint8Array(1024)));
    await reused(await send(a, sessionId, { ...voice, audio_url: other.url }), clientId, stored.id);
    await reused(await send(a, sessionId, { type: "text", text: "3.2 s", client_id: clientId }), clientId, stored.id);
    expect(await storedTexts(a, sessionId)).toEqual([null]);
  });

  it("sent twice at once with different texts stores one and refuses the other; with one text, stores one", async () => {
    const { a, sessionId } = await pairInSession(handle);
    const racing = crypto.randomUUID();
    const answers = await Promise.all(
      ["Left", "Right"].map((text) => send(a, sessionId, { type: "text", text, client_id: racing })),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 422]);

    const same = crypto.randomUUID();
    const twice = await Promise.all(
      [0, 1].map(() => send(a, sessionId, { type: "text", text: "Once", client_id: same })),
    );
    expect(twice.map((answer) => answer.status).sort()).toEqual([200, 201]);
    const texts = await storedTexts(a, sessionId);
    expect(texts.filter((text) => text === "Once")).toHaveLength(1);
    expect(texts.filter((text) => text === "Left" || text === "Right")).toHaveLength(1);
  });
});
