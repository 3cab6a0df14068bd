import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { blocks, reports, sessions } from "../../src/db/schema";
import { bearer, type SignedIn, signIn } from "../support/auth";
import { callRow, connectedCall, inRoom, next } from "../support/calls";
import { makeAdmin, testDatabase } from "../support/db";
import { api, postJson, readProblem } from "../support/http";
import { eventually } from "../support/match";
import { endWith, openSessionSocket, pairInSession, send, sessionBetween } from "../support/sessions";
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

  it("meets the reporter's own account deletion from another device, their suspension, or the target's deletion without a 500", async () => {
    const admin = await signIn();
    await makeAdmin(handle, admin.user.id);
    for (let round = 0; round < 6; round += 1) {
      const { a: reporter, b: target, sessionId } = await pairInSession(handle);
      await send(target, sessionId, { type: "text", text: "something to keep" });
      const body = { target_user_id: target.user.id, reason: "harassment", session_id: sessionId };
      const [filed, deleted] = await Promise.all([
        postJson("/reports", body, { headers: bearer(reporter) }),
        api("/me", { method: "DELETE", headers: bearer(reporter) }),
      ]);
      expect(deleted.status).toBe(204);
      // Filed before the deletion (the report stays, its reporter null), or refused after it.
      expect([201, 401, 403]).toContain(filed.status);

      const pair = await pairInSession(handle);
      const [reported, suspended] = await Promise.all([
        postJson("/reports", { target_user_id: pair.b.user.id, reason: "spam" }, { headers: bearer(pair.a) }),
        postJson(`/admin/users/${pair.a.user.id}/suspend`, {}, { headers: bearer(admin) }),
      ]);
      expect(suspended.status).toBe(200);
      expect([201, 403]).toContain(reported.status);

      // The target leaving at that moment: filed first (its target then null), or a 404 after.
      const other = await pairInSession(handle);
      const [against, gone] = await Promise.all([
        postJson(
          "/reports",
          { target_user_id: other.b.user.id, reason: "scam", session_id: other.sessionId },
          { headers: bearer(other.a) },
        ),
        api("/me", { method: "DELETE", headers: bearer(other.b) }),
      ]);
      expect(gone.status).toBe(204);
      expect([201, 404]).toContain(against.status);
    }
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

  it("spends none of the hour's limit on a repeat: retries after lost answers leave room for the next report", async () => {
    await withinOneWindow(3_600_000, 10_000);
    const reporter = await signIn();
    const target = await signIn();
    const body = { target_user_id: target.user.id, reason: "harassment", note: "Insults" };
    expect((await postJson("/reports", body, { headers: bearer(reporter) })).status).toBe(201);
    // A flaky network: the same report sent again ten times, each answered it.
    for (let i = 0; i < 10; i += 1) {
      expect((await postJson("/reports", body, { headers: bearer(reporter) })).status).toBe(200);
    }
    const next = await postJson("/reports", { ...body, reason: "scam" }, { headers: bearer(reporter) });
    expect(next.status).toBe(201);
  });

  it("answers a report that says what an open one says with that one (200), filing nothing, even past the limit", async () => {
    await withinOneWindow(3_600_000, 10_000);
    const { a, b, sessionId } = await pairInSession(handle);
    const body = { target_user_id: b.user.id, reason: "harassment", note: "Insults", session_id: sessionId };
    const filed = await postJson("/reports", body, { headers: bearer(a) });
    expect(filed.status).toBe(201);
    const first = await filed.json();
    // A retry after a lost answer, and two taps at once.
    const [again, racing] = await Promise.all([
      postJson("/reports", body, { headers: bearer(a) }),
      postJson("/reports", body, { headers: bearer(a) }),
    ]);
    for (const repeat of [again, racing]) {
      expect(repeat.status).toBe(200);
      expect(await repeat.json()).toEqual(first);
    }
    // Saying something else is another report: another note, reason or session, or none.
    const others = [
      { ...body, note: "Insults, and a threat" },
      { ...body, reason: "spam" },
      { target_user_id: b.user.id, reason: "harassment", note: "Insults" },
    ];
    for (const other of others) expect((await postJson("/reports", other, { headers: bearer(a) })).status).toBe(201);
    const mine = await handle.db.select({ id: reports.id }).from(reports).where(eq(reports.reporterId, a.user.id));
    expect(mine).toHaveLength(4);

    // The hour's limit spent, a repeat is still answered its report; a new one is refused.
    for (let i = 0; i < 6; i += 1) {
      const target = await signIn();
      await postJson("/reports", { target_user_id: target.user.id, reason: "spam" }, { headers: bearer(a) });
    }
    const fresh = await postJson("/reports", { target_user_id: b.user.id, reason: "scam" }, { headers: bearer(a) });
    expect(fresh.status).toBe(429);
    const late = await postJson("/reports", body, { headers: bearer(a) });
    expect(late.status).toBe(200);
    expect(await late.json()).toEqual(first);

    // Once a moderator closed it, saying it again is a new report.
    const admin = await signIn();
    await makeAdmin(handle, admin.user.id);
    const closed = await postJson(
      `/admin/reports/${(first as { id: string }).id}/close`,
      { resolution: "Seen", action: "none" },
      { headers: bearer(admin) },
    );
    expect(closed.status).toBe(200);
    expect((await postJson("/reports", body, { headers: bearer(a) })).status).toBe(429);
  });
});

interface LeftWithReport {
  report: { id: string; evidence_count: number; created_at: string };
  session: { id: string; ended_at: string };
  blocked_user_id: string | null;
}

function reportAndLeave(who: SignedIn, sessionId: string, body: unknown = { reason: "harassment" }) {
  return postJson(`/sessions/${sessionId}/report-and-leave`, body, { headers: bearer(who) });
}

/** What the database holds of `reporter`'s reports and blocks and of the session, for "nothing changed". */
async function traces(reporter: SignedIn, sessionId: string) {
  const [session] = await handle.db.select().from(sessions).where(eq(sessions.id, sessionId));
  return {
    reports: await handle.db.select({ id: reports.id }).from(reports).where(eq(reports.reporterId, reporter.user.id)),
    blocks: await handle.db.select().from(blocks).where(eq(blocks.blockerId, reporter.user.id)),
    status: session?.status,
  };
}

async function blockedBy(who: SignedIn): Promise<string[]> {
  const page = (await (await api("/me/blocks", { headers: bearer(who) })).json()) as { items: { user_id: string }[] };
  return page.items.map((item) => item.user_id);
}

describe("POST /sessions/{id}/report-and-leave", () => {
  it("reports the partner with the session's evidence, blocks them and ends the session for both", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    await send(b, sessionId, { type: "text", text: "you are stupid" });
    await send(a, sessionId, { type: "text", text: "please stop" });
    const partnerSocket = await openSessionSocket(b, sessionId);
    await next(partnerSocket, "room");

    const response = await reportAndLeave(a, sessionId, { reason: "harassment", note: "insults" });
    expect(response.status).toBe(201);
    const left = (await response.json()) as LeftWithReport;
    expect(left).toEqual({
      report: { id: expect.any(String), evidence_count: 2, created_at: expect.any(String) },
      session: { id: sessionId, ended_at: expect.any(String) },
      blocked_user_id: b.user.id,
    });

    const [row] = await handle.db.select().from(reports).where(eq(reports.id, left.report.id));
    expect(row).toMatchObject({
      reporterId: a.user.id,
      targetUserId: b.user.id,
      sessionId,
      reason: "harassment",
      note: "insults",
      status: "open",
      leftSession: true,
    });
    expect(row?.evidence?.map((message) => message.text)).toEqual(["you are stupid", "please stop"]);
    expect(await blockedBy(a)).toEqual([b.user.id]);
    const session = (await (await api(`/sessions/${sessionId}`, { headers: bearer(b) })).json()) as {
      status: string;
      ended_at: string;
    };
    expect(session).toMatchObject({ status: "ended", ended_at: left.session.ended_at });
    // The partner is told as when a participant ends a session, with why.
    expect(await next(partnerSocket, "ended")).toEqual({
      type: "ended",
      session_id: sessionId,
      ended_at: left.session.ended_at,
      ended_by: a.user.id,
      reason: "reported",
    });
    expect((await send(b, sessionId, { type: "text", text: "hello?" })).status).toBe(409);
  });

  it("answers a retry with the same report (200), filing and blocking once, and never blocks again after an unblock", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const first = await reportAndLeave(a, sessionId, { reason: "spam" });
    expect(first.status).toBe(201);
    const filed = (await first.json()) as LeftWithReport;

    const retried = await reportAndLeave(a, sessionId, { reason: "spam" });
    expect(retried.status).toBe(200);
    expect(await retried.json()).toEqual(filed);
    // Another body is the same call made again: the first report stands.
    const changed = await reportAndLeave(a, sessionId, { reason: "scam", note: "and a scam" });
    expect(changed.status).toBe(200);
    expect(((await changed.json()) as LeftWithReport).report.id).toBe(filed.report.id);
    expect((await traces(a, sessionId)).reports).toEqual([{ id: filed.report.id }]);
    expect((await traces(a, sessionId)).blocks).toHaveLength(1);

    // A late retry does not undo an unblock made since.
    expect((await api(`/users/${b.user.id}/block`, { method: "DELETE", headers: bearer(a) })).status).toBe(204);
    expect((await reportAndLeave(a, sessionId)).status).toBe(200);
    expect(await blockedBy(a)).toEqual([]);
  });

  it("files one report and one block when the retry races the first call", async () => {
    const { a, sessionId } = await pairInSession(handle);
    const answers = await Promise.all([reportAndLeave(a, sessionId), reportAndLeave(a, sessionId)]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 201]);
    const bodies = (await Promise.all(answers.map((answer) => answer.json()))) as LeftWithReport[];
    expect(bodies[0]?.report.id).toBe(bodies[1]?.report.id);
    const left = await traces(a, sessionId);
    expect(left.reports).toHaveLength(1);
    expect(left.blocks).toHaveLength(1);
  });

  it("lets two partners report each other at once: both filed and blocked, the session ended once", async () => {
    // A race: a few rounds, so that the two meet on PostgreSQL (PGlite runs one statement at a time).
    for (let round = 0; round < 4; round += 1) {
      const { a, b, sessionId } = await pairInSession(handle);
      const answers = await Promise.all([reportAndLeave(a, sessionId), reportAndLeave(b, sessionId)]);
      expect(answers.map((answer) => answer.status)).toEqual([201, 201]);
      expect(await blockedBy(a)).toEqual([b.user.id]);
      expect(await blockedBy(b)).toEqual([a.user.id]);
      const filed = await handle.db.select().from(reports).where(eq(reports.sessionId, sessionId));
      expect(filed.map((row) => row.reporterId).sort()).toEqual([a.user.id, b.user.id].sort());
      const [session] = await handle.db.select().from(sessions).where(eq(sessions.id, sessionId));
      expect(session?.status).toBe("ended");
      // Both are told when it ended, the one end it has (the second waited for the first's).
      const bodies = (await Promise.all(answers.map((answer) => answer.json()))) as LeftWithReport[];
      expect(bodies.map((body) => body.session.ended_at)).toEqual([0, 1].map(() => session?.endedAt?.toISOString()));
    }
  });

  it("tells a reporter the session's own end when the partner ended it at that moment", async () => {
    // A race: a few rounds, so that the end and the report meet on PostgreSQL (PGlite runs one at a time).
    for (let round = 0; round < 4; round += 1) {
      const { a, b, sessionId } = await pairInSession(handle);
      const [left, ended] = await Promise.all([reportAndLeave(a, sessionId), endWith(b, sessionId, { rating: 4 })]);
      expect(left.status).toBe(201);
      expect(ended.status).toBe(200);
      const [session] = await handle.db.select().from(sessions).where(eq(sessions.id, sessionId));
      expect(((await left.json()) as LeftWithReport).session.ended_at).toBe(session?.endedAt?.toISOString());
    }
  });

  it("meets a suspension of the reporter, or the partner's account deletion, without a deadlock: 201 or 403/409", async () => {
    const admin = await signIn();
    await makeAdmin(handle, admin.user.id);
    // A race: a few rounds, so that the two meet on PostgreSQL (PGlite runs one statement at a time).
    for (let round = 0; round < 4; round += 1) {
      const { a, sessionId } = await pairInSession(handle);
      const [left, suspended] = await Promise.all([
        reportAndLeave(a, sessionId),
        postJson(`/admin/users/${a.user.id}/suspend`, {}, { headers: bearer(admin) }),
      ]);
      expect(suspended.status).toBe(200);
      expect([201, 403]).toContain(left.status);

      const pair = await pairInSession(handle);
      const [reported, deleted] = await Promise.all([
        reportAndLeave(pair.a, pair.sessionId),
        api("/me", { method: "DELETE", headers: bearer(pair.b) }),
      ]);
      expect(deleted.status).toBe(204);
      expect([201, 409]).toContain(reported.status);
    }
  });

  it("still reports and blocks in a session that has ended: it stays as it ended", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    expect((await endWith(a, sessionId, { rating: 1 })).status).toBe(200);
    const [ended] = await handle.db.select().from(sessions).where(eq(sessions.id, sessionId));

    const response = await reportAndLeave(a, sessionId, { reason: "inappropriate" });
    expect(response.status).toBe(201);
    const left = (await response.json()) as LeftWithReport;
    expect(left.session.ended_at).toBe(ended?.endedAt?.toISOString());
    expect(left.blocked_user_id).toBe(b.user.id);
    expect(await blockedBy(a)).toEqual([b.user.id]);
    const [after] = await handle.db.select().from(sessions).where(eq(sessions.id, sessionId));
    expect(after).toEqual(ended);
  });

  it("is 404 for a session that is not the caller's or does not exist, and 400 for bad input, changing nothing", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    const stranger = await signIn();
    const before = await traces(a, sessionId);

    const outsider = await reportAndLeave(stranger, sessionId);
    expect(outsider.status).toBe(404);
    const unknown = await reportAndLeave(a, crypto.randomUUID());
    expect(unknown.status).toBe(404);
    expect((await readProblem(unknown)).detail).toBe((await readProblem(outsider)).detail);
    expect((await readProblem(await reportAndLeave(a, "not-a-session"))).errors?.[0]?.field).toBe("path.id");
    const badReason = await reportAndLeave(a, sessionId, { reason: "rude" });
    expect((await readProblem(badReason)).errors?.[0]?.field).toBe("body.reason");
    expect((await reportAndLeave(a, sessionId, { reason: "other", note: "x".repeat(1001) })).status).toBe(400);
    expect((await reportAndLeave(a, sessionId, {})).status).toBe(400);

    expect(await traces(a, sessionId)).toEqual(before);
    expect(before).toEqual({ reports: [], blocks: [], status: "active" });
    expect((await traces(stranger, sessionId)).reports).toEqual([]);
    expect(await blockedBy(b)).toEqual([]);
  });

  it("is 409 when the partner has deleted their account", async () => {
    const { a, b, sessionId } = await pairInSession(handle);
    expect((await api("/me", { method: "DELETE", headers: bearer(b) })).status).toBe(204);
    const gone = await reportAndLeave(a, sessionId);
    expect(gone.status).toBe(409);
    expect((await readProblem(gone)).code).toBe("CONFLICT");
    expect((await traces(a, sessionId)).reports).toEqual([]);
  });

  it("shares the reports' limit (429, changing nothing), and a retry spends none of it", async () => {
    await withinOneWindow(3_600_000, 20_000);
    const { a, sessionId } = await pairInSession(handle);
    const { a: other, sessionId: otherSession } = await pairInSession(handle);
    expect((await reportAndLeave(other, otherSession)).status).toBe(201);
    // Nine retries of that one, then nine reports: the retries spent nothing, so the tenth report is allowed.
    for (let i = 0; i < 9; i += 1) expect((await reportAndLeave(other, otherSession)).status).toBe(200);
    for (let i = 0; i < 9; i += 1) {
      const target = await signIn();
      const filed = await postJson(
        "/reports",
        { target_user_id: target.user.id, reason: "spam" },
        { headers: bearer(other) },
      );
      expect(filed.status).toBe(201);
    }

    for (let i = 0; i < 10; i += 1) {
      const target = await signIn();
      await postJson("/reports", { target_user_id: target.user.id, reason: "spam" }, { headers: bearer(a) });
    }
    const limited = await reportAndLeave(a, sessionId);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((await traces(a, sessionId)).status).toBe("active");
    expect((await traces(a, sessionId)).blocks).toEqual([]);
  });

  it("answers a retry after a lost answer 200 even when the limit was spent since, changing nothing", async () => {
    await withinOneWindow(3_600_000, 20_000);
    const { a, sessionId } = await pairInSession(handle);
    const first = await reportAndLeave(a, sessionId);
    expect(first.status).toBe(201);
    const filed = (await first.json()) as LeftWithReport;
    // Nine more reports: the first call and these are the hour's ten.
    for (let i = 0; i < 9; i += 1) {
      const target = await signIn();
      const more = await postJson(
        "/reports",
        { target_user_id: target.user.id, reason: "spam" },
        { headers: bearer(a) },
      );
      expect(more.status).toBe(201);
    }
    // The first answer was lost: the retry finds its report, it is not told to try again later.
    const retried = await reportAndLeave(a, sessionId, { reason: "scam" });
    expect(retried.status).toBe(200);
    expect(await retried.json()).toEqual(filed);
    expect((await traces(a, sessionId)).blocks).toHaveLength(1);
    // A new one is still refused, changing nothing.
    const elsewhere = await sessionBetween(handle, a, await signIn());
    expect((await reportAndLeave(a, elsewhere)).status).toBe(429);
    expect((await traces(a, elsewhere)).status).toBe("active");
  });

  it("ends a call going on as reported, and moderators see the session's calls with the report", async () => {
    const sockets = await inRoom(handle);
    const callId = await connectedCall(sockets);
    const response = await reportAndLeave(sockets.a, sockets.sessionId, { reason: "inappropriate" });
    expect(response.status).toBe(201);
    const { report } = (await response.json()) as LeftWithReport;
    for (const socket of [sockets.aSocket, sockets.bSocket]) {
      expect(await next(socket, "call.ended")).toMatchObject({ call_id: callId, reason: "reported" });
      expect(await next(socket, "ended")).toMatchObject({ reason: "reported" });
    }
    await eventually(async () => (await callRow(handle, callId))?.endReason === "reported", "the recorded end");

    const admin = await signIn();
    await makeAdmin(handle, admin.user.id);
    const closed = await postJson(
      `/admin/reports/${report.id}/close`,
      { resolution: "heard it", action: "none" },
      { headers: bearer(admin) },
    );
    expect(closed.status).toBe(200);
    expect(await closed.json()).toMatchObject({
      left_session: true,
      session_id: sockets.sessionId,
      calls: [
        {
          id: callId,
          started_by: sockets.a.user.id,
          connected_at: expect.any(String),
          ended_at: expect.any(String),
          duration_sec: expect.any(Number),
          end_reason: "reported",
        },
      ],
    });
    // A report filed without a session has no calls to show; one with a session and no calls, none.
    const plain = await postJson(
      "/reports",
      { target_user_id: (await signIn()).user.id, reason: "spam" },
      { headers: bearer(admin) },
    );
    const plainId = ((await plain.json()) as { id: string }).id;
    const plainClosed = await postJson(
      `/admin/reports/${plainId}/close`,
      { resolution: "nothing", action: "none" },
      { headers: bearer(admin) },
    );
    expect(await plainClosed.json()).toMatchObject({ calls: null, left_session: false });
  });
});
