import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { messageRevisions, messages } from "../../src/db/schema";
import worker from "../../src/index";
import { bearer, type SignedIn, signIn } from "../support/auth";
import { inRoom, next } from "../support/calls";
import { makeAdmin, testDatabase } from "../support/db";
import { api, apiWith, postJson, readProblem } from "../support/http";
import { endWith, pairInSession, send, uploadVoiceNote } from "../support/sessions";

/*
 * Edit and delete without erasing evidence (SPEC §10): a sender may fix a typo for 15 minutes
 * and delete a message at any time; the partner sees both at once; moderators still see what it
 * said, so a transcript cleaned before a report is no alibi.
 */
const handle = testDatabase();
afterAll(() => handle.close());

interface MessageView {
  id: string;
  type: string;
  text: string | null;
  audio_url: string | null;
  corrects: string | null;
  edited_at: string | null;
  deleted_at: string | null;
}

async function said(who: SignedIn, sessionId: string, body: Record<string, unknown>): Promise<MessageView> {
  const response = await send(who, sessionId, body);
  expect(response.status).toBe(201);
  return (await response.json()) as MessageView;
}

const edit = (who: SignedIn, sessionId: string, messageId: string, text: string) =>
  postJson(`/sessions/${sessionId}/messages/${messageId}`, { text }, { method: "PATCH", headers: bearer(who) });

const remove = (who: SignedIn, sessionId: string, messageId: string) =>
  api(`/sessions/${sessionId}/messages/${messageId}`, { method: "DELETE", headers: bearer(who) });

async function history(who: SignedIn, sessionId: string): Promise<MessageView[]> {
  const page = (await (await api(`/sessions/${sessionId}/messages`, { headers: bearer(who) })).json()) as {
    items: MessageView[];
  };
  return page.items;
}

async function searched(who: SignedIn, words: string): Promise<string[]> {
  const response = await api(`/messages/search?q=${encodeURIComponent(words)}`, { headers: bearer(who) });
  expect(response.status).toBe(200);
  return ((await response.json()) as { items: { id: string }[] }).items.map((item) => item.id);
}

describe("PATCH /sessions/{id}/messages/{message_id}", () => {
  it("changes the sender's text for both, marks it edited, and search finds the new text only", async () => {
    const { a, b, sessionId, bSocket } = await inRoom(handle);
    const before = `zebra${crypto.randomUUID().slice(0, 8)}`;
    const after = `okapi${crypto.randomUUID().slice(0, 8)}`;
    const typo = await said(a, sessionId, { type: "text", text: `I has a ${before}` });
    const response = await edit(a, sessionId, typo.id, `I have a ${after}`);
    expect(response.status).toBe(200);
    const edited = (await response.json()) as MessageView;
    expect(edited).toMatchObject({ id: typo.id, text: `I have a ${after}`, edited_at: expect.any(String) });
    expect(await next(bSocket, "message.updated")).toEqual({ type: "message.updated", message: edited });
    expect((await history(b, sessionId)).find((message) => message.id === typo.id)).toEqual(edited);
    expect(await searched(b, after)).toEqual([typo.id]);
    expect(await searched(b, before)).toEqual([]);
    // The same text again is a retry: nothing changes, nobody is told again.
    expect(await (await edit(a, sessionId, typo.id, `I have a ${after}`)).json()).toEqual(edited);
  });

  it("is the sender's alone: anyone else, or any other message, is 404 and changes nothing", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const mine = await said(a, sessionId, { type: "text", text: "Mine to fix" });
    for (const [who, id] of [
      [b, mine.id],
      [await signIn(), mine.id],
      [a, crypto.randomUUID()],
    ] as const) {
      const refused = await edit(who, sessionId, id, "Not yours");
      expect(refused.status).toBe(404);
      expect((await readProblem(refused)).code).toBe("NOT_FOUND");
    }
    expect((await remove(b, sessionId, mine.id)).status).toBe(404);
    expect((await history(a, sessionId))[0]).toMatchObject({ text: "Mine to fix", edited_at: null, deleted_at: null });
  });

  it("closes 15 minutes after sending, and for voice notes, deleted messages and ended sessions", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const old = await said(a, sessionId, { type: "text", text: "Sent long ago" });
    await handle.db
      .update(messages)
      .set({ createdAt: sql`created_at - interval '16 minutes'` })
      .where(eq(messages.id, old.id));
    const late = await edit(a, sessionId, old.id, "Too late");
    expect(late.status).toBe(409);
    expect((await readProblem(late)).code).toBe("EDIT_WINDOW_CLOSED");
    // A retry of an edit that landed is a success whenever it comes; a body with more than text is refused.
    expect((await edit(a, sessionId, old.id, "Sent long ago")).status).toBe(200);
    const extra = await postJson(
      `/sessions/${sessionId}/messages/${old.id}`,
      { text: "Sent long ago", type: "voice" },
      { method: "PATCH", headers: bearer(a) },
    );
    expect(extra.status).toBe(400);

    const note = await uploadVoiceNote(a, crypto.getRandomValues(new Uint8Array(512)));
    const voice = await said(a, sessionId, { type: "voice", audio_url: note.url, duration_ms: 900 });
    expect((await edit(a, sessionId, voice.id, "Words")).status).toBe(409);
    const gone = await said(a, sessionId, { type: "text", text: "Soon gone" });
    expect((await remove(a, sessionId, gone.id)).status).toBe(204);
    expect((await edit(a, sessionId, gone.id, "Back")).status).toBe(409);
    const correctingTombstone = await send(b, sessionId, { type: "correction", corrects: gone.id, text: "Soon here" });
    expect(correctingTombstone.status).toBe(400);

    const fresh = await said(a, sessionId, { type: "text", text: "Before the end" });
    expect((await endWith(a, sessionId, { rating: 4 })).status).toBe(200);
    const ended = await edit(a, sessionId, fresh.id, "After the end");
    expect(ended.status).toBe(409);
    expect((await readProblem(ended)).code).toBe("CONFLICT");
    const texts = (await history(a, sessionId)).map((message) => message.text);
    expect(texts).toEqual(expect.arrayContaining(["Sent long ago", "Before the end"]));
  });
});

describe("edits and deletes", () => {
  it("count against the messages limit: past it, 429 and nothing changes", async () => {
    const { a, sessionId } = await pairInSession(handle);
    const first = await said(a, sessionId, { type: "text", text: "Firts" });
    // One counter with the send: the message above was the first of three.
    const limited = { RATE_LIMIT_MESSAGES_PER_MIN: "3" };
    const patch = (text: string) =>
      apiWith(limited, `/sessions/${sessionId}/messages/${first.id}`, {
        method: "PATCH",
        headers: { ...bearer(a), "content-type": "application/json" },
        body: JSON.stringify({ text }),
      });
    expect((await patch("First")).status).toBe(200);
    expect((await patch("First!")).status).toBe(200);
    const refused = await patch("First!!");
    expect(refused.status).toBe(429);
    expect(await readProblem(refused)).toMatchObject({ code: "RATE_LIMITED", limit: "messages" });
    const deleteRefused = await apiWith(limited, `/sessions/${sessionId}/messages/${first.id}`, {
      method: "DELETE",
      headers: bearer(a),
    });
    expect(deleteRefused.status).toBe(429);
    expect((await history(a, sessionId))[0]).toMatchObject({ text: "First!", deleted_at: null });
  });
});

describe("DELETE /sessions/{id}/messages/{message_id}", () => {
  it("leaves a tombstone for both and is idempotent; the recording stays for moderators 30 days, then goes", async () => {
    const { a, b, sessionId, bSocket } = await inRoom(handle);
    const note = await uploadVoiceNote(a, crypto.getRandomValues(new Uint8Array(2048)));
    const voice = await said(a, sessionId, { type: "voice", audio_url: note.url, duration_ms: 1500 });

    expect((await remove(a, sessionId, voice.id)).status).toBe(204);
    expect(await next(bSocket, "message.deleted")).toMatchObject({
      message_id: voice.id,
      deleted_at: expect.any(String),
    });
    expect((await history(b, sessionId)).find((message) => message.id === voice.id)).toMatchObject({
      text: null,
      audio_url: null,
      deleted_at: expect.any(String),
    });
    expect((await remove(a, sessionId, voice.id)).status).toBe(204);

    // Reported afterwards: the moderator still hears what was said.
    const filed = await postJson(
      "/reports",
      { target_user_id: a.user.id, reason: "harassment", session_id: sessionId },
      { headers: bearer(b) },
    );
    const { id: reportId } = (await filed.json()) as { id: string };
    const moderator = await signIn();
    await makeAdmin(handle, moderator.user.id);
    const reports = (await (await api("/admin/reports?limit=100", { headers: bearer(moderator) })).json()) as {
      items: { id: string; evidence: { id: string; revisions?: { audio_url?: string | null }[] }[] }[];
    };
    const kept = reports.items.find((report) => report.id === reportId)?.evidence.find((m) => m.id === voice.id);
    const recording = kept?.revisions?.[0]?.audio_url ?? "";
    expect((await fetch(recording)).status).toBe(200);

    // Thirty days on, the sweep deletes the revision and the recording with it.
    await handle.db
      .update(messageRevisions)
      .set({ revisedAt: sql`revised_at - interval '31 days'` })
      .where(eq(messageRevisions.messageId, voice.id));
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "* * * * *", scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await handle.db.select().from(messageRevisions).where(eq(messageRevisions.messageId, voice.id))).toEqual([]);
    expect((await fetch(recording)).status).toBe(404);
  });

  it("keeps corrections of a deleted message readable, and no longer counts it as unread", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const mistake = await said(a, sessionId, { type: "text", text: "I goed home" });
    const correction = await said(b, sessionId, { type: "correction", corrects: mistake.id, text: "I went home" });
    expect((await remove(a, sessionId, mistake.id)).status).toBe(204);
    expect((await history(a, sessionId)).find((message) => message.id === correction.id)).toMatchObject({
      type: "correction",
      text: "I went home",
      corrects: mistake.id,
    });
    const notebook = (await (await api("/me/corrections", { headers: bearer(a) })).json()) as {
      items: { corrected: string; original: string | null }[];
    };
    expect(notebook.items).toEqual([expect.objectContaining({ corrected: "I went home", original: null })]);
    const sessions = (await (await api("/sessions", { headers: bearer(b) })).json()) as {
      items: { id: string; unread_count: number }[];
    };
    expect(sessions.items.find((item) => item.id === sessionId)?.unread_count).toBe(0);
  });
});

describe("a report after a cleaned transcript", () => {
  it("shows moderators what each message said before it was edited or deleted", async () => {
    const { a, b, sessionId } = await pairInSession(handle, ["Harasser", "Victim"]);
    const insult = await said(a, sessionId, { type: "text", text: "You are stupid" });
    const threat = await said(a, sessionId, { type: "text", text: "I know where you live" });
    expect((await edit(a, sessionId, insult.id, "You are nice")).status).toBe(200);
    expect((await remove(a, sessionId, threat.id)).status).toBe(204);

    const filed = await postJson(
      "/reports",
      { target_user_id: a.user.id, reason: "harassment", session_id: sessionId },
      { headers: bearer(b) },
    );
    expect(filed.status).toBe(201);
    const { id } = (await filed.json()) as { id: string };
    const moderator = await signIn();
    await makeAdmin(handle, moderator.user.id);
    const reports = (await (await api("/admin/reports?limit=100", { headers: bearer(moderator) })).json()) as {
      items: {
        id: string;
        evidence: { id: string; text: string | null; revisions?: { kind: string; text: string | null }[] }[];
      }[];
    };
    const evidence = reports.items.find((report) => report.id === id)?.evidence ?? [];
    expect(evidence.find((message) => message.id === insult.id)).toMatchObject({
      text: "You are nice",
      revisions: [{ kind: "edited", text: "You are stupid" }],
    });
    expect(evidence.find((message) => message.id === threat.id)).toMatchObject({
      text: null,
      revisions: [{ kind: "deleted", text: "I know where you live" }],
    });
  });
});
