import { afterAll, describe, expect, it } from "vitest";
import { bearer, type SignedIn, signIn } from "../support/auth";
import { testDatabase } from "../support/db";
import { api } from "../support/http";
import { learner } from "../support/match";
import { pairInSession, send, sessionBetween } from "../support/sessions";

/*
 * The corrections notebook (SPEC §10): what a learner reviews between sessions is every
 * correction their partners made of what they wrote, newest first, across sessions.
 */
const handle = testDatabase();
afterAll(() => handle.close());

interface Correction {
  id: string;
  session_id: string;
  original: string | null;
  corrected: string;
  corrector: { id: string; display_name: string | null } | null;
  created_at: string;
}

async function notebook(who: SignedIn, query = ""): Promise<{ items: Correction[]; next_cursor: string | null }> {
  const response = await api(`/me/corrections${query}`, { headers: bearer(who) });
  expect(response.status).toBe(200);
  return (await response.json()) as { items: Correction[]; next_cursor: string | null };
}

async function said(who: SignedIn, sessionId: string, text: string): Promise<string> {
  const response = await send(who, sessionId, { type: "text", text });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function corrected(who: SignedIn, sessionId: string, messageId: string, text: string): Promise<string> {
  const response = await send(who, sessionId, { type: "correction", corrects: messageId, text });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

describe("GET /me/corrections", () => {
  it("lists the corrections I received, with what I wrote and who corrected it, not the ones I made", async () => {
    const { a, b, sessionId } = await pairInSession(handle, ["Aziza", "Bobur"]);
    const mistake = await said(a, sessionId, "I goes to the market on Sunday");
    const fix = await corrected(b, sessionId, mistake, "I go to the market on Sunday");
    const theirs = await said(b, sessionId, "She don't like tea");
    await corrected(a, sessionId, theirs, "She doesn't like tea");

    expect((await notebook(a)).items).toEqual([
      {
        id: fix,
        session_id: sessionId,
        original: "I goes to the market on Sunday",
        corrected: "I go to the market on Sunday",
        corrector: { id: b.user.id, display_name: "Bobur" },
        created_at: expect.any(String),
      },
    ]);
    expect((await notebook(b)).items.map((item) => item.corrected)).toEqual(["She doesn't like tea"]);
    expect((await notebook(await signIn())).items).toEqual([]);
  });

  it("pages newest first across sessions with a keyset cursor", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const c = await learner("B1", "Chidi");
    const elsewhere = await sessionBetween(handle, a, c);
    const sessionsInTurn = [
      { sessionId, partner: b },
      { sessionId: elsewhere, partner: c },
      { sessionId, partner: b },
    ];
    for (const [index, text] of ["One mistake", "Two mistake", "Three mistake"].entries()) {
      const here = sessionsInTurn[index] ?? { sessionId, partner: b };
      const mistake = await said(a, here.sessionId, text);
      await corrected(here.partner, here.sessionId, mistake, `${text}s`);
    }
    const first = await notebook(a, "?limit=2");
    expect(first.items.map((item) => item.corrected)).toEqual(["Three mistakes", "Two mistakes"]);
    expect(first.items[1]?.session_id).toBe(elsewhere);
    expect(first.next_cursor).not.toBeNull();
    const second = await notebook(a, `?limit=2&cursor=${first.next_cursor}`);
    expect(second.items.map((item) => item.corrected)).toEqual(["One mistakes"]);
    expect(second.next_cursor).toBeNull();
  });

  it("keeps a correction whose corrector deleted their account, without naming them", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const mistake = await said(a, sessionId, "He have two cats");
    await corrected(b, sessionId, mistake, "He has two cats");
    expect((await api("/me", { method: "DELETE", headers: bearer(b) })).status).toBe(204);
    expect((await notebook(a)).items).toMatchObject([{ corrected: "He has two cats", corrector: null }]);
  });
});
