import { eq } from "drizzle-orm";
import type { Queryable } from "../db/client";
import { profiles, streaks, userBadges } from "../db/schema";

export interface StreakState {
  current: number;
  longest: number;
  lastActiveDate: string | null;
}

/** The calendar day (YYYY-MM-DD) that `instant` falls on in `timeZone`. */
export function localDate(instant: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(instant)
      .map((part) => [part.type, part.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}`;
}

/** Whole days from one calendar date to another (both YYYY-MM-DD). */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/** Practising on `today`: the same day changes nothing, the next day adds one, any later day starts again. */
export function advanceStreak(state: StreakState, today: string): StreakState {
  if (state.lastActiveDate === null) return { current: 1, longest: Math.max(1, state.longest), lastActiveDate: today };
  const gap = daysBetween(state.lastActiveDate, today);
  if (gap <= 0) return state;
  const current = gap === 1 ? state.current + 1 : 1;
  return { current, longest: Math.max(state.longest, current), lastActiveDate: today };
}

/** The streak as the user sees it today: one whose last day is before yesterday is broken (0). */
export function visibleStreak(state: StreakState, today: string): StreakState {
  if (state.lastActiveDate === null || daysBetween(state.lastActiveDate, today) <= 1) return state;
  return { ...state, current: 0 };
}

export const sevenDays = 7;

/**
 * Counts a finished session for `userId` on their local day: advances the streak (the row is
 * locked, so two ends racing count once) and awards FIRST_CHAT and SEVEN_DAYS, each only once.
 * Run inside the transaction that ended the session, `endSession`'s on the request's pool: the
 * practice counts only if the end commits.
 */
export async function recordPractice(tx: Queryable, userId: string, endedAt: Date): Promise<StreakState> {
  const [profile] = await tx.select({ timezone: profiles.timezone }).from(profiles).where(eq(profiles.userId, userId));
  const today = localDate(endedAt, profile?.timezone ?? "UTC");
  await tx.insert(streaks).values({ userId, current: 0, longest: 0 }).onConflictDoNothing();
  const [row] = await tx.select().from(streaks).where(eq(streaks.userId, userId)).for("update");
  const next = advanceStreak(
    { current: row?.current ?? 0, longest: row?.longest ?? 0, lastActiveDate: row?.lastActiveDate ?? null },
    today,
  );
  await tx
    .update(streaks)
    .set({ current: next.current, longest: next.longest, lastActiveDate: next.lastActiveDate })
    .where(eq(streaks.userId, userId));
  const badges: ("FIRST_CHAT" | "SEVEN_DAYS")[] = ["FIRST_CHAT"];
  if (next.current >= sevenDays) badges.push("SEVEN_DAYS");
  await tx
    .insert(userBadges)
    .values(badges.map((badge) => ({ userId, badge, awardedAt: endedAt })))
    .onConflictDoNothing();
  return next;
}
