import { eq, inArray, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { calls, matchAttempts, users } from "../../src/db/schema";
import type { QueueHour } from "../../src/services/admin";
import { bearer, type SignedIn, signIn, startSignIn, verify } from "../support/auth";
import { insertUsers, passResendCooldown, testDatabase } from "../support/db";
import { api, postJson, readProblem } from "../support/http";
import { attempt, cancelAttempt, learner } from "../support/match";
import { endWith, pairInSession, send, sessionBetween } from "../support/sessions";

const handle = testDatabase();
let admin: SignedIn;

beforeAll(async () => {
  // ADMIN_EMAILS (see vitest.config.ts) makes this address an admin when it signs in.
  admin = await signIn("root@gaplash.test");
});
afterAll(() => handle.close());

const asAdmin = (path: string, init: RequestInit = {}) =>
  api(path, { ...init, headers: { ...bearer(admin), ...init.headers } });

/** Closes a report a test filed, so that it leaves no open report in the shared queue. */
const dismiss = (reportId: string) =>
  postJson(
    `/admin/reports/${reportId}/close`,
    { resolution: "looked at it", action: "none" },
    { headers: bearer(admin) },
  );

interface AuditEntry {
  id: string;
  actor_id: string | null;
  action: string;
  target_type: string;
  target_id: string;
  metadata: Record<string, unknown>;
  created_at: string;
}

interface AdminReport {
  id: string;
  status: string;
  evidence: { text: string | null }[] | null;
  reporter: { id: string; email: string } | null;
  target: { id: string; status: string } | null;
  action: string | null;
  calls: Record<string, unknown>[] | null;
}

describe("the moderation story", () => {
  it("report → admin sees it with evidence → closes with suspend → target locked out → audit shows it", async () => {
    const { a: reporter, b: target, sessionId } = await pairInSession(handle, ["Reporter", "Troll"]);
    await send(target, sessionId, { type: "text", text: "you are terrible at English" });
    const filed = (await (
      await postJson(
        "/reports",
        { target_user_id: target.user.id, reason: "harassment", session_id: sessionId },
        { headers: bearer(reporter) },
      )
    ).json()) as { id: string };

    const open = (await (await asAdmin("/admin/reports?status=open&limit=100")).json()) as { items: AdminReport[] };
    const seen = open.items.find((item) => item.id === filed.id);
    expect(seen).toMatchObject({
      status: "open",
      reporter: { id: reporter.user.id, email: reporter.user.email },
      target: { id: target.user.id, status: "active" },
    });
    expect(seen?.evidence?.map((message) => message.text)).toEqual(["you are terrible at English"]);

    const closed = await postJson(
      `/admin/reports/${filed.id}/close`,
      { resolution: "Insults in session", action: "suspend" },
      { headers: bearer(admin) },
    );
    expect(closed.status).toBe(200);
    const closedReport = (await closed.json()) as { audit_entries: AuditEntry[] };
    expect(closedReport).toMatchObject({ status: "closed", action: "suspend", target: { status: "suspended" } });

    const again = await postJson(
      `/admin/reports/${filed.id}/close`,
      { resolution: "x", action: "none" },
      { headers: bearer(admin) },
    );
    expect(again.status).toBe(409);

    const refresh = await postJson("/auth/refresh", { refresh_token: target.refresh_token });
    expect(refresh.status).toBe(403);
    expect(await readProblem(refresh)).toMatchObject({ code: "ACCOUNT_SUSPENDED", reason: "harassment" });
    await passResendCooldown(target.user.email);
    const pending = await startSignIn(target.user.email);
    const signInAgain = await verify(pending.email, pending.loginId, pending.code);
    expect(signInAgain.status).toBe(403);
    expect((await readProblem(signInAgain)).code).toBe("ACCOUNT_SUSPENDED");
    const sending = await send(target, sessionId, { type: "text", text: "still here" });
    expect(sending.status).toBe(403);
    await api("/presence/ping", { method: "POST", headers: bearer(target) });
    const matching = await postJson("/match/attempt", { desired_level: "B1" }, { headers: bearer(target) });
    expect(matching.status).toBe(403);

    const audit = (await (await asAdmin("/admin/audit-logs?limit=100")).json()) as { items: AuditEntry[] };
    const logged = audit.items.find((entry) => entry.target_id === filed.id);
    expect(logged).toMatchObject({
      action: "report.close",
      actor_id: admin.user.id,
      metadata: { action: "suspend", target_user_id: target.user.id },
    });
    // The closing answered that very row: a suspension by report writes no second one.
    expect(closedReport.audit_entries).toEqual([logged]);
  });

  it("suspends and unsuspends a user directly, each time in the audit log", async () => {
    const user = await signIn();
    const suspended = (await (await asAdmin(`/admin/users/${user.user.id}/suspend`, { method: "POST" })).json()) as {
      audit_entries: AuditEntry[];
    };
    expect(suspended).toMatchObject({ id: user.user.id, status: "suspended", previous_status: "active" });
    const refused = await postJson("/auth/refresh", { refresh_token: user.refresh_token });
    expect(refused.status).toBe(403);
    expect(await readProblem(refused)).toMatchObject({ code: "ACCOUNT_SUSPENDED", reason: null });
    const lifted = (await (await asAdmin(`/admin/users/${user.user.id}/unsuspend`, { method: "POST" })).json()) as {
      audit_entries: AuditEntry[];
    };
    expect(lifted).toMatchObject({ id: user.user.id, status: "active", previous_status: "suspended" });
    // Lifting it brings back no token the suspension revoked: the user signs in again.
    expect((await postJson("/auth/refresh", { refresh_token: user.refresh_token })).status).toBe(401);
    const audit = (await (await asAdmin("/admin/audit-logs?limit=2")).json()) as { items: AuditEntry[] };
    expect(audit.items.map((entry) => [entry.action, entry.target_id])).toEqual([
      ["user.unsuspend", user.user.id],
      ["user.suspend", user.user.id],
    ]);
    // Each answer carries the very row it wrote, as the audit log shows it.
    expect([...lifted.audit_entries, ...suspended.audit_entries]).toEqual(audit.items);
    expect((await asAdmin(`/admin/users/${crypto.randomUUID()}/suspend`, { method: "POST" })).status).toBe(404);
    expect((await asAdmin(`/admin/users/${admin.user.id}/suspend`, { method: "POST" })).status).toBe(400);
  });

  it("a second suspension or lifting is a 409 that changes nothing: one of two admins racing wins", async () => {
    const reporter = await signIn();
    const target = await signIn();
    const filed = (await (
      await postJson("/reports", { target_user_id: target.user.id, reason: "scam" }, { headers: bearer(reporter) })
    ).json()) as { id: string };
    expect(
      (
        await postJson(
          `/admin/reports/${filed.id}/close`,
          { resolution: "Scam", action: "suspend" },
          { headers: bearer(admin) },
        )
      ).status,
    ).toBe(200);
    const before = await readSuspension(target.user.id);
    const auditBefore = await auditCount(target.user.id);

    // Suspending again (a stale console, a second admin) would replace the report's reason with none.
    const again = await asAdmin(`/admin/users/${target.user.id}/suspend`, { method: "POST" });
    expect(again.status).toBe(409);
    expect((await readProblem(again)).detail).toContain("already suspended");
    expect(await readSuspension(target.user.id)).toEqual(before);
    expect(await auditCount(target.user.id)).toBe(auditBefore);

    // Two admins lifting it at once: one lifts it, the other is told it was lifted already.
    const other = await signIn();
    await handle.db.update(users).set({ role: "admin", adminSource: "grant" }).where(eq(users.id, other.user.id));
    const lifts = await Promise.all([
      asAdmin(`/admin/users/${target.user.id}/unsuspend`, { method: "POST" }),
      api(`/admin/users/${target.user.id}/unsuspend`, { method: "POST", headers: bearer(other) }),
    ]);
    expect(lifts.map((answer) => answer.status).sort()).toEqual([200, 409]);
    expect(await auditCount(target.user.id)).toBe(auditBefore + 1);
  });
});

async function readSuspension(userId: string) {
  const [row] = await handle.db
    .select({ status: users.status, at: users.suspendedAt, reason: users.suspensionReason })
    .from(users)
    .where(eq(users.id, userId));
  return row;
}

async function auditCount(userId: string): Promise<number> {
  const result = await handle.db.execute<{ count: number }>(
    sql`select count(*)::int as count from audit_logs where target_id = ${userId}`,
  );
  return result.rows[0]?.count ?? 0;
}

describe("the queue, page by page", () => {
  interface QueueItem {
    id: string;
    held: boolean;
  }
  async function pages(limit: number, between: () => Promise<void>): Promise<QueueItem[]> {
    const seen: QueueItem[] = [];
    let cursor: string | null = null;
    let first = true;
    do {
      const answer = await asAdmin(`/admin/reports?limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`);
      expect(answer.status).toBe(200);
      const page = (await answer.json()) as { items: QueueItem[]; next_cursor: string | null };
      seen.push(...page.items);
      cursor = page.next_cursor;
      if (first) await between();
      first = false;
    } while (cursor);
    return seen;
  }
  async function partnerOf(target: SignedIn): Promise<SignedIn> {
    const partner = await signIn();
    await sessionBetween(handle, partner, target, "ended");
    return partner;
  }
  const file = async (reporter: SignedIn, target: SignedIn) =>
    (
      (await (
        await postJson("/reports", { target_user_id: target.user.id, reason: "spam" }, { headers: bearer(reporter) })
      ).json()) as { id: string }
    ).id;

  it("keeps the first page's order: a user held between pages has no report skipped", async () => {
    // A new account: two partners' reports hold it. Its first report is older than the page below.
    const target = await signIn();
    const older = await file(await partnerOf(target), target);
    const newer = [];
    for (let i = 0; i < 3; i++) newer.push(await file(await signIn(), await signIn()));
    let tipping = "";
    const seen = await pages(2, async () => {
      tipping = await file(await partnerOf(target), target);
    });
    const ids = seen.map((item) => item.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain(older);
    expect(ids).toEqual(expect.arrayContaining(newer));
    // What the queue says of it is now, whatever its place: the user is held.
    expect(seen.find((item) => item.id === older)?.held).toBe(true);
    for (const id of [older, tipping, ...newer]) await dismiss(id);
  });
});

describe("what a moderator reads before deciding", () => {
  interface Someone {
    id: string;
  }
  interface History {
    user: Record<string, unknown>;
    reports: { total: number; open: number; items: { id: string; reporter: Someone | null }[] };
    sessions: { total: number; items: { id: string; partner: Someone | null }[] };
    ratings: {
      count: number;
      average: number | null;
      items: { session_id: string; rating: number; by: Someone | null }[];
    };
  }
  const historyOf = async (userId: string, query = "") => {
    const response = await asAdmin(`/admin/users/${userId}${query}`);
    expect(response.status).toBe(200);
    return (await response.json()) as History;
  };

  it("a user's history: the account, reports against them, their sessions and the ratings their partners gave", async () => {
    const { a: first, b: target, sessionId: firstSession } = await pairInSession(handle, ["First", "Target"]);
    const filed = await postJson(
      "/reports",
      { target_user_id: target.user.id, reason: "harassment", session_id: firstSession },
      { headers: bearer(first) },
    );
    const { id: reportId } = (await filed.json()) as { id: string };
    expect((await endWith(first, firstSession, { rating: 2, notes: "kept to myself" })).status).toBe(200);
    const second = await learner("B1", "Second");
    const secondSession = await sessionBetween(handle, second, target);
    expect((await endWith(second, secondSession, { rating: 4 })).status).toBe(200);
    // The target's own rating of a session is one they gave, not one they received.
    expect((await endWith(target, secondSession, { rating: 5 })).status).toBe(200);

    const history = await historyOf(target.user.id);
    expect(history.user).toEqual({
      id: target.user.id,
      email: target.user.email,
      display_name: "Target",
      level: "B1",
      role: "user",
      status: "active",
      held_at: null,
      suspended_at: null,
      suspension_reason: null,
      created_at: new Date(target.user.created_at).toISOString(),
    });
    expect(history.reports).toEqual({
      total: 1,
      open: 1,
      items: [
        {
          id: reportId,
          status: "open",
          reason: "harassment",
          action: null,
          session_id: firstSession,
          reporter: { id: first.user.id, email: first.user.email, display_name: "First", status: "active" },
          created_at: expect.stringMatching(/Z$/),
          closed_at: null,
        },
      ],
    });
    expect(history.sessions.total).toBe(2);
    expect(history.sessions.items.map((session) => [session.id, session.partner?.id])).toEqual([
      [secondSession, second.user.id],
      [firstSession, first.user.id],
    ]);
    expect(history.ratings.count).toBe(2);
    expect(history.ratings.average).toBe(3);
    expect(history.ratings.items.map((rating) => [rating.session_id, rating.rating, rating.by?.id])).toEqual([
      [secondSession, 4, second.user.id],
      [firstSession, 2, first.user.id],
    ]);
    // The numbers only: what a partner wrote beside their rating stays theirs.
    expect(JSON.stringify(history.ratings)).not.toContain("kept to myself");

    const newest = await historyOf(target.user.id, "?limit=1");
    expect([newest.sessions.items.length, newest.ratings.items.length]).toEqual([1, 1]);
    expect([newest.sessions.total, newest.ratings.count, newest.ratings.items[0]?.rating]).toEqual([2, 2, 4]);
    await dismiss(reportId);
  });

  it("a user's history is 404 for nobody and 400 for a malformed id or limit", async () => {
    const nobody = await asAdmin(`/admin/users/${crypto.randomUUID()}`);
    expect(nobody.status).toBe(404);
    expect((await readProblem(nobody)).code).toBe("NOT_FOUND");
    expect((await readProblem(await asAdmin("/admin/users/not-a-uuid"))).errors?.[0]?.field).toBe("path.id");
    const user = await signIn();
    for (const limit of ["0", "101", "x"]) {
      const refused = await asAdmin(`/admin/users/${user.user.id}?limit=${limit}`);
      expect(refused.status).toBe(400);
      expect((await readProblem(refused)).errors?.[0]?.field).toBe("query.limit");
    }
  });

  it("one report with its session's calls, oldest first; 404 for none, 400 for a malformed id", async () => {
    const { a: reporter, b: target, sessionId } = await pairInSession(handle, ["Caller", "Callee"]);
    const startedAt = new Date(Date.now() - 120_000);
    await handle.db.insert(calls).values([
      {
        id: crypto.randomUUID(),
        sessionId,
        startedBy: target.user.id,
        startedAt: new Date(startedAt.getTime() + 60_000),
        endedAt: new Date(startedAt.getTime() + 70_000),
        durationSec: 0,
        endReason: "declined",
      },
      {
        id: crypto.randomUUID(),
        sessionId,
        startedBy: reporter.user.id,
        startedAt,
        connectedAt: new Date(startedAt.getTime() + 3_000),
        endedAt: new Date(startedAt.getTime() + 45_000),
        durationSec: 42,
        endReason: "hangup",
      },
    ]);
    const filed = await postJson(
      "/reports",
      { target_user_id: target.user.id, reason: "inappropriate", session_id: sessionId },
      { headers: bearer(reporter) },
    );
    const { id } = (await filed.json()) as { id: string };
    const response = await asAdmin(`/admin/reports/${id}`);
    expect(response.status).toBe(200);
    const shown = (await response.json()) as AdminReport;
    expect(shown).toMatchObject({ id, status: "open", target: { id: target.user.id }, held: false });
    expect(shown.calls).toEqual([
      {
        id: expect.any(String),
        started_by: reporter.user.id,
        started_at: startedAt.toISOString(),
        connected_at: new Date(startedAt.getTime() + 3_000).toISOString(),
        ended_at: new Date(startedAt.getTime() + 45_000).toISOString(),
        duration_sec: 42,
        end_reason: "hangup",
      },
      expect.objectContaining({ started_by: target.user.id, connected_at: null, end_reason: "declined" }),
    ]);
    expect((await asAdmin(`/admin/reports/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await asAdmin("/admin/reports/123")).status).toBe(400);
    await dismiss(id);
  });

  it("a report without a session has no call record (null)", async () => {
    const [reporter, target] = await Promise.all([signIn(), signIn()]);
    const filed = await postJson(
      "/reports",
      { target_user_id: target.user.id, reason: "spam" },
      { headers: bearer(reporter) },
    );
    const { id } = (await filed.json()) as { id: string };
    const shown = (await (await asAdmin(`/admin/reports/${id}`)).json()) as { calls: unknown; session_id: null };
    expect(shown).toMatchObject({ calls: null, session_id: null, left_session: false });
    await dismiss(id);
  });
});

describe("admin rights come from the database, not the token", () => {
  const roleOf = (who: SignedIn, role: "admin" | "user") =>
    postJson(`/admin/users/${who.user.id}/role`, { role }, { headers: bearer(admin) });

  it("a granted admin gets in at once, and loses access at once when the role is taken away", async () => {
    const deputy = await signIn();
    expect((await api("/admin/stats/overview", { headers: bearer(deputy) })).status).toBe(403);
    const granted = (await (await roleOf(deputy, "admin")).json()) as { audit_entries: AuditEntry[] };
    expect(granted).toMatchObject({ id: deputy.user.id, role: "admin", previous_role: "user" });
    expect(granted.audit_entries).toMatchObject([
      { action: "user.role.grant", actor_id: admin.user.id, target_id: deputy.user.id, metadata: { role: "admin" } },
    ]);
    expect((await api("/admin/stats/overview", { headers: bearer(deputy) })).status).toBe(200);

    expect((await roleOf(deputy, "user")).status).toBe(200);
    const refused = await api("/admin/stats/overview", { headers: bearer(deputy) });
    expect(refused.status).toBe(403);
    expect((await readProblem(refused)).code).toBe("FORBIDDEN");

    const audit = (await (await asAdmin("/admin/audit-logs?limit=2")).json()) as {
      items: { action: string; actor_id: string; target_id: string }[];
    };
    expect(audit.items.map((entry) => [entry.action, entry.actor_id, entry.target_id])).toEqual([
      ["user.role.revoke", admin.user.id, deputy.user.id],
      ["user.role.grant", admin.user.id, deputy.user.id],
    ]);
  });

  it("a suspended admin is refused at once, even with an admin token", async () => {
    const deputy = await signIn();
    await roleOf(deputy, "admin");
    await handle.db.update(users).set({ status: "suspended" }).where(eq(users.id, deputy.user.id));
    const refused = await api("/admin/reports", { headers: bearer(deputy) });
    expect(refused.status).toBe(403);
    expect((await readProblem(refused)).code).toBe("ACCOUNT_SUSPENDED");
  });

  it("no admin changes their own status or role", async () => {
    for (const path of ["suspend", "unsuspend"]) {
      expect((await asAdmin(`/admin/users/${admin.user.id}/${path}`, { method: "POST" })).status).toBe(400);
    }
    const own = await postJson(`/admin/users/${admin.user.id}/role`, { role: "user" }, { headers: bearer(admin) });
    expect((await readProblem(own)).errors?.[0]?.field).toBe("path.id");
  });

  it("refuses to take the role from an address in ADMIN_EMAILS, and answers 404 for nobody", async () => {
    const [configured] = await handle.db
      .insert(users)
      .values({ email: "listed-admin@gaplash.test", role: "admin", adminSource: "config" })
      .onConflictDoUpdate({ target: users.email, set: { role: "admin", adminSource: "config" } })
      .returning({ id: users.id });
    const response = await postJson(
      `/admin/users/${configured?.id}/role`,
      { role: "user" },
      { headers: bearer(admin) },
    );
    expect(response.status).toBe(409);
    const nobody = await postJson(
      `/admin/users/${crypto.randomUUID()}/role`,
      { role: "admin" },
      { headers: bearer(admin) },
    );
    expect(nobody.status).toBe(404);
  });

  it("an address taken out of ADMIN_EMAILS loses the role at its next sign-in; a granted admin keeps it", async () => {
    const formerEmail = `former-admin-${crypto.randomUUID()}@example.com`;
    const grantedEmail = `granted-admin-${crypto.randomUUID()}@example.com`;
    await handle.db.insert(users).values([
      { email: formerEmail, role: "admin", adminSource: "config" },
      { email: grantedEmail, role: "admin", adminSource: "grant" },
    ]);
    const former = await signIn(formerEmail);
    const granted = await signIn(grantedEmail);
    expect([former.user.role, granted.user.role]).toEqual(["user", "admin"]);
    expect((await api("/admin/stats/overview", { headers: bearer(former) })).status).toBe(403);
    const audit = (await (await asAdmin("/admin/audit-logs?limit=20")).json()) as {
      items: { action: string; actor_id: string | null; target_id: string }[];
    };
    expect(audit.items).toContainEqual(
      expect.objectContaining({ action: "user.role.revoke", actor_id: null, target_id: former.user.id }),
    );
  });
});

describe("an ordinary user", () => {
  const routes: [string, string, unknown?][] = [
    ["GET", "/admin/reports"],
    ["GET", `/admin/reports/${crypto.randomUUID()}`],
    ["GET", `/admin/users/${crypto.randomUUID()}`],
    ["POST", `/admin/reports/${crypto.randomUUID()}/close`, { resolution: "x", action: "none" }],
    ["POST", `/admin/users/${crypto.randomUUID()}/suspend`],
    ["POST", `/admin/users/${crypto.randomUUID()}/unsuspend`],
    ["POST", `/admin/users/${crypto.randomUUID()}/role`, { role: "admin" }],
    ["GET", "/admin/stats/overview"],
    ["GET", "/admin/stats/queues"],
    ["GET", "/admin/audit-logs"],
    ["GET", "/admin/not-a-route"],
  ];

  it.each(routes)("gets 403 on %s %s", async (method, path, body) => {
    const user = await signIn();
    const response = await api(path, {
      method,
      headers: { ...bearer(user), "content-type": "application/json" },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    expect(response.status).toBe(403);
    expect((await readProblem(response)).code).toBe("FORBIDDEN");
  });

  it("and anyone without a token gets 401", async () => {
    expect((await api("/admin/stats/overview")).status).toBe(401);
  });
});

describe("statistics", () => {
  interface Overview {
    sessions_today: number;
    dau: number;
    online_now: number;
    waiting_in_queue: number;
    open_reports: number;
  }
  const overview = async () => (await (await asAdmin("/admin/stats/overview")).json()) as Overview;

  it("count what happened today", async () => {
    const before = await overview();
    const { a, b, sessionId } = await pairInSession(handle);
    await send(a, sessionId, { type: "text", text: "hello" });
    await postJson("/reports", { target_user_id: b.user.id, reason: "spam" }, { headers: bearer(a) });
    const waiting = await learner("C2", "waiting");
    await attempt(waiting, "C2");
    const after = await overview();
    expect(after.sessions_today - before.sessions_today).toBe(1);
    expect(after.dau - before.dau).toBe(3);
    expect(after.open_reports - before.open_reports).toBe(1);
    expect(after.waiting_in_queue - before.waiting_in_queue).toBe(1);
    // Learners of earlier tests drop out of the 60 s presence window meanwhile, so only a floor holds.
    expect(after.online_now).toBeGreaterThanOrEqual(3);
    await cancelAttempt(waiting);
    await endWith(a, sessionId, { rating: 5 });
  });

  it("give queue depth, waits and the match rate per level", async () => {
    const queue = async () =>
      (
        (await (await asAdmin("/admin/stats/queues")).json()) as {
          items: {
            level: string;
            depth: number;
            matched_24h: number;
            resolved_24h: number;
            wait_p50_ms: number | null;
          }[];
        }
      ).items.find((item) => item.level === "C1");
    const before = await queue();
    const waiting = await learner("C1", "first");
    const queued = await attempt(waiting, "C1");
    expect((await queue())?.depth).toBe((before?.depth ?? 0) + 1);
    // The first learner waited 20 s before a partner arrived.
    await handle.db
      .update(matchAttempts)
      .set({ createdAt: sql`${matchAttempts.createdAt} - interval '20 seconds'` })
      .where(eq(matchAttempts.id, queued.body.attempt_id));
    const partner = await learner("C1", "second");
    expect((await attempt(partner, "C1")).status).toBe(200);
    const leaver = await learner("C1", "leaver");
    await attempt(leaver, "C1");
    await cancelAttempt(leaver);

    const after = await queue();
    expect(after?.depth).toBe(before?.depth ?? 0);
    expect(after?.matched_24h).toBe((before?.matched_24h ?? 0) + 2);
    expect(after?.resolved_24h).toBe((before?.resolved_24h ?? 0) + 3);
    expect(after?.wait_p50_ms).not.toBeNull();
  });

  it("give the last 24 hours hour by hour: depth at each hour's end, and the waits and rate of what ended in it", async () => {
    const hours = async () => {
      const body = (await (await asAdmin("/admin/stats/queues")).json()) as {
        items: { level: string; matched_24h: number; resolved_24h: number; hours: QueueHour[] }[];
      };
      return body.items.find((item) => item.level === "A2");
    };
    const before = await hours();
    expect(before?.hours).toHaveLength(24);
    const starts = before?.hours.map((hour) => Date.parse(hour.start)) ?? [];
    expect(starts.every((start, i) => i === 0 || start - (starts[i - 1] ?? 0) === 3600_000)).toBe(true);
    expect(Date.now() - (starts[23] ?? 0)).toBeLessThan(3600_000);
    // Five hours before this one: two matched (waits of 30 s and 10 s) and one expired. One made the
    // hour before waits until two hours after it.
    const hour = starts[18] ?? 0;
    const at = (minutes: number, seconds = 0) => new Date(hour + minutes * 60_000 + seconds * 1000);
    const people = await insertUsers(handle, 4);
    const rows = [
      { status: "matched", createdAt: at(10), resolvedAt: at(10, 30) },
      { status: "matched", createdAt: at(20), resolvedAt: at(20, 10) },
      { status: "expired", createdAt: at(30), resolvedAt: at(35) },
      { status: "expired", createdAt: at(-30), resolvedAt: at(135) },
    ] as const;
    await handle.db
      .insert(matchAttempts)
      .values(rows.map((row, i) => ({ ...row, level: "A2" as const, userId: people[i]?.id ?? "" })));
    try {
      const after = await hours();
      const byStart = (start: number, of: QueueHour[] = after?.hours ?? []) =>
        of.find((entry) => Date.parse(entry.start) === start);
      const was = (start: number) => byStart(start, before?.hours);
      expect(byStart(hour)).toMatchObject({
        matched: (was(hour)?.matched ?? 0) + 2,
        resolved: (was(hour)?.resolved ?? 0) + 3,
        depth: (was(hour)?.depth ?? 0) + 1,
      });
      if (was(hour)?.resolved === 0) {
        expect(byStart(hour)).toMatchObject({ wait_p50_ms: 20_000, wait_p95_ms: 29_000, match_rate: 2 / 3 });
      }
      // The long wait: in the queue at the end of its own hour and the next, gone by the end of the one it ended in.
      for (const [start, more] of [
        [hour - 3600_000, 1],
        [hour + 3600_000, 1],
        [hour + 2 * 3600_000, 0],
      ] as const) {
        expect(byStart(start)?.depth).toBe((was(start)?.depth ?? 0) + more);
      }
      expect(byStart(hour + 2 * 3600_000)?.resolved).toBe((was(hour + 2 * 3600_000)?.resolved ?? 0) + 1);
      expect(after?.matched_24h).toBe((before?.matched_24h ?? 0) + 2);
      expect(after?.resolved_24h).toBe((before?.resolved_24h ?? 0) + 4);
    } finally {
      await handle.db.delete(users).where(
        inArray(
          users.id,
          people.map((person) => person.id),
        ),
      );
    }
  });
});

describe("two moderators deciding one report at once", () => {
  it("one decision wins, the other is 409, and the account is as the winning decision left it", async () => {
    const other = await signIn();
    await handle.db.update(users).set({ role: "admin", adminSource: "grant" }).where(eq(users.id, other.user.id));
    const pairs: ["none" | "warn" | "suspend", "none" | "warn" | "suspend"][] = [
      ["suspend", "none"],
      ["warn", "suspend"],
      ["none", "warn"],
      ["suspend", "warn"],
    ];
    for (const [mine, theirs] of pairs) {
      const reporter = await signIn();
      const target = await signIn();
      const { id } = (await (
        await postJson("/reports", { target_user_id: target.user.id, reason: "spam" }, { headers: bearer(reporter) })
      ).json()) as { id: string };
      const answers = await Promise.all([
        postJson(`/admin/reports/${id}/close`, { resolution: "mine", action: mine }, { headers: bearer(admin) }),
        postJson(`/admin/reports/${id}/close`, { resolution: "theirs", action: theirs }, { headers: bearer(other) }),
      ]);
      expect(answers.map((answer) => answer.status).sort()).toEqual([200, 409]);
      const won = answers[0]?.status === 200 ? mine : theirs;
      const report = (await (await asAdmin(`/admin/reports/${id}`)).json()) as { action: string; resolution: string };
      expect(report.action).toBe(won);
      expect((await readSuspension(target.user.id))?.status).toBe(won === "suspend" ? "suspended" : "active");
      const notices = await handle.db.execute<{ count: number }>(
        sql`select count(*)::int as count from moderation_notices where user_id = ${target.user.id}`,
      );
      expect(notices.rows[0]?.count).toBe(won === "none" ? 0 : 1);
      const closings = await handle.db.execute<{ count: number }>(
        sql`select count(*)::int as count from audit_logs where action = 'report.close' and target_id = ${id}`,
      );
      expect(closings.rows[0]?.count).toBe(1);
    }
  });
});

describe("a report whose reporter and target both deleted their accounts", () => {
  it("still lists and reads, with both users null, and the accounts' histories are 404", async () => {
    const { a: reporter, b: target, sessionId } = await pairInSession(handle, ["Gone reporter", "Gone target"]);
    await send(target, sessionId, { type: "text", text: "evidence that outlives us" });
    const { id } = (await (
      await postJson(
        "/reports",
        { target_user_id: target.user.id, reason: "scam", session_id: sessionId },
        { headers: bearer(reporter) },
      )
    ).json()) as { id: string };
    for (const who of [reporter, target]) {
      expect((await api("/me", { method: "DELETE", headers: bearer(who) })).status).toBe(204);
    }
    const listed = await asAdmin("/admin/reports?status=open&limit=100");
    expect(listed.status).toBe(200);
    const item = ((await listed.json()) as { items: AdminReport[] }).items.find((row) => row.id === id);
    expect(item).toMatchObject({ reporter: null, target: null });
    const one = await asAdmin(`/admin/reports/${id}`);
    expect(one.status).toBe(200);
    expect(((await one.json()) as AdminReport).evidence?.map((message) => message.text)).toEqual([
      "evidence that outlives us",
    ]);
    for (const who of [reporter, target]) expect((await asAdmin(`/admin/users/${who.user.id}`)).status).toBe(404);
    expect((await dismiss(id)).status).toBe(200);
  });
});

describe("a moderator who deleted their account", () => {
  it("leaves the reports they closed and the audit rows they wrote readable, with nobody named", async () => {
    const moderator = await signIn();
    await handle.db.update(users).set({ role: "admin", adminSource: "grant" }).where(eq(users.id, moderator.user.id));
    const reporter = await signIn();
    const target = await signIn();
    const { id } = (await (
      await postJson("/reports", { target_user_id: target.user.id, reason: "other" }, { headers: bearer(reporter) })
    ).json()) as { id: string };
    const closed = await postJson(
      `/admin/reports/${id}/close`,
      { resolution: "fine", action: "warn" },
      { headers: bearer(moderator) },
    );
    expect(closed.status).toBe(200);
    const [written] = ((await closed.json()) as { audit_entries: AuditEntry[] }).audit_entries;
    expect((await api("/me", { method: "DELETE", headers: bearer(moderator) })).status).toBe(204);

    const report = await asAdmin(`/admin/reports/${id}`);
    expect(report.status).toBe(200);
    expect(await report.json()).toMatchObject({ status: "closed", action: "warn", closed_by: null });
    const closedPage = await asAdmin("/admin/reports?status=closed&limit=100");
    expect(closedPage.status).toBe(200);
    const log = await asAdmin("/admin/audit-logs?limit=100");
    expect(log.status).toBe(200);
    const row = ((await log.json()) as { items: AuditEntry[] }).items.find((item) => item.id === written?.id);
    expect(row).toMatchObject({ action: "report.close", actor_id: null, target_id: id });
    // The warned user still has the notice: it was the decision's, not the moderator's.
    const me = (await (await api("/me", { headers: bearer(target) })).json()) as { notices: unknown[] };
    expect(me.notices).toHaveLength(1);
  });
});
