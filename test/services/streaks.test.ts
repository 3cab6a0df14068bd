import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { profiles, userBadges } from "../../src/db/schema";
import { advanceStreak, localDate, recordPractice, visibleStreak } from "../../src/services/streaks";
import { insertUsers, testDatabase } from "../support/db";

const handle = testDatabase();
afterAll(() => handle.close());

async function userIn(timezone: string): Promise<string> {
  const [user] = await insertUsers(handle, 1);
  const userId = user?.id ?? "";
  await handle.db.insert(profiles).values({ userId, timezone });
  return userId;
}

const practice = (userId: string, instant: string) =>
  handle.db.transaction((tx) => recordPractice(tx, userId, new Date(instant)));

describe("local days", () => {
  it("follow the user's time zone, far from UTC on both sides", () => {
    const instant = new Date("2026-11-26T19:30:00Z");
    expect(localDate(instant, "Asia/Tashkent")).toBe("2026-11-27");
    expect(localDate(instant, "America/Los_Angeles")).toBe("2026-11-26");
    expect(localDate(instant, "UTC")).toBe("2026-11-26");
  });
});

describe("streak rules", () => {
  const start = { current: 0, longest: 0, lastActiveDate: null };

  it("start at 1, stay on the same day, grow on the next day, restart after a gap, keep the longest", () => {
    const day1 = advanceStreak(start, "2026-11-01");
    expect(day1).toEqual({ current: 1, longest: 1, lastActiveDate: "2026-11-01" });
    expect(advanceStreak(day1, "2026-11-01")).toEqual(day1);
    const day2 = advanceStreak(day1, "2026-11-02");
    expect(day2).toEqual({ current: 2, longest: 2, lastActiveDate: "2026-11-02" });
    expect(advanceStreak(day2, "2026-11-05")).toEqual({ current: 1, longest: 2, lastActiveDate: "2026-11-05" });
    expect(advanceStreak({ current: 1, longest: 1, lastActiveDate: "2026-12-31" }, "2027-01-01").current).toBe(2);
  });

  it("show a broken streak as 0 once a whole day was missed", () => {
    const state = { current: 4, longest: 6, lastActiveDate: "2026-11-20" };
    expect(visibleStreak(state, "2026-11-21").current).toBe(4);
    expect(visibleStreak(state, "2026-11-22")).toEqual({ ...state, current: 0 });
  });
});

describe("recordPractice with an injected clock", () => {
  it("counts the next local day in Asia/Tashkent although it is still the same UTC day", async () => {
    const userId = await userIn("Asia/Tashkent");
    expect((await practice(userId, "2026-11-26T18:30:00Z")).current).toBe(1); // 23:30 on the 26th in Tashkent
    expect((await practice(userId, "2026-11-26T19:30:00Z")).current).toBe(2); // 00:30 on the 27th
    expect((await practice(userId, "2026-11-27T10:00:00Z")).current).toBe(2); // later the same local day
  });

  it("counts the next local day in America/Los_Angeles although UTC moved on earlier", async () => {
    const userId = await userIn("America/Los_Angeles");
    expect((await practice(userId, "2026-11-27T07:30:00Z")).current).toBe(1); // 23:30 on the 26th in LA
    expect((await practice(userId, "2026-11-27T08:30:00Z")).current).toBe(2); // 00:30 on the 27th
    const after = await practice(userId, "2026-11-29T20:00:00Z"); // the 28th was missed
    expect(after).toEqual({ current: 1, longest: 2, lastActiveDate: "2026-11-29" });
  });

  it("awards FIRST_CHAT once and SEVEN_DAYS once the streak reaches seven", async () => {
    const userId = await userIn("UTC");
    for (let day = 1; day <= 6; day += 1) await practice(userId, `2026-10-0${day}T12:00:00Z`);
    const badgesAfterSix = await handle.db.select().from(userBadges).where(eq(userBadges.userId, userId));
    expect(badgesAfterSix.map((row) => row.badge)).toEqual(["FIRST_CHAT"]);
    await practice(userId, "2026-10-07T12:00:00Z");
    await practice(userId, "2026-10-08T12:00:00Z");
    const badges = await handle.db.select().from(userBadges).where(eq(userBadges.userId, userId));
    expect(badges.map((row) => row.badge).sort()).toEqual(["FIRST_CHAT", "SEVEN_DAYS"]);
    expect(badges.find((row) => row.badge === "SEVEN_DAYS")?.awardedAt.toISOString()).toBe("2026-10-07T12:00:00.000Z");
  });

  it("counts two racing ends of the same day once", async () => {
    const userId = await userIn("UTC");
    await Promise.all([practice(userId, "2026-09-01T10:00:00Z"), practice(userId, "2026-09-01T10:00:01Z")]);
    expect((await practice(userId, "2026-09-01T11:00:00Z")).current).toBe(1);
  });
});
