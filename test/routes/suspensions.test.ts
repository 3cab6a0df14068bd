import { and, eq, isNotNull } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { moderationNotices, refreshTokens, sessions, users } from "../../src/db/schema";
import { bearer, type SignedIn, signIn, startSignIn, verify } from "../support/auth";
import { makeAdmin, passResendCooldown, testDatabase } from "../support/db";
import { api, postJson, readProblem } from "../support/http";
import { pairInSession } from "../support/sessions";

const handle = testDatabase();
let admin: SignedIn;

beforeAll(async () => {
  admin = await signIn();
  await makeAdmin(handle, admin.user.id);
});
afterAll(() => handle.close());

/** What a refused user's problem says about the suspension. */
async function suspensionIn(response: Response) {
  expect(response.status).toBe(403);
  const problem = await readProblem(response);
  expect(problem.code).toBe("ACCOUNT_SUSPENDED");
  return problem as typeof problem & { suspended_at: string | null; reason: string | null };
}

async function signInAgain(who: SignedIn): Promise<Response> {
  await passResendCooldown(who.user.email);
  const pending = await startSignIn(who.user.email);
  return verify(pending.email, pending.loginId, pending.code);
}

describe("a suspended user's 403", () => {
  it("says since when and the reason category of the report, never the reporter, on every way in", async () => {
    const reporter = await signIn();
    const target = await signIn();
    const filed = await postJson(
      "/reports",
      { target_user_id: target.user.id, reason: "harassment", note: "called me names" },
      { headers: bearer(reporter) },
    );
    const { id } = (await filed.json()) as { id: string };
    const before = Date.now();
    const closed = await postJson(
      `/admin/reports/${id}/close`,
      { resolution: "Insults", action: "suspend" },
      { headers: bearer(admin) },
    );
    expect(closed.status).toBe(200);

    // With a token issued before the suspension: refused through its revocation.
    const byToken = await suspensionIn(await api("/me", { headers: bearer(target) }));
    expect(byToken.reason).toBe("harassment");
    const since = Date.parse(byToken.suspended_at ?? "");
    expect(since).toBeGreaterThanOrEqual(before - 1000);
    expect(since).toBeLessThanOrEqual(Date.now());
    const text = JSON.stringify(byToken);
    for (const secret of [reporter.user.id, reporter.user.email, "called me names", "Insults"]) {
      expect(text).not.toContain(secret);
    }
    const matching = await suspensionIn(
      await postJson("/match/attempt", { desired_level: "B1" }, { headers: bearer(target) }),
    );
    expect(matching).toMatchObject({ reason: "harassment", suspended_at: byToken.suspended_at });

    // The refresh token the suspension revoked, and signing in again: read from the account.
    const byRefresh = await suspensionIn(await postJson("/auth/refresh", { refresh_token: target.refresh_token }));
    expect(byRefresh).toMatchObject({ reason: "harassment", suspended_at: byToken.suspended_at });
    const bySignIn = await suspensionIn(await signInAgain(target));
    expect(bySignIn).toMatchObject({ reason: "harassment", suspended_at: byToken.suspended_at });
  });

  it("is told to the refresh token the suspension revoked, not to one that had stopped working before", async () => {
    const target = await signIn();
    // A second sign-in, signed out (a shared computer): its token stopped working then.
    const signedOutResponse = await signInAgain(target);
    const signedOut = (await signedOutResponse.json()) as { refresh_token: string };
    expect((await postJson("/auth/logout", { refresh_token: signedOut.refresh_token })).status).toBe(204);
    // The first sign-in rotated an hour ago: its old token is spent, the successor is the live one.
    const rotated = await postJson("/auth/refresh", { refresh_token: target.refresh_token });
    const live = ((await rotated.json()) as { refresh_token: string }).refresh_token;
    await handle.db
      .update(refreshTokens)
      .set({ usedAt: new Date(Date.now() - 3_600_000) })
      .where(and(eq(refreshTokens.userId, target.user.id), isNotNull(refreshTokens.usedAt)));
    expect(
      (await api(`/admin/users/${target.user.id}/suspend`, { method: "POST", headers: bearer(admin) })).status,
    ).toBe(200);

    // Whoever holds a token that had stopped working (a thief's copy) learns nothing of the account.
    for (const stale of [signedOut.refresh_token, target.refresh_token]) {
      const refused = await postJson("/auth/refresh", { refresh_token: stale });
      expect(refused.status).toBe(401);
      expect(JSON.stringify(await readProblem(refused))).not.toContain("suspended_at");
    }
    expect(await suspensionIn(await postJson("/auth/refresh", { refresh_token: live }))).toMatchObject({
      reason: null,
    });
  });

  it("has a null reason when an admin suspended the account without a report, and none of the last one's", async () => {
    const reporter = await signIn();
    const target = await signIn();
    const filed = await postJson(
      "/reports",
      { target_user_id: target.user.id, reason: "spam" },
      { headers: bearer(reporter) },
    );
    const { id } = (await filed.json()) as { id: string };
    await postJson(`/admin/reports/${id}/close`, { resolution: "Spam", action: "suspend" }, { headers: bearer(admin) });
    expect(
      (await api(`/admin/users/${target.user.id}/unsuspend`, { method: "POST", headers: bearer(admin) })).status,
    ).toBe(200);
    expect((await api("/me", { headers: bearer(target) })).status).toBe(200);

    expect(
      (await api(`/admin/users/${target.user.id}/suspend`, { method: "POST", headers: bearer(admin) })).status,
    ).toBe(200);
    const byToken = await suspensionIn(await api("/me", { headers: bearer(target) }));
    expect(byToken.reason).toBeNull();
    expect(byToken.suspended_at).not.toBeNull();
    const bySignIn = await suspensionIn(await signInAgain(target));
    expect(bySignIn).toMatchObject({ reason: null, suspended_at: byToken.suspended_at });
  });

  it("is told to a message or a report admitted before the suspension's revocation reached Redis", async () => {
    const { a, sessionId } = await pairInSession(handle);
    const partner = await signIn();
    // The suspension committed, and its revocation is not in Redis yet (it is written after the commit).
    const since = new Date(Date.now() - 1000);
    await handle.db
      .update(users)
      .set({ status: "suspended", suspendedAt: since, suspensionReason: "scam" })
      .where(eq(users.id, a.user.id));
    const sent = await suspensionIn(
      await postJson(`/sessions/${sessionId}/messages`, { type: "text", text: "hello?" }, { headers: bearer(a) }),
    );
    expect(sent).toMatchObject({ suspended_at: since.toISOString(), reason: "scam" });
    const left = await suspensionIn(
      await postJson(`/sessions/${sessionId}/report-and-leave`, { reason: "spam" }, { headers: bearer(a) }),
    );
    expect(left).toMatchObject({ suspended_at: since.toISOString(), reason: "scam" });
    const filed = await suspensionIn(
      await postJson("/reports", { target_user_id: partner.user.id, reason: "spam" }, { headers: bearer(a) }),
    );
    expect(filed).toMatchObject({ suspended_at: since.toISOString(), reason: "scam" });
  });
});

/** Files a report by a new reporter on `target`; answers its id. */
async function reported(target: SignedIn, reason: string): Promise<string> {
  const reporter = await signIn();
  const filed = await postJson("/reports", { target_user_id: target.user.id, reason }, { headers: bearer(reporter) });
  expect(filed.status).toBe(201);
  return ((await filed.json()) as { id: string }).id;
}

const close = (reportId: string, action: "none" | "warn" | "suspend") =>
  postJson(`/admin/reports/${reportId}/close`, { resolution: "Read the evidence", action }, { headers: bearer(admin) });

async function noticesOf(userId: string): Promise<string[]> {
  const rows = await handle.db
    .select({ action: moderationNotices.action, reason: moderationNotices.reason })
    .from(moderationNotices)
    .where(eq(moderationNotices.userId, userId));
  return rows.map(({ action, reason }) => `${action} ${reason}`);
}

describe("closing a report about an account suspended already, or deleted", () => {
  it("with suspend, closes it and leaves the suspension's time and reason as the user was told them", async () => {
    const target = await signIn();
    const first = await reported(target, "scam");
    const second = await reported(target, "spam");
    expect((await close(first, "suspend")).status).toBe(200);
    const told = await suspensionIn(await signInAgain(target));
    expect(told.reason).toBe("scam");

    const closed = await close(second, "suspend");
    expect(closed.status).toBe(200);
    expect(await closed.json()).toMatchObject({ status: "closed", action: "suspend" });
    expect(await suspensionIn(await signInAgain(target))).toMatchObject({
      reason: "scam",
      suspended_at: told.suspended_at,
    });
    expect(await noticesOf(target.user.id)).toEqual(["suspend scam"]);
  });

  it("with warn or suspend about a deleted account, is 409 and changes nothing; none closes it", async () => {
    const target = await signIn();
    const reportId = await reported(target, "inappropriate");
    expect((await api("/me", { method: "DELETE", headers: bearer(target) })).status).toBe(204);
    for (const action of ["warn", "suspend"] as const) {
      const refused = await close(reportId, action);
      expect(refused.status).toBe(409);
      expect((await readProblem(refused)).detail).toContain("deleted");
    }
    const open = await api(`/admin/reports/${reportId}`, { headers: bearer(admin) });
    expect(await open.json()).toMatchObject({ status: "open", action: null });
    const closed = await close(reportId, "none");
    expect(closed.status).toBe(200);
    expect(await closed.json()).toMatchObject({ status: "closed", action: "none", target: null });
  });
});

describe("a suspension racing the account's deletion", () => {
  it("ends in one of the two, never a deadlock (500), and the session is ended", async () => {
    // Rounds, so that the two meet on PostgreSQL (PGlite runs one statement at a time): before the
    // deletion locked the user's row first, about one run in three of four rounds deadlocked.
    for (let round = 0; round < 8; round += 1) {
      const { a, sessionId } = await pairInSession(handle);
      const [suspended, deleted] = await Promise.all([
        api(`/admin/users/${a.user.id}/suspend`, { method: "POST", headers: bearer(admin) }),
        api("/me", { method: "DELETE", headers: bearer(a) }),
      ]);
      // The deletion first: nobody left to suspend. The suspension first: a suspended account's
      // token is refused, or the deletion admitted before it deletes the suspended account.
      expect([200, 404]).toContain(suspended.status);
      expect([204, 403]).toContain(deleted.status);
      const [user] = await handle.db.select({ status: users.status }).from(users).where(eq(users.id, a.user.id));
      expect(user?.status ?? "deleted").toBe(deleted.status === 204 ? "deleted" : "suspended");
      const [session] = await handle.db
        .select({ status: sessions.status })
        .from(sessions)
        .where(eq(sessions.id, sessionId));
      expect(session?.status).toBe("ended");
    }
  });
});

describe("closing a report racing its target's account deletion", () => {
  it("ends in one of the two, never a deadlock (500)", async () => {
    // Rounds, so that the two meet on PostgreSQL: while the closing locked the report before the
    // user (and the deletion the user before their reports), most runs of eight rounds deadlocked.
    for (let round = 0; round < 8; round += 1) {
      const target = await signIn();
      const reportId = await reported(target, "harassment");
      const action = (["none", "warn", "suspend"] as const)[round % 3] ?? "none";
      const [closed, deleted] = await Promise.all([
        close(reportId, action),
        api("/me", { method: "DELETE", headers: bearer(target) }),
      ]);
      // The closing first: closed, and the account then deleted (or, once suspended, refused). The
      // deletion first: `none` still closes the report, `warn` and `suspend` are 409 (nobody to tell).
      expect(action === "suspend" ? [204, 403] : [204]).toContain(deleted.status);
      expect(action === "none" || deleted.status === 403 ? [200] : [200, 409]).toContain(closed.status);
      const after = (await (await api(`/admin/reports/${reportId}`, { headers: bearer(admin) })).json()) as {
        status: string;
      };
      expect(after.status).toBe(closed.status === 200 ? "closed" : "open");
    }
  });
});

describe("closing a report racing its reporter's account deletion, or the reported partner's report and leave", () => {
  it("ends without a deadlock (500)", async () => {
    for (let round = 0; round < 6; round += 1) {
      const { a: reporter, b: target, sessionId } = await pairInSession(handle);
      const filed = await postJson(
        "/reports",
        { target_user_id: target.user.id, reason: "spam", session_id: sessionId },
        { headers: bearer(reporter) },
      );
      const { id } = (await filed.json()) as { id: string };
      const action = round % 2 === 0 ? "suspend" : "warn";
      const [closed, deleted] = await Promise.all([
        close(id, action),
        api("/me", { method: "DELETE", headers: bearer(reporter) }),
      ]);
      expect(closed.status).toBe(200);
      expect(deleted.status).toBe(204);

      const pair = await pairInSession(handle);
      const earlier = await reported(pair.b, "scam");
      const [suspending, left] = await Promise.all([
        close(earlier, "suspend"),
        postJson(`/sessions/${pair.sessionId}/report-and-leave`, { reason: "harassment" }, { headers: bearer(pair.a) }),
      ]);
      expect(suspending.status).toBe(200);
      expect(left.status).toBe(201);
    }
  });
});
