import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { users } from "../../src/db/schema";
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

    // Signing in again: read from the account.
    const bySignIn = await suspensionIn(await signInAgain(target));
    expect(bySignIn).toMatchObject({ reason: "harassment", suspended_at: byToken.suspended_at });
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

  it("is told to a report admitted before the suspension's revocation reached Redis", async () => {
    const { a, sessionId } = await pairInSession(handle);
    const partner = await signIn();
    // The suspension committed, and its revocation is not in Redis yet (it is written after the commit).
    const since = new Date(Date.now() - 1000);
    await handle.db
      .update(users)
      .set({ status: "suspended", suspendedAt: since, suspensionReason: "scam" })
      .where(eq(users.id, a.user.id));
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
