import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { users } from "../../src/db/schema";
import { bearer, type SignedIn, signIn } from "../support/auth";
import { makeAdmin, testDatabase } from "../support/db";
import { postJson, readProblem } from "../support/http";
import { cancelAttempt, learner } from "../support/match";

const handle = testDatabase();
let admin: SignedIn;
const filedHere: string[] = [];
const day = 24 * 3600 * 1000;

beforeAll(async () => {
  admin = await signIn();
  await makeAdmin(handle, admin.user.id);
});

afterAll(async () => {
  for (const id of filedHere) await close(admin, id, "none");
  await handle.close();
});

async function age(who: SignedIn, ms: number): Promise<void> {
  await handle.db
    .update(users)
    .set({ createdAt: new Date(Date.now() - ms) })
    .where(eq(users.id, who.user.id));
}

async function established(level: "C1" | "C2" | "A1", name: string): Promise<SignedIn> {
  const who = await learner(level, name);
  await age(who, 2 * day);
  return who;
}

async function report(reporter: SignedIn, target: SignedIn, reason = "harassment"): Promise<string> {
  const response = await postJson(
    "/reports",
    { target_user_id: target.user.id, reason },
    { headers: bearer(reporter) },
  );
  expect(response.status).toBe(201);
  const { id } = (await response.json()) as { id: string };
  filedHere.push(id);
  return id;
}

function close(by: SignedIn, reportId: string, action: "none" | "warn" | "suspend"): Promise<Response> {
  return postJson(`/admin/reports/${reportId}/close`, { resolution: "looked at it", action }, { headers: bearer(by) });
}

async function attemptAnswer(who: SignedIn, level = "C2"): Promise<{ status: number; code?: string }> {
  const answer = await postJson("/match/attempt", { desired_level: level }, { headers: bearer(who) });
  if (answer.status === 202) {
    await cancelAttempt(who);
    return { status: 202 };
  }
  return { status: answer.status, code: (await readProblem(answer)).code };
}

async function heldAt(who: SignedIn): Promise<Date | null> {
  const [row] = await handle.db.select({ heldAt: users.heldAt }).from(users).where(eq(users.id, who.user.id));
  return row?.heldAt ?? null;
}

describe("an admin reported by others", () => {
  it("cannot close the reports about themselves, so cannot release their own hold", async () => {
    const target = await established("C2", "held-admin");
    await makeAdmin(handle, target.user.id);
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push(await report(await signIn(), target));
    expect(await attemptAnswer(target)).toEqual({ status: 403, code: "UNDER_REVIEW" });
    const answers: number[] = [];
    for (const id of ids) answers.push((await close(target, id, "none")).status);
    // Admins may not suspend/unsuspend themselves (notYourself); the same must go for deciding their own reports.
    expect(answers.every((status) => status >= 400)).toBe(true);
    expect(await heldAt(target)).not.toBeNull();
  });
});
