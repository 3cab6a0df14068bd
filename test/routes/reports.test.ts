import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { reports } from "../../src/db/schema";
import { bearer, signIn } from "../support/auth";
import { testDatabase } from "../support/db";
import { postJson, readProblem } from "../support/http";
import { pairInSession, send } from "../support/sessions";
import { withinOneWindow } from "../support/windows";

const handle = testDatabase();
afterAll(() => handle.close());

describe("POST /reports", () => {
  it("files a report with a snapshot of the shared session's last 50 messages as evidence", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    for (let i = 0; i < 55; i += 1) await send(i % 2 ? a : b, sessionId, { type: "text", text: `line ${i}` });
    const response = await postJson(
      "/reports",
      { target_user_id: b.user.id, reason: "harassment", note: "rude", session_id: sessionId },
      { headers: bearer(a) },
    );
    expect(response.status).toBe(201);
    const filed = (await response.json()) as { id: string; status: string; evidence_count: number };
    expect(filed).toMatchObject({ status: "open", evidence_count: 50 });
    const [row] = await handle.db.select().from(reports).where(eq(reports.id, filed.id));
    expect(row?.evidence?.map((message) => message.text)).toEqual(
      Array.from({ length: 50 }, (_, i) => `line ${i + 5}`),
    );
    expect(row).toMatchObject({ reporterId: a.user.id, targetUserId: b.user.id, reason: "harassment", note: "rude" });
  });

  it("files a report without a session, with no evidence", async () => {
    const me = await signIn();
    const other = await signIn();
    const response = await postJson(
      "/reports",
      { target_user_id: other.user.id, reason: "spam" },
      { headers: bearer(me) },
    );
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ evidence_count: 0 });
  });

  it("refuses reporting yourself, an unknown user, a session not shared with the target, and a bad reason", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const stranger = await signIn();
    const self = await postJson("/reports", { target_user_id: a.user.id, reason: "spam" }, { headers: bearer(a) });
    expect(self.status).toBe(400);
    expect((await readProblem(self)).errors?.[0]?.field).toBe("body.target_user_id");
    expect(
      (await postJson("/reports", { target_user_id: crypto.randomUUID(), reason: "spam" }, { headers: bearer(a) }))
        .status,
    ).toBe(404);
    const notShared = await postJson(
      "/reports",
      { target_user_id: stranger.user.id, reason: "scam", session_id: sessionId },
      { headers: bearer(a) },
    );
    expect(notShared.status).toBe(404);
    const outsiderSession = await postJson(
      "/reports",
      { target_user_id: b.user.id, reason: "scam", session_id: sessionId },
      { headers: bearer(stranger) },
    );
    expect(outsiderSession.status).toBe(404);
    const badReason = await postJson("/reports", { target_user_id: b.user.id, reason: "rude" }, { headers: bearer(a) });
    expect((await readProblem(badReason)).errors?.[0]?.field).toBe("body.reason");
    const longNote = await postJson(
      "/reports",
      { target_user_id: b.user.id, reason: "other", note: "x".repeat(1001) },
      { headers: bearer(a) },
    );
    expect(longNote.status).toBe(400);
  });

  it("limits reports to 10 an hour per user (429)", async () => {
    await withinOneWindow(3_600_000, 10_000);
    const me = await signIn();
    const statuses: number[] = [];
    for (let i = 0; i < 11; i += 1) {
      const target = await signIn();
      statuses.push(
        (await postJson("/reports", { target_user_id: target.user.id, reason: "spam" }, { headers: bearer(me) }))
          .status,
      );
    }
    expect(statuses.slice(0, 10).every((status) => status === 201)).toBe(true);
    expect(statuses[10]).toBe(429);
  });
});
