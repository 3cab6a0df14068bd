import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reports, users } from "../../src/db/schema";
import { bearer, type SignedIn, signIn } from "../support/auth";
import { makeAdmin, testDatabase } from "../support/db";
import { api, postJson, readProblem } from "../support/http";
import { attempt, cancelAttempt, eventually, learner, matchStatus, openMatchSocket } from "../support/match";
import { pairInSession, send, sessionBetween } from "../support/sessions";

const handle = testDatabase();
let admin: SignedIn;

beforeAll(async () => {
  admin = await signIn();
  await makeAdmin(handle, admin.user.id);
});
/** Every report this file files: closed at the end, so held users' reports do not crowd other files' queues. */
const filedHere: string[] = [];

afterAll(async () => {
  for (const id of filedHere) await close(id, "none");
  await handle.close();
});

const day = 24 * 3600 * 1000;

/** Makes `who`'s account `ms` old, past the new-account rule unless `ms` is under a day. */
async function age(who: SignedIn, ms: number): Promise<void> {
  await handle.db
    .update(users)
    .set({ createdAt: new Date(Date.now() - ms) })
    .where(eq(users.id, who.user.id));
}

/** A learner whose account is two days old: three distinct reporters hold them. */
async function established(name: string): Promise<SignedIn> {
  const who = await learner("C1", name);
  await age(who, 2 * day);
  return who;
}

async function report(
  reporter: SignedIn,
  target: SignedIn,
  reason = "harassment",
  sessionId?: string,
): Promise<string> {
  const response = await postJson(
    "/reports",
    { target_user_id: target.user.id, reason, ...(sessionId ? { session_id: sessionId } : {}) },
    { headers: bearer(reporter) },
  );
  expect(response.status).toBe(201);
  const { id } = (await response.json()) as { id: string };
  filedHere.push(id);
  return id;
}

/** Someone who has had a session with `target`, ended now: their reports count toward a hold. */
async function partnerOf(target: SignedIn): Promise<SignedIn> {
  const partner = await signIn();
  await sessionBetween(handle, partner, target, "ended");
  return partner;
}

/** `count` partners of `target`, each reporting them once. */
async function reportedBy(count: number, target: SignedIn): Promise<SignedIn[]> {
  const reporters = await Promise.all(Array.from({ length: count }, () => partnerOf(target)));
  for (const reporter of reporters) await report(reporter, target);
  return reporters;
}

/** What `POST /match/attempt` answers `who` now; a queued attempt is cancelled again. */
async function attemptAnswer(who: SignedIn): Promise<{ status: number; code?: string }> {
  const answer = await postJson("/match/attempt", { desired_level: "C1" }, { headers: bearer(who) });
  if (answer.status === 202) {
    await cancelAttempt(who);
    return { status: 202 };
  }
  return { status: answer.status, code: (await readProblem(answer)).code };
}

/** The status `POST /match/attempt` answers `who`, leaving a queued attempt queued. */
async function attemptAnswerKept(who: SignedIn): Promise<number> {
  return (await postJson("/match/attempt", { desired_level: "C1" }, { headers: bearer(who) })).status;
}

interface AuditRow {
  actor_id: string | null;
  action: string;
  target_id: string;
  metadata: Record<string, unknown>;
}

async function auditOf(userId: string): Promise<AuditRow[]> {
  const page = (await (await api("/admin/audit-logs?limit=100", { headers: bearer(admin) })).json()) as {
    items: AuditRow[];
  };
  return page.items.filter((row) => row.target_id === userId);
}

interface QueueItem {
  id: string;
  held: boolean;
  target: { id: string } | null;
}

async function openQueue(): Promise<QueueItem[]> {
  const page = (await (await api("/admin/reports?status=open&limit=100", { headers: bearer(admin) })).json()) as {
    items: QueueItem[];
  };
  return page.items;
}

function close(reportId: string, action: "none" | "warn" | "suspend"): Promise<Response> {
  return postJson(
    `/admin/reports/${reportId}/close`,
    { resolution: "looked at it", action },
    { headers: bearer(admin) },
  );
}

describe("automatic holds", () => {
  it("hold an established account at the third distinct reporter, not the second, and withdraw its queued attempt", async () => {
    const target = await established("reported-thrice");
    const queued = await attempt(target, "C1");
    expect(queued.status).toBe(202);
    const reporters = await reportedBy(2, target);
    expect(await matchStatus(target)).toMatchObject({ status: "queued", attempt_id: queued.body.attempt_id });
    expect(await auditOf(target.user.id)).toEqual([]);

    await reportedBy(1, target);
    expect(await matchStatus(target)).toMatchObject({ status: "cancelled", attempt_id: queued.body.attempt_id });
    const matchmaker = env.MATCHMAKER.get(env.MATCHMAKER.idFromName("C1"));
    await eventually(
      async () =>
        (await runInDurableObject(matchmaker, (object) => object.holds([queued.body.attempt_id]))).length === 0,
      "the matchmaker to let the attempt go",
    );
    const refused = await postJson("/match/attempt", { desired_level: "C1" }, { headers: bearer(target) });
    expect(refused.status).toBe(403);
    const problem = await readProblem(refused);
    expect(problem.code).toBe("UNDER_REVIEW");
    expect(problem.detail).toContain("moderator");
    expect(await auditOf(target.user.id)).toEqual([
      expect.objectContaining({
        actor_id: null,
        action: "user.hold",
        metadata: expect.objectContaining({ reporters: 3, withdrawn_attempt_id: queued.body.attempt_id }),
      }),
    ]);
    // The reporters themselves are not held.
    expect((await matchStatus(reporters[0] as SignedIn)).status).toBe("none");
  });

  it("tell the held user's waiting socket that their attempt expired, under review", async () => {
    const target = await established("held-while-waiting");
    const socket = await openMatchSocket(target, "C1");
    const queued = await attempt(target, "C1");
    expect(queued.status).toBe(202);
    await reportedBy(2, target);
    expect(socket.received).toEqual([]);
    await reportedBy(1, target);
    await eventually(() => socket.received.length > 0, "the expired push");
    expect(socket.received).toEqual([{ type: "expired", attempt_id: queued.body.attempt_id, reason: "under_review" }]);
    // The socket stays: the user may still be matched once a moderator releases them.
    expect(socket.closed).toBeNull();
    expect(await attemptAnswer(target)).toEqual({ status: 403, code: "UNDER_REVIEW" });
  });

  it("count reports filed with report-and-leave, and hold at the third partner", async () => {
    const target = await established("reported-and-left");
    const left: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const partner = await signIn();
      // Sessions that ended already (each partner left, then reported), so the target may wait for a match meanwhile.
      const sessionId = await sessionBetween(handle, partner, target, "ended");
      if (i === 2) {
        const queued = await attempt(target, "C1");
        expect(queued.status).toBe(202);
        left.push(queued.body.attempt_id);
      }
      const answer = await postJson(
        `/sessions/${sessionId}/report-and-leave`,
        { reason: "harassment" },
        { headers: bearer(partner) },
      );
      expect(answer.status).toBe(201);
      filedHere.push(((await answer.json()) as { report: { id: string } }).report.id);
      if (i < 2) expect(await attemptAnswer(target)).toEqual({ status: 202 });
    }
    expect(await matchStatus(target)).toMatchObject({ status: "cancelled", attempt_id: left[0] });
    expect(await attemptAnswer(target)).toEqual({ status: 403, code: "UNDER_REVIEW" });
    expect(await auditOf(target.user.id)).toEqual([
      expect.objectContaining({
        action: "user.hold",
        metadata: expect.objectContaining({ reporters: 3, withdrawn_attempt_id: left[0] }),
      }),
    ]);
  });

  it("count a reporter's repeated reports once", async () => {
    const target = await established("reported-repeatedly");
    const [again] = await reportedBy(1, target);
    await report(again as SignedIn, target, "spam");
    await report(again as SignedIn, target, "scam");
    await reportedBy(1, target);
    expect(await attemptAnswer(target)).toEqual({ status: 202 });
    await reportedBy(1, target);
    expect(await attemptAnswer(target)).toEqual({ status: 403, code: "UNDER_REVIEW" });
  });

  it("count only reporters who have had a session with the target: three strangers hold nobody, three partners do", async () => {
    const target = await established("reported-by-strangers");
    // Filed all the same, for a moderator to read; they only do not count.
    for (const stranger of await Promise.all([signIn(), signIn(), signIn()])) await report(stranger, target);
    expect(await attemptAnswer(target)).toEqual({ status: 202 });
    expect(await auditOf(target.user.id)).toEqual([]);

    // Two name the session they had with the target; the third reports without naming it.
    const partners = await Promise.all([signIn(), signIn(), signIn()]);
    const sessions = await Promise.all(partners.map((partner) => sessionBetween(handle, partner, target, "ended")));
    await report(partners[0] as SignedIn, target, "harassment", sessions[0]);
    await report(partners[1] as SignedIn, target, "harassment", sessions[1]);
    expect(await attemptAnswer(target)).toEqual({ status: 202 });
    await report(partners[2] as SignedIn, target);
    expect(await attemptAnswer(target)).toEqual({ status: 403, code: "UNDER_REVIEW" });
    expect(await auditOf(target.user.id)).toEqual([
      expect.objectContaining({ action: "user.hold", metadata: expect.objectContaining({ reporters: 3 }) }),
    ]);
  });

  it("do not count reporters suspended or deleted since they reported", async () => {
    const target = await established("reported-by-the-gone");
    const [, suspended, deleted] = await reportedBy(3, target);
    // The third report held them: lift it, then see that the gone reporters do not count again.
    expect(await attemptAnswer(target)).toEqual({ status: 403, code: "UNDER_REVIEW" });
    await handle.db.update(users).set({ heldAt: null }).where(eq(users.id, target.user.id));
    await handle.db
      .update(users)
      .set({ status: "suspended" })
      .where(eq(users.id, (suspended as SignedIn).user.id));
    expect((await api("/me", { method: "DELETE", headers: bearer(deleted as SignedIn) })).status).toBe(204);
    // Counted now: the first reporter and this one.
    await reportedBy(1, target);
    expect(await attemptAnswer(target)).toEqual({ status: 202 });
    await reportedBy(1, target);
    expect(await attemptAnswer(target)).toEqual({ status: 403, code: "UNDER_REVIEW" });
  });

  it("count a reporter whom the target blocked before they could report, and one who blocked the target", async () => {
    const target = await established("blocks-before-being-reported");
    const [blockedByTarget, blockedTarget] = await Promise.all([partnerOf(target), partnerOf(target)]);
    for (const [blocker, blocked] of [
      [target, blockedByTarget],
      [blockedTarget, target],
    ] as const) {
      const block = await api(`/users/${blocked.user.id}/block`, { method: "POST", headers: bearer(blocker) });
      expect(block.status).toBe(204);
    }
    await report(blockedByTarget as SignedIn, target);
    await report(blockedTarget as SignedIn, target);
    expect(await attemptAnswer(target)).toEqual({ status: 202 });
    await reportedBy(1, target);
    expect(await attemptAnswer(target)).toEqual({ status: 403, code: "UNDER_REVIEW" });
  });

  it("count only the last 24 hours' reports", async () => {
    const target = await established("reported-long-ago");
    const [old, recent] = await Promise.all([partnerOf(target), partnerOf(target)]);
    const oldId = await report(old as SignedIn, target);
    const recentId = await report(recent as SignedIn, target);
    await handle.db.update(reports).set({ createdAt: sql`now() - interval '25 hours'` }).where(eq(reports.id, oldId));
    await handle.db
      .update(reports)
      .set({ createdAt: sql`now() - interval '23 hours'` })
      .where(eq(reports.id, recentId));
    // Counted: `recent` and this one; `old` is past the window.
    await reportedBy(1, target);
    expect(await attemptAnswer(target)).toEqual({ status: 202 });
    await reportedBy(1, target);
    expect(await attemptAnswer(target)).toEqual({ status: 403, code: "UNDER_REVIEW" });
  });

  it("hold an account younger than 24 hours at the second distinct reporter", async () => {
    const young = await learner("C1", "new-and-reported");
    await age(young, day - 60_000);
    await reportedBy(1, young);
    expect(await attemptAnswer(young)).toEqual({ status: 202 });
    await reportedBy(1, young);
    expect(await attemptAnswer(young)).toEqual({ status: 403, code: "UNDER_REVIEW" });

    const dayOld = await learner("C1", "a-day-old-and-reported");
    await age(dayOld, day + 60_000);
    await reportedBy(2, dayOld);
    expect(await attemptAnswer(dayOld)).toEqual({ status: 202 });
  });

  it("leave an active session alone", async () => {
    const { a: partner, b: target, sessionId } = await pairInSession(handle, ["Partner", "Held"]);
    await report(partner, target);
    await reportedBy(1, target);
    const session = (await (await api(`/sessions/${sessionId}`, { headers: bearer(target) })).json()) as {
      status: string;
    };
    expect(session.status).toBe("active");
    expect((await send(target, sessionId, { type: "text", text: "still here" })).status).toBe(201);
    expect(await attemptAnswer(target)).toEqual({ status: 403, code: "UNDER_REVIEW" });
  });

  it("leave no attempt queued when the deciding report and an attempt arrive at once", async () => {
    for (let round = 0; round < 5; round += 1) {
      const target = await established(`racing-${round}`);
      await reportedBy(2, target);
      const reporter = await partnerOf(target);
      const [answer] = await Promise.all([attemptAnswerKept(target), report(reporter, target)]);
      // Queued, refused as held, or withdrawn by the hold while it was handed to the matchmaker.
      expect([202, 403, 409]).toContain(answer);
      expect((await matchStatus(target)).status).not.toBe("queued");
      expect(await attemptAnswer(target)).toEqual({ status: 403, code: "UNDER_REVIEW" });
    }
  });

  it("hold exactly once when the deciding reports arrive at once", async () => {
    const target = await established("reported-at-once");
    await reportedBy(1, target);
    const [second, third, fourth] = await Promise.all([partnerOf(target), partnerOf(target), partnerOf(target)]);
    await Promise.all([second, third, fourth].map((reporter) => report(reporter as SignedIn, target)));
    expect(await attemptAnswer(target)).toEqual({ status: 403, code: "UNDER_REVIEW" });
    expect((await auditOf(target.user.id)).filter((row) => row.action === "user.hold")).toHaveLength(1);
  });
});

describe("held users in the moderators' queue", () => {
  it("come first with held: true, across pages too", async () => {
    const target = await learner("C1", "held-in-queue");
    const [first, second] = await Promise.all([partnerOf(target), partnerOf(target)]);
    const heldReports = [await report(first as SignedIn, target), await report(second as SignedIn, target)];
    const other = await signIn();
    const newest = await report(first as SignedIn, other);

    const queue = await openQueue();
    const firstFree = queue.findIndex((item) => !item.held);
    expect(queue.slice(firstFree).every((item) => !item.held)).toBe(true);
    expect(queue.filter((item) => heldReports.includes(item.id)).map((item) => item.held)).toEqual([true, true]);
    expect(queue.findIndex((item) => item.id === newest)).toBeGreaterThan(
      Math.max(...heldReports.map((id) => queue.findIndex((item) => item.id === id))),
    );
    expect(queue.find((item) => item.id === newest)?.held).toBe(false);

    // Page by page, the same order.
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `/admin/reports?status=open&limit=7${cursor ? `&cursor=${cursor}` : ""}`;
      const page = (await (await api(query, { headers: bearer(admin) })).json()) as {
        items: QueueItem[];
        next_cursor: string | null;
      };
      paged.push(...page.items.map((item) => item.id));
      cursor = page.next_cursor;
    } while (cursor && paged.length < queue.length);
    expect(paged.slice(0, queue.length)).toEqual(queue.map((item) => item.id));
  });

  it("leave closed reports newest first, page by page", async () => {
    const target = await learner("C1", "closed-then-listed");
    const reporter = await signIn();
    const closedIds = [await report(reporter, target, "spam"), await report(reporter, target, "scam")];
    for (const id of closedIds) expect((await close(id, "none")).status).toBe(200);
    const first = await api("/admin/reports?status=closed&limit=1", { headers: bearer(admin) });
    expect(first.status).toBe(200);
    const page = (await first.json()) as { items: QueueItem[]; next_cursor: string | null };
    const second = await api(`/admin/reports?status=closed&limit=1&cursor=${page.next_cursor}`, {
      headers: bearer(admin),
    });
    const next = (await second.json()) as { items: QueueItem[] };
    // The two newest; filed maybe within one millisecond, when their ids decide which comes first.
    expect([...page.items, ...next.items].map((item) => item.id).sort()).toEqual([...closedIds].sort());
  });

  it("are released when their last open report is closed with none or warn, audited", async () => {
    const target = await learner("C1", "released");
    const [first, second] = await Promise.all([partnerOf(target), partnerOf(target)]);
    const warned = await report(first as SignedIn, target);
    const dismissed = await report(second as SignedIn, target);
    expect(await attemptAnswer(target)).toEqual({ status: 403, code: "UNDER_REVIEW" });

    const warning = await close(warned, "warn");
    expect(warning.status).toBe(200);
    // The closing answers the audit rows it wrote: here only its own, as the hold stays.
    expect(((await warning.json()) as { audit_entries: AuditRow[] }).audit_entries.map((row) => row.action)).toEqual([
      "report.close",
    ]);
    expect(await attemptAnswer(target)).toEqual({ status: 403, code: "UNDER_REVIEW" });
    expect((await openQueue()).find((item) => item.id === dismissed)?.held).toBe(true);

    const releasing = await close(dismissed, "none");
    expect(releasing.status).toBe(200);
    expect(await attemptAnswer(target)).toEqual({ status: 202 });
    const logged = await auditOf(target.user.id);
    expect(logged.map((row) => [row.action, row.actor_id])).toEqual([
      ["user.release", admin.user.id],
      ["user.hold", null],
    ]);
    const { audit_entries: written } = (await releasing.json()) as { audit_entries: AuditRow[] };
    expect(written.map((row) => [row.action, row.target_id])).toEqual([
      ["report.close", dismissed],
      ["user.release", target.user.id],
    ]);
    // The release it answers is the row the audit log holds, not a look-alike.
    expect(written[1]).toEqual(logged[0]);
  });

  it("have the hold replaced by a suspension", async () => {
    const target = await learner("C1", "held-then-suspended");
    const [first, second] = await Promise.all([partnerOf(target), partnerOf(target)]);
    const suspending = await report(first as SignedIn, target);
    const left = await report(second as SignedIn, target);
    expect((await close(suspending, "suspend")).status).toBe(200);
    const [row] = await handle.db
      .select({ status: users.status, heldAt: users.heldAt })
      .from(users)
      .where(eq(users.id, target.user.id));
    expect(row).toEqual({ status: "suspended", heldAt: null });
    expect((await openQueue()).find((item) => item.id === left)?.held).toBe(false);
    expect((await auditOf(target.user.id)).map((row) => row.action)).toEqual(["user.hold"]);
  });

  it("are not the held admin's to close: closing a report about yourself is a 400, and the hold stays", async () => {
    const target = await established("held-admin");
    await makeAdmin(handle, target.user.id);
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push(await report(await partnerOf(target), target));
    expect(await attemptAnswer(target)).toEqual({ status: 403, code: "UNDER_REVIEW" });
    for (const id of ids) {
      const answer = await postJson(
        `/admin/reports/${id}/close`,
        { resolution: "nothing to see", action: "none" },
        { headers: bearer(target) },
      );
      expect(answer.status).toBe(400);
      expect((await readProblem(answer)).errors?.[0]?.field).toBe("path.id");
    }
    expect(await attemptAnswer(target)).toEqual({ status: 403, code: "UNDER_REVIEW" });
    expect((await openQueue()).filter((item) => ids.includes(item.id)).every((item) => item.held)).toBe(true);
  });
});
