import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { users } from "../../src/db/schema";
import { bearer, type SignedIn, signIn } from "../support/auth";
import { makeAdmin, passResendCooldown, testDatabase } from "../support/db";
import { api, postJson, readProblem } from "../support/http";

/*
 * Changes of admin rights take turns, each re-checking that its actor is still an active admin:
 * two admins acting on each other at once cannot both win, so an active admin always remains. An
 * admin listed in ADMIN_EMAILS outranks one granted the role here.
 */
const handle = testDatabase();

async function grantedAdmin(): Promise<SignedIn> {
  const user = await signIn();
  await makeAdmin(handle, user.user.id);
  return user;
}

const demote = (actor: SignedIn, target: SignedIn) =>
  postJson(`/admin/users/${target.user.id}/role`, { role: "user" }, { headers: bearer(actor) });
const suspend = (actor: SignedIn, target: SignedIn) =>
  api(`/admin/users/${target.user.id}/suspend`, { method: "POST", headers: bearer(actor) });

async function activeAdmins(...of: SignedIn[]): Promise<number> {
  let count = 0;
  for (const who of of) {
    const [row] = await handle.db.select().from(users).where(eq(users.id, who.user.id));
    if (row?.role === "admin" && row.status === "active") count += 1;
  }
  return count;
}

describe("two admins acting on each other at once", () => {
  it.each([1, 2, 3])("demoting each other: one wins, the other is refused, one admin remains (round %i)", async () => {
    const [left, right] = [await grantedAdmin(), await grantedAdmin()];
    const answers = await Promise.all([demote(left, right), demote(right, left)]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 403]);
    expect(await activeAdmins(left, right)).toBe(1);
  });

  it("suspending each other: one wins, the other is refused, one admin remains", async () => {
    const [left, right] = [await grantedAdmin(), await grantedAdmin()];
    const answers = await Promise.all([suspend(left, right), suspend(right, left)]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 403]);
    expect(await activeAdmins(left, right)).toBe(1);
  });
});

describe("a role given again", () => {
  it("is a 409 that changes and audits nothing: granting to an admin, taking from a user, two admins at once", async () => {
    const actor = await grantedAdmin();
    const setRole = (target: SignedIn, role: "admin" | "user") =>
      postJson(`/admin/users/${target.user.id}/role`, { role }, { headers: bearer(actor) });
    const auditRows = async (target: SignedIn) =>
      (
        await handle.db.execute<{ action: string }>(
          sql`select action from audit_logs where target_id = ${target.user.id} order by created_at`,
        )
      ).rows.map((row) => row.action);

    const learner = await signIn();
    const notAdmin = await setRole(learner, "user");
    expect(notAdmin.status).toBe(409);
    expect((await readProblem(notAdmin)).detail).toBe("This account is not an admin.");
    const [first, second] = await Promise.all([setRole(learner, "admin"), setRole(learner, "admin")]);
    expect([first.status, second.status].sort()).toEqual([200, 409]);
    expect(await auditRows(learner)).toEqual(["user.role.grant"]);
    const again = await setRole(learner, "admin");
    expect(again.status).toBe(409);
    expect((await readProblem(again)).detail).toBe("This account is already an admin.");
    expect(await auditRows(learner)).toEqual(["user.role.grant"]);
  });
});

describe("an admin listed in ADMIN_EMAILS", () => {
  it("cannot be suspended or demoted by a granted admin, and may act on one", async () => {
    await passResendCooldown("moderator@gaplash.test");
    const listed = await signIn("moderator@gaplash.test");
    // Other files sign this address in too: leave no cooldown behind.
    await passResendCooldown("moderator@gaplash.test");
    const granted = await grantedAdmin();
    for (const answer of [await suspend(granted, listed), await demote(granted, listed)]) {
      expect(answer.status).toBe(403);
      expect((await readProblem(answer)).detail).toContain("ADMIN_EMAILS");
    }
    expect(await activeAdmins(listed)).toBe(1);
    expect((await suspend(listed, granted)).status).toBe(200);
  });
});

/*
 * Closing a report with `suspend` suspends its target: when the target is an admin, that is a
 * change of admin rights like `POST /admin/users/{id}/suspend`, and the same rules hold.
 */
async function reportAbout(target: SignedIn): Promise<string> {
  const reporter = await signIn();
  const filed = await postJson(
    "/reports",
    { target_user_id: target.user.id, reason: "harassment" },
    { headers: bearer(reporter) },
  );
  expect(filed.status).toBe(201);
  return ((await filed.json()) as { id: string }).id;
}

const closeSuspending = (actor: SignedIn, reportId: string) =>
  postJson(
    `/admin/reports/${reportId}/close`,
    { resolution: "suspend them", action: "suspend" },
    { headers: bearer(actor) },
  );

describe("closing a report with suspend is a change of admin rights when it names an admin", () => {
  it.each([1, 2, 3])(
    "two admins suspending each other through reports at once: one admin remains (round %i)",
    async () => {
      const [left, right] = [await grantedAdmin(), await grantedAdmin()];
      const [aboutLeft, aboutRight] = [await reportAbout(left), await reportAbout(right)];
      const answers = await Promise.all([closeSuspending(left, aboutRight), closeSuspending(right, aboutLeft)]);
      expect(answers.map((answer) => answer.status).sort()).toEqual([200, 403]);
      expect(await activeAdmins(left, right)).toBe(1);
      // The refused closing changed nothing: its report is still open.
      const refusedReport = answers[0]?.status === 403 ? aboutRight : aboutLeft;
      const [row] = await handle.db
        .execute<{ status: string }>(sql`select status from reports where id = ${refusedReport}`)
        .then((result) => result.rows);
      expect(row?.status).toBe("open");
    },
  );

  it("a granted admin cannot suspend a listed admin by closing a report about them", async () => {
    await passResendCooldown("moderator@gaplash.test");
    const listed = await signIn("moderator@gaplash.test");
    await passResendCooldown("moderator@gaplash.test");
    const granted = await grantedAdmin();
    const reportId = await reportAbout(listed);
    const answer = await closeSuspending(granted, reportId);
    expect(answer.status).toBe(403);
    expect((await readProblem(answer)).detail).toContain("ADMIN_EMAILS");
    expect(await activeAdmins(listed)).toBe(1);
    // Without suspending, the granted admin may still decide it.
    const closed = await postJson(
      `/admin/reports/${reportId}/close`,
      { resolution: "nothing in it", action: "none" },
      { headers: bearer(granted) },
    );
    expect(closed.status).toBe(200);
  });
});
