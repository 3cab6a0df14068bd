import { describe, expect, it } from "vitest";
import { bearer, type SignedIn, signIn } from "../support/auth";
import { makeAdmin, testDatabase } from "../support/db";
import { api, postJson, readProblem } from "../support/http";
import { pairInSession } from "../support/sessions";

/*
 * Text Postgres cannot store (a NUL character, a lone UTF-16 surrogate) is refused by the one
 * shared text schema with a 400 naming the field, on every free-text field, never a 500.
 */
const handle = testDatabase();
const unstorable = { nul: "hello\u0000world", "lone surrogate": "hello\uD800world" };

describe.each(Object.entries(unstorable))("free text with a %s", (_, value) => {
  async function refused(response: Response, field: string): Promise<void> {
    expect(response.status).toBe(400);
    expect((await readProblem(response)).errors?.map((error) => error.field)).toContain(field);
  }
  const json = (who: SignedIn, path: string, body: unknown, method = "POST") =>
    postJson(path, body, { method, headers: bearer(who) });

  it("is refused in the profile, messages, corrections, session notes and reports, naming the field", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    await refused(await json(a, "/me", { display_name: value }, "PATCH"), "body.display_name");
    await refused(await json(a, "/me", { about: value }, "PATCH"), "body.about");
    await refused(await json(a, `/sessions/${sessionId}/messages`, { type: "text", text: value }), "body.text");
    const original = (await (
      await json(b, `/sessions/${sessionId}/messages`, { type: "text", text: "I goed" })
    ).json()) as { id: string };
    await refused(
      await json(a, `/sessions/${sessionId}/messages`, { type: "correction", corrects: original.id, text: value }),
      "body.text",
    );
    await refused(await json(a, `/sessions/${sessionId}/end`, { rating: 4, notes: value }), "body.notes");
    await refused(await json(a, "/reports", { target_user_id: b.user.id, reason: "other", note: value }), "body.note");
  });

  it("is refused in a moderator's resolution", async () => {
    const user = await signIn();
    await makeAdmin(handle, user.user.id);
    await refused(
      await json(user, `/admin/reports/${crypto.randomUUID()}/close`, { resolution: value, action: "none" }),
      "body.resolution",
    );
  });
});

describe("a search for a NUL character", () => {
  it("is refused naming the query (a URL cannot carry a lone surrogate at all)", async () => {
    const user = await signIn();
    const response = await api("/messages/search?q=abc%00def", { headers: bearer(user) });
    expect(response.status).toBe(400);
    expect((await readProblem(response)).errors?.map((error) => error.field)).toEqual(["query.q"]);
  });
});

describe("an optional text left blank", () => {
  it("is stored as nothing said: a report's note, a session's notes and the profile's about", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const admin = await signIn();
    await makeAdmin(handle, admin.user.id);
    const blank = " \t\u3000\n ";
    const reported = await postJson(
      "/reports",
      { target_user_id: b.user.id, reason: "other", note: blank },
      { headers: bearer(a) },
    );
    expect(reported.status).toBe(201);
    const { id } = (await reported.json()) as { id: string };
    const report = await api(`/admin/reports/${id}`, { headers: bearer(admin) });
    expect(await report.json()).toMatchObject({ note: null });

    expect(
      (await postJson(`/sessions/${sessionId}/end`, { rating: 4, notes: blank }, { headers: bearer(a) })).status,
    ).toBe(200);
    const session = await api(`/sessions/${sessionId}`, { headers: bearer(a) });
    expect(await session.json()).toMatchObject({ my_notes: null });

    await postJson("/me", { about: "Teacher from Samarkand" }, { method: "PATCH", headers: bearer(b) });
    const cleared = await postJson("/me", { about: blank }, { method: "PATCH", headers: bearer(b) });
    expect(cleared.status).toBe(200);
    expect(await (await api("/me", { headers: bearer(b) })).json()).toMatchObject({ profile: { about: null } });
  });
});
