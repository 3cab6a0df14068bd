import { describe, expect, it } from "vitest";

/*
 * A containing hit of word similarity 0 and a look-alike of word similarity 1 both score 0.5: a
 * walk must still return each of them once, in the order one page gives.
 */
import { bearer, type SignedIn } from "../support/auth";
import { testDatabase } from "../support/db";
import { api } from "../support/http";
import { pairInSession, send } from "../support/sessions";

const handle = testDatabase();

interface Hit {
  id: string;
  text: string;
  score: number;
}

async function search(who: SignedIn, q: string, cursor?: string, limit = 20) {
  const query = new URLSearchParams({ q, limit: String(limit), ...(cursor ? { cursor } : {}) });
  const response = await api(`/messages/search?${query}`, { headers: bearer(who) });
  expect(response.status).toBe(200);
  return (await response.json()) as { items: Hit[]; next_cursor: string | null };
}

async function walk(who: SignedIn, q: string, limit: number): Promise<Hit[]> {
  const walked: Hit[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await search(who, q, cursor, limit);
    walked.push(...page.items);
    cursor = page.next_cursor ?? undefined;
    pages += 1;
  } while (cursor && pages < 50);
  return walked;
}

describe("a search whose containing hits and look-alikes tie at score 0.5", () => {
  it("a walk of limit 1 returns every hit that a single page returns (containing hit of word similarity 0 vs a look-alike of similarity 1)", async () => {
    const { a, sessionId } = await pairInSession(handle);
    // "n-" is contained in "an-" with word similarity 0 (no trigram of "n-" is in "an-"): score 0.5.
    // "n x" does not contain "n-" but holds every trigram of it: word similarity 1, score 0.5.
    const ids: string[] = [];
    for (const text of ["an-", "ban-", "n x"]) {
      ids.push(((await (await send(a, sessionId, { type: "text", text })).json()) as Hit).id);
    }
    const single = await search(a, "n-", undefined, 20);
    // One page sees all three, the newest (the look-alike) first at the tie.
    expect(single.items.map((hit) => hit.text)).toEqual(["n x", "ban-", "an-"]);
    expect(single.items.map((hit) => hit.score)).toEqual([0.5, 0.5, 0.5]);
    const walked = await walk(a, "n-", 1);
    expect(walked.map((hit) => hit.text)).toEqual(["n x", "ban-", "an-"]);
  });

  it("a walk of limit 2 does not skip the look-alike either", async () => {
    const { a, sessionId } = await pairInSession(handle);
    for (const text of ["an-", "ban-", "can-", "n x"]) await send(a, sessionId, { type: "text", text });
    const walked = await walk(a, "n-", 2);
    expect(walked.map((hit) => hit.text).sort()).toEqual(["an-", "ban-", "can-", "n x"].sort());
  });
});
