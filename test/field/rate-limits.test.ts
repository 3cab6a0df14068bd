import { describe, expect, it } from "vitest";
import { bearer, latestCode, newEmail, type SignedIn, signIn, verify } from "../support/auth";
import { passResendCooldown, testDatabase } from "../support/db";
import { apiWith, postJson, randomIp, readProblem } from "../support/http";
import { cancelAttempt, ping } from "../support/match";
import { pairInSession, send } from "../support/sessions";
import { withinOneWindow } from "../support/windows";

/*
 * A request refused by a limit, or refused for any other reason, consumes nothing, and nobody but
 * the owner can use up a quota that locks the owner out. Every 429 describes the limit that
 * refused it, in its detail, its `limit` and its RateLimit headers.
 */
const handle = testDatabase();

const requestFrom = (ip: string, email: string) =>
  postJson("/auth/email/request", { email }, { headers: { "cf-connecting-ip": ip } });

function remaining(response: Response): { policy: string | null; remaining: number } {
  const header = response.headers.get("ratelimit") ?? "";
  return { policy: response.headers.get("ratelimit-policy"), remaining: Number(/remaining=(\d+)/.exec(header)?.[1]) };
}

async function refusedBy(response: Response, limit: string, policy: string): Promise<void> {
  expect(response.status).toBe(429);
  expect(response.headers.get("ratelimit-policy")).toBe(policy);
  expect(response.headers.get("ratelimit")).toMatch(/remaining=0/);
  expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
  const problem = await readProblem(response.clone());
  expect(problem.code).toBe("RATE_LIMITED");
  expect(problem.limit).toBe(limit);
}

describe("sign-in code requests", () => {
  it("a resend tapped five times mails once; the refusals cost nothing, so a resend a minute later works", async () => {
    await withinOneWindow(3_600_000, 10_000);
    const ip = randomIp();
    const email = newEmail();
    const answers = [];
    for (let i = 0; i < 5; i += 1) answers.push(await requestFrom(ip, email));
    expect(answers[0]?.status).toBe(202);
    for (const refused of answers.slice(1)) await refusedBy(refused, "code-resend-cooldown", "1;w=60");
    expect((await readProblem(await requestFrom(ip, email))).detail).toMatch(/at most 1 every minute/);

    await passResendCooldown(email, ip);
    const later = await requestFrom(ip, email);
    expect(later.status).toBe(202);
    // Two mails sent from this network to this address: 3 of its 5 an hour are left.
    expect(remaining(later)).toEqual({ policy: "5;w=3600", remaining: 3 });
  });

  it("a stranger who uses up their own quota for an address leaves the owner's sign-in working", async () => {
    await withinOneWindow(3_600_000, 10_000);
    const stranger = randomIp();
    const owner = randomIp();
    const email = newEmail("owner");
    for (let i = 0; i < 5; i += 1) {
      expect((await requestFrom(stranger, email)).status).toBe(202);
      await passResendCooldown(email, stranger);
    }
    const sixth = await requestFrom(stranger, email);
    await refusedBy(sixth, "code-requests-per-address-and-network", "5;w=3600");
    expect((await readProblem(sixth)).detail).toContain("sign-in codes to this address asked from your network");

    // The owner asks from their own device a second later: no cooldown, no exhausted quota.
    const mine = await requestFrom(owner, email);
    expect(mine.status).toBe(202);
    const { login_id: loginId } = (await mine.json()) as { login_id: string };
    expect((await verify(email, loginId, await latestCode(email))).status).toBe(200);
  });

  it("counts an IPv6 requester by its /64: new addresses in one prefix share one quota", async () => {
    await withinOneWindow(3_600_000, 10_000);
    const email = newEmail();
    const prefix = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:${Math.floor(Math.random() * 0xffff).toString(16)}`;
    for (let i = 1; i <= 5; i += 1) {
      expect((await requestFrom(`${prefix}::${i.toString(16)}`, email)).status).toBe(202);
      // The cooldown, too, is the prefix's.
      expect((await requestFrom(`${prefix}::${(i + 100).toString(16)}`, email)).status).toBe(429);
      await passResendCooldown(email, `${prefix}::/64`);
    }
    await refusedBy(
      await requestFrom(`${prefix}:0:0:0:ff`, email),
      "code-requests-per-address-and-network",
      "5;w=3600",
    );
    // Another /64 is another requester.
    expect(
      (await requestFrom(`2001:db8:ffff:${Math.floor(Math.random() * 0xffff).toString(16)}::1`, email)).status,
    ).toBe(202);
  });

  it("caps the mails one address gets from everyone at 20 an hour, and says so", async () => {
    await withinOneWindow(3_600_000, 10_000);
    const email = newEmail("bombed");
    for (let i = 0; i < 20; i += 1) {
      expect((await requestFrom(randomIp(), email)).status).toBe(202);
    }
    const refused = await requestFrom(randomIp(), email);
    await refusedBy(refused, "code-mails-per-address", "20;w=3600");
    expect((await readProblem(refused)).detail).toContain("sign-in codes mailed to this address");
  });

  it("gives back every count of a request whose mail could not be sent", async () => {
    await withinOneWindow(3_600_000, 10_000);
    const ip = randomIp();
    const email = newEmail();
    const failed = await apiWith({ RESEND_BASE_URL: "http://127.0.0.1:9" }, "/auth/email/request", {
      method: "POST",
      headers: { "content-type": "application/json", "cf-connecting-ip": ip },
      body: JSON.stringify({ email }),
    });
    expect(failed.status).toBe(503);
    const sent = await requestFrom(ip, email);
    expect(sent.status).toBe(202);
    expect(remaining(sent)).toEqual({ policy: "5;w=3600", remaining: 4 });
  });
});

describe("quotas of signed-in learners", () => {
  it("messages refused (a bad correction, a reused client_id) or replayed cost nothing", async () => {
    await withinOneWindow(60_000, 8_000);
    const { a, sessionId } = await pairInSession(handle);
    const clientId = crypto.randomUUID();
    const first = await send(a, sessionId, { type: "text", text: "Hello", client_id: clientId });
    expect(remaining(first)).toEqual({ policy: "60;w=60", remaining: 59 });
    for (let i = 0; i < 3; i += 1) {
      expect((await send(a, sessionId, { type: "correction", corrects: crypto.randomUUID(), text: "x" })).status).toBe(
        400,
      );
      expect((await send(a, sessionId, { type: "text", text: "Hello", client_id: clientId })).status).toBe(200);
      expect((await send(a, sessionId, { type: "text", text: "Other", client_id: clientId })).status).toBe(422);
    }
    const second = await send(a, sessionId, { type: "text", text: "Second" });
    expect(second.status).toBe(201);
    expect(remaining(second)).toEqual({ policy: "60;w=60", remaining: 58 });
  });

  it("match attempts refused for want of presence cost nothing", async () => {
    await withinOneWindow(60_000, 8_000);
    // A learner with a level who has not pinged presence yet: attempts are refused.
    const user: SignedIn = await signIn();
    await postJson("/me", { display_name: "Refused first", level: "C2" }, { method: "PATCH", headers: bearer(user) });
    for (let i = 0; i < 3; i += 1) {
      const refused = await postJson("/match/attempt", { desired_level: "C2" }, { headers: bearer(user) });
      expect(refused.status).toBe(409);
    }
    await ping(user);
    const queued = await postJson("/match/attempt", { desired_level: "C2" }, { headers: bearer(user) });
    expect([200, 202]).toContain(queued.status);
    expect(remaining(queued)).toEqual({ policy: "30;w=60", remaining: 29 });
    await cancelAttempt(user);
  });

  it("reports refused (an unknown user) cost nothing", async () => {
    await withinOneWindow(3_600_000, 10_000);
    const { a, b } = await pairInSession(handle);
    for (let i = 0; i < 3; i += 1) {
      const unknown = await postJson(
        "/reports",
        { target_user_id: crypto.randomUUID(), reason: "spam" },
        { headers: bearer(a) },
      );
      expect(unknown.status).toBe(404);
    }
    const filed = await postJson("/reports", { target_user_id: b.user.id, reason: "spam" }, { headers: bearer(a) });
    expect(filed.status).toBe(201);
    expect(remaining(filed)).toEqual({ policy: "10;w=3600", remaining: 9 });
  });
});

describe("limits that refusals do not spend", () => {
  it("still bound failing requests, at three times the quota, and say so", async () => {
    await withinOneWindow(60_000, 15_000);
    const { a, sessionId } = await pairInSession(handle);
    const statuses: number[] = [];
    for (let i = 0; i < 181; i += 1) {
      const answer = await send(a, sessionId, { type: "correction", corrects: crypto.randomUUID(), text: "x" });
      statuses.push(answer.status);
      if (answer.status === 429) {
        await refusedBy(answer, "messages-attempts", "180;w=60");
        break;
      }
    }
    expect(statuses.filter((status) => status === 400)).toHaveLength(180);
    expect(statuses.at(-1)).toBe(429);
  }, 40_000);
});

describe("an owner who signed in from a network before", () => {
  it("gets a code from it even when strangers used up the mails of the address", async () => {
    await withinOneWindow(3_600_000, 10_000);
    const email = newEmail("known");
    const home = randomIp();
    const first = await requestFrom(home, email);
    const { login_id: loginId } = (await first.json()) as { login_id: string };
    expect((await verify(email, loginId, await latestCode(email), { "cf-connecting-ip": home })).status).toBe(200);
    await passResendCooldown(email, home);
    // Strangers from four networks take the 19 mails the address has left this hour.
    for (let i = 0; i < 19; i += 1) {
      expect((await requestFrom(`10.250.${i}.${Math.floor(Math.random() * 250) + 1}`, email)).status).toBe(202);
    }
    await refusedBy(await requestFrom(randomIp(), email), "code-mails-per-address", "20;w=3600");
    expect((await requestFrom(home, email)).status).toBe(202);
  });
});
