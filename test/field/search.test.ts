import { describe, expect, it } from "vitest";
import { bearer, type SignedIn, signIn } from "../support/auth";
import { testDatabase } from "../support/db";
import { api, readProblem } from "../support/http";
import { pairInSession, send } from "../support/sessions";

/*
 * Search finds any exact substring of a message the caller took part in, in any script, ranked,
 * and pages by a keyset over the ranking: a walk never repeats or skips a hit that existed when
 * it started, however many messages arrive meanwhile.
 */
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

describe("a search in scripts written without spaces", () => {
  it.each([
    ["日本語を勉強しています", ["勉強して", "勉強", "しています", "日本語"]],
    ["我每天都在学习中文，我的猫也是", ["学习中文", "中文", "每天", "猫"]],
    ["ฉันกำลังเรียนภาษาไทยทุกวัน", ["เรียนภาษา", "ภาษาไทย"]],
    ["나는 한국어를공부하고있어요", ["공부하고", "한국어"]],
  ])("finds %j by any substring, for its participants only", async (text, queries) => {
    const { a, b, sessionId } = await pairInSession(handle);
    const marker = crypto.randomUUID().slice(0, 8);
    const stored = (await (await send(a, sessionId, { type: "text", text: `${text} ${marker}` })).json()) as Hit;
    const outsider = await signIn();
    for (const q of queries) {
      for (const who of [a, b]) {
        const hits = (await search(who, q)).items.filter((hit) => hit.id === stored.id);
        expect(hits, `${q} in ${text}`).toHaveLength(1);
        expect(hits[0]?.score).toBeGreaterThanOrEqual(0.5);
      }
      expect((await search(outsider, q)).items.map((hit) => hit.id)).not.toContain(stored.id);
    }
  });
});

describe("a search for LIKE's wildcards", () => {
  it("takes % and _ literally: only the literal text contains the query (a look-alike may follow as a fuzzy hit)", async () => {
    const { a, sessionId } = await pairInSession(handle);
    const tag = crypto.randomUUID().slice(0, 6);
    await send(a, sessionId, { type: "text", text: `${tag} I am 100% sure` });
    await send(a, sessionId, { type: "text", text: `${tag} I am 1000 sure` });
    await send(a, sessionId, { type: "text", text: `${tag} snake_case here` });
    await send(a, sessionId, { type: "text", text: `${tag} snakeXcase here` });
    const texts = async (q: string) =>
      (await search(a, q)).items.filter((hit) => hit.text.startsWith(tag) && hit.score >= 0.5).map((hit) => hit.text);
    expect(await texts("100% sure")).toEqual([`${tag} I am 100% sure`]);
    expect(await texts("snake_case")).toEqual([`${tag} snake_case here`]);
  });
});

describe("paging through search hits while messages arrive", () => {
  it("never repeats or skips a hit that existed when the walk started", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const word = `qalampir${crypto.randomUUID().slice(0, 4)}`;
    const existing: string[] = [];
    for (const text of [`${word}`, `I like ${word}`, `${word} soup`, `the ${word} is hot`, `more ${word} please`]) {
      existing.push(((await (await send(a, sessionId, { type: "text", text })).json()) as Hit).id);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await search(a, word, cursor, 2);
      seen.push(...page.items.map((hit) => hit.id));
      // A new hit after every page, ranked at the top (the word alone) and in between.
      await send(b, sessionId, { type: "text", text: word });
      await send(b, sessionId, { type: "text", text: `a ${word} again` });
      cursor = page.next_cursor ?? undefined;
      pages += 1;
    } while (cursor && pages < 20);
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of existing) expect(seen).toContain(id);
  });

  it("walks every containing hit, then every look-alike, across the page where one gives way to the other", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const word = `qovunpalov${crypto.randomUUID().slice(0, 4)}`;
    // One letter short of the query: no ILIKE hit, but a trigram look-alike of it.
    const typo = word.slice(0, -1);
    const contained = [`${word}`, `I like ${word}`, `${word} and bread`];
    const lookAlikes = [`${typo}`, `my ${typo} today`, `the ${typo} was good`];
    for (const text of [...lookAlikes, ...contained]) await send(a, sessionId, { type: "text", text });
    const walked = await walk(b, word, 2);
    expect(walked.map((hit) => hit.text).sort()).toEqual([...contained, ...lookAlikes].sort());
    expect(walked.slice(0, 3).every((hit) => hit.score > 0.5)).toBe(true);
    expect(walked.slice(3).every((hit) => hit.score <= 0.5 && hit.score > 0)).toBe(true);
    const scores = walked.map((hit) => hit.score);
    expect(scores).toEqual([...scores].sort((x, y) => y - x));
  });

  it("refuses a cursor it did not issue, such as an offset", async () => {
    const me = await signIn();
    const offset = btoa(JSON.stringify({ offset: 1 })).replace(/=+$/, "");
    const response = await api(`/messages/search?q=hello&cursor=${offset}`, { headers: bearer(me) });
    expect(response.status).toBe(400);
    expect((await readProblem(response)).errors?.[0]?.field).toBe("query.cursor");
  });
});

describe("a search whose containing hits and look-alikes tie at score 0.5", () => {
  it("walks, one hit a page, every hit one page holds: a containing hit of word similarity 0 and a look-alike of 1 tie", async () => {
    const { a, sessionId } = await pairInSession(handle);
    // "n-" is contained in "an-" with word similarity 0 (no trigram of "n-" is in "an-"): score 0.5.
    // "n x" does not contain "n-" but holds every trigram of it: word similarity 1, score 0.5.
    for (const text of ["an-", "ban-", "n x"]) await send(a, sessionId, { type: "text", text });
    const single = await search(a, "n-", undefined, 20);
    // One page sees all three, the newest (the look-alike) first at the tie.
    expect(single.items.map((hit) => hit.text)).toEqual(["n x", "ban-", "an-"]);
    expect(single.items.map((hit) => hit.score)).toEqual([0.5, 0.5, 0.5]);
    const walked = await walk(a, "n-", 1);
    expect(walked.map((hit) => hit.text)).toEqual(["n x", "ban-", "an-"]);
  });

  it("walks two hits a page without skipping the look-alike", async () => {
    const { a, sessionId } = await pairInSession(handle);
    for (const text of ["an-", "ban-", "can-", "n x"]) await send(a, sessionId, { type: "text", text });
    const walked = await walk(a, "n-", 2);
    expect(walked.map((hit) => hit.text).sort()).toEqual(["an-", "ban-", "can-", "n x"].sort());
  });
});
