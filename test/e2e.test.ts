import { afterAll, describe, expect, it } from "vitest";
import { bearer, latestCode, newEmail, requestCode, type SignedIn, signIn, verify } from "./support/auth";
import { testDatabase } from "./support/db";
import { api, postJson } from "./support/http";
import { attempt, eventually, openMatchSocket } from "./support/match";
import { endWith, openSessionSocket, send } from "./support/sessions";
import { ofType } from "./support/sockets";

const handle = testDatabase();
afterAll(() => handle.close());

async function signUp(name: string): Promise<SignedIn> {
  const email = newEmail(name.toLowerCase());
  const requested = await requestCode(email);
  expect(requested.status).toBe(202);
  const { login_id } = (await requested.json()) as { login_id: string };
  const response = await verify(email, login_id, await latestCode(email));
  expect(response.status).toBe(200);
  const session = (await response.json()) as SignedIn;
  const profile = await postJson(
    "/me",
    { display_name: name, level: "A2", timezone: "Asia/Tashkent", interests: ["football"] },
    { method: "PATCH", headers: bearer(session) },
  );
  expect(profile.status).toBe(200);
  expect((await api("/presence/ping", { method: "POST", headers: bearer(session) })).status).toBe(200);
  return session;
}

describe("the whole story, two learners", () => {
  it("sign up → profile → presence → match → chat → end → streak and badge → report → admin closes", async () => {
    const aziza = await signUp("Aziza");
    const bobur = await signUp("Bobur");

    // Match: Aziza waits with her socket open, Bobur arrives and they are paired.
    const azizaPushes = await openMatchSocket(aziza, "A2");
    expect((await attempt(aziza, "A2")).status).toBe(202);
    const matched = await attempt(bobur, "A2");
    expect(matched.status).toBe(200);
    const sessionId = matched.body.session_id ?? "";
    await eventually(() => azizaPushes.received.length > 0, "Aziza's matched push");
    expect(azizaPushes.received[0]).toMatchObject({
      type: "matched",
      session_id: sessionId,
      partner: { display_name: "Bobur" },
    });

    // Chat: text, voice and a correction; Bobur's room socket sees Aziza's messages live.
    const room = await openSessionSocket(bobur, sessionId);
    const text = (await (
      await send(aziza, sessionId, { type: "text", text: "I goed to the market yesterday" })
    ).json()) as {
      id: string;
    };
    const audio = crypto.getRandomValues(new Uint8Array(2048));
    const upload = (await (
      await postJson(
        "/uploads/presign",
        { kind: "voice", content_type: "audio/webm", size: audio.byteLength },
        { headers: bearer(aziza) },
      )
    ).json()) as { upload_url: string; headers: Record<string, string>; url: string };
    expect((await fetch(upload.upload_url, { method: "PUT", headers: upload.headers, body: audio })).status).toBe(200);
    expect((await send(aziza, sessionId, { type: "voice", audio_url: upload.url, duration_ms: 2500 })).status).toBe(
      201,
    );
    expect(
      (await send(bobur, sessionId, { type: "correction", corrects: text.id, text: "I went to the market yesterday" }))
        .status,
    ).toBe(201);
    await eventually(() => ofType(room, "message").length >= 2, "Aziza's messages in Bobur's room");
    const history = (await (await api(`/sessions/${sessionId}/messages`, { headers: bearer(aziza) })).json()) as {
      items: { type: string }[];
    };
    expect(history.items.map((message) => message.type)).toEqual(["correction", "voice", "text"]);

    // End with ratings; the practice counts for both.
    expect((await endWith(aziza, sessionId, { rating: 5, notes: "Lovely" })).status).toBe(200);
    expect((await endWith(bobur, sessionId, { rating: 2 })).status).toBe(200);
    for (const learner of [aziza, bobur]) {
      expect(await (await api("/me/streaks", { headers: bearer(learner) })).json()).toMatchObject({
        current: 1,
        longest: 1,
      });
      const badges = (await (await api("/me/badges", { headers: bearer(learner) })).json()) as {
        items: { badge: string }[];
      };
      expect(badges.items.map((item) => item.badge)).toEqual(["FIRST_CHAT"]);
    }

    // Report and moderation.
    const report = (await (
      await postJson(
        "/reports",
        { target_user_id: bobur.user.id, reason: "inappropriate", session_id: sessionId },
        { headers: bearer(aziza) },
      )
    ).json()) as { id: string; evidence_count: number };
    expect(report.evidence_count).toBe(3);
    const admin = await signIn("story-admin@gaplash.test");
    const closed = await postJson(
      `/admin/reports/${report.id}/close`,
      { resolution: "Talked to both; no rule broken", action: "warn" },
      { headers: bearer(admin) },
    );
    expect(closed.status).toBe(200);
    expect(await closed.json()).toMatchObject({
      status: "closed",
      action: "warn",
      target: { id: bobur.user.id, status: "active" },
    });
  });
});
