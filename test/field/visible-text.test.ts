import { describe, expect, it } from "vitest";
import { bearer, type SignedIn, signIn } from "../support/auth";
import { makeAdmin, testDatabase } from "../support/db";
import { api, postJson, readProblem } from "../support/http";
import { pairInSession, send } from "../support/sessions";

/*
 * Free text people write and others read must show something: text made only of zero-width,
 * format or filler characters is refused like an empty one, on every free-text field. Names
 * take no bidirectional control at all; other text keeps the marks right-to-left writers use,
 * but no override.
 */
const handle = testDatabase();

const invisible = {
  "zero-width space": "\u200B",
  "zero-width joiners and word joiner": "\u200C\u200D\u2060",
  "Hangul filler": "\u3164\u3164",
  "half-width Hangul filler": "\uFFA0",
  "Braille blank": "\u2800\u2800\u2800",
  "byte-order mark and soft hyphen": "\uFEFF\u00AD",
  "combining grapheme joiner between spaces": " \u034F ",
  "tag characters": "\u{E0020}\u{E0041}",
  "left-to-right marks": "\u200E\u200E",
  "musical null noteheads": "\u{1D159}\u{1D159}",
  "Khitan small script fillers": "\u{16FE4}\u{16FE4}",
  "combining marks without a letter": "\u0301\u0308",
  noncharacters: "\uFDD0\uFFFF",
};

const json = (who: SignedIn, path: string, body: unknown, method = "POST") =>
  postJson(path, body, { method, headers: bearer(who) });

async function refused(response: Response, field: string): Promise<void> {
  expect(response.status).toBe(400);
  const problem = await readProblem(response);
  expect(problem.errors?.find((error) => error.field === field)?.message).toMatch(/visible|bidirectional/);
}

describe.each(Object.entries(invisible))("text of only %s", (_, value) => {
  it("is refused as a message, a correction, a name, an about, session notes and a report note; nothing is stored", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    await refused(await send(a, sessionId, { type: "text", text: value }), "body.text");
    const original = (await (await send(b, sessionId, { type: "text", text: "I goed home" })).json()) as { id: string };
    await refused(await send(a, sessionId, { type: "correction", corrects: original.id, text: value }), "body.text");
    await refused(await json(a, "/me", { display_name: value }, "PATCH"), "body.display_name");
    await refused(await json(a, "/me", { about: `${value}${value}` }, "PATCH"), "body.about");
    await refused(await json(a, `/sessions/${sessionId}/end`, { rating: 4, notes: value }), "body.notes");
    await refused(await json(a, "/reports", { target_user_id: b.user.id, reason: "other", note: value }), "body.note");
    const page = (await (await api(`/sessions/${sessionId}/messages`, { headers: bearer(a) })).json()) as {
      items: { id: string }[];
    };
    expect(page.items.map((item) => item.id)).toEqual([original.id]);
    const me = (await (await api("/me", { headers: bearer(a) })).json()) as { profile: { display_name: string } };
    expect(me.profile.display_name).toBe("Aziza");
  });

  it("is refused as a moderator's resolution and as a search", async () => {
    const moderator = await signIn();
    await makeAdmin(handle, moderator.user.id);
    await refused(
      await json(moderator, `/admin/reports/${crypto.randomUUID()}/close`, { resolution: value, action: "none" }),
      "body.resolution",
    );
    const search = await api(`/messages/search?q=${encodeURIComponent(value.repeat(3))}`, {
      headers: bearer(moderator),
    });
    await refused(search, "query.q");
  });
});

describe("bidirectional controls", () => {
  it.each([
    ["a right-to-left override at the start", "\u202EAziza"],
    ["a right-to-left mark", "Aziza\u200F"],
    ["an isolate", "\u2067عزيزة\u2069"],
    ["an Arabic letter mark", "\u061Cعزيزة"],
  ])("are refused in a display name: %s", async (_, name) => {
    const user = await signIn();
    await refused(await json(user, "/me", { display_name: name }, "PATCH"), "body.display_name");
  });

  it("are refused in a message as an override, and kept as marks and isolates", async () => {
    const { a, sessionId } = await pairInSession(handle);
    await refused(await send(a, sessionId, { type: "text", text: "click moc.\u202Eelgoog" }), "body.text");
    for (const text of ["שלום\u200F world", "I said \u2067مرحبا\u2069 to her", "\u200Fعربي"]) {
      const response = await send(a, sessionId, { type: "text", text });
      expect(response.status).toBe(201);
      expect(((await response.json()) as { text: string }).text).toBe(text);
    }
  });
});

describe("visible text with invisible parts", () => {
  it("is kept as written: emoji joined by ZWJ, Arabic and Hangul names, an inner zero-width space", async () => {
    const { a, sessionId } = await pairInSession(handle);
    for (const name of ["👩\u200D💻", "عزيزة", "지민", "Ana\u200BMaria"]) {
      const response = await json(a, "/me", { display_name: name }, "PATCH");
      expect(response.status).toBe(200);
      expect(((await response.json()) as { profile: { display_name: string } }).profile.display_name).toBe(name);
    }
    expect((await send(a, sessionId, { type: "text", text: "ok\u200B" })).status).toBe(201);
  });
});

describe("interests", () => {
  it("take words of letters and marks (Hindi, vowelled Arabic) and refuse letters that draw nothing", async () => {
    const user = await signIn();
    const taken = await json(user, "/me", { interests: ["संगीत", "مُوسِيقَى", "football"] }, "PATCH");
    expect(taken.status).toBe(200);
    expect(((await taken.json()) as { profile: { interests: string[] } }).profile.interests).toEqual([
      "संगीत",
      "مُوسِيقَى",
      "football",
    ]);
    const refusedTags = await json(user, "/me", { interests: ["\u3164", "\uFFA0"] }, "PATCH");
    expect(refusedTags.status).toBe(400);
  });
});
