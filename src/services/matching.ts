import type { MatchingConfig } from "../config";
import { type Level, levels } from "../db/schema/enums";

/** One waiting user, as the level's matchmaker keeps them. */
export interface QueueEntry {
  userId: string;
  attemptId: string;
  level: Level;
  displayName: string | null;
  enqueuedAt: number;
  /** Users this one blocked or was blocked by, when they queued. */
  blocked: string[];
  /** Users never to be paired with this one: rated 1–2 either way, or the last partner. */
  avoid: string[];
  /** The profile's interests when they queued (lower case, no repeats): who they would rather meet. */
  interests: string[];
}

/**
 * A queue entry as it may come over RPC: while a deploy rolls out, a Worker or a neighbouring
 * level's object can still run the version from before interests were kept (Workers and Durable
 * Objects update separately), and sends entries without them.
 */
export type QueueEntryFromRpc = Omit<QueueEntry, "interests"> & { interests?: string[] };

/** `entry` with what an older version did not send filled in: it shares no interests we know of. */
export function fromRpc(entry: QueueEntryFromRpc): QueueEntry {
  return { ...entry, interests: entry.interests ?? [] };
}

export function levelIndex(level: Level): number {
  return levels.indexOf(level);
}

/** How many levels away a user accepts after waiting `waitedMs`: 0, then 1, then 2. */
export function bandRadius(waitedMs: number, widening: MatchingConfig): number {
  if (waitedMs >= widening.widenTwoAfterMs) return 2;
  if (waitedMs >= widening.widenAdjacentAfterMs) return 1;
  return 0;
}

/** The levels a user waiting at `level` for `waitedMs` accepts, lowest first. */
export function band(level: Level, waitedMs: number, widening: MatchingConfig): Level[] {
  const radius = bandRadius(waitedMs, widening);
  const at = levelIndex(level);
  return levels.filter((_, index) => Math.abs(index - at) <= radius);
}

/**
 * Whether two waiting users may be paired now: never the same user, never across a block or a
 * low rating or straight after talking to each other, and only when one of them (the longer
 * waiting, whose band is wider) accepts the other's level.
 */
export function compatible(a: QueueEntry, b: QueueEntry, now: number, widening: MatchingConfig): boolean {
  if (a.userId === b.userId) return false;
  if (a.blocked.includes(b.userId) || b.blocked.includes(a.userId)) return false;
  if (a.avoid.includes(b.userId) || b.avoid.includes(a.userId)) return false;
  const distance = Math.abs(levelIndex(a.level) - levelIndex(b.level));
  const radius = Math.max(bandRadius(now - a.enqueuedAt, widening), bandRadius(now - b.enqueuedAt, widening));
  return distance <= radius;
}

/** The interests two learners share, in alphabetical order (SPEC §10): both are told the same list. */
export function sharedInterests(a: string[], b: string[]): string[] {
  return a.filter((interest) => b.includes(interest)).sort();
}

/**
 * The waiting user `candidate` is paired with, of the compatible ones in `waiting` (SPEC §10):
 * the one sharing the most interests with `candidate`, the longest-waiting of those first; but once
 * a compatible user has waited longer than `widening.interestFairnessMs`, strict FIFO, so nobody
 * who shares little is passed over for long. A bound of 0 is plain FIFO.
 */
export function choosePartner(
  candidate: QueueEntry,
  waiting: QueueEntry[],
  now: number,
  widening: MatchingConfig,
): QueueEntry | undefined {
  const fifo = waiting
    .filter((entry) => compatible(candidate, entry, now, widening))
    .sort((x, y) => x.enqueuedAt - y.enqueuedAt);
  const [oldest] = fifo;
  const fifoOnly = widening.interestFairnessMs === 0 || candidate.interests.length === 0;
  if (!oldest || fifoOnly || now - oldest.enqueuedAt >= widening.interestFairnessMs) return oldest;
  let best = oldest;
  let bestShared = sharedInterests(candidate.interests, oldest.interests).length;
  for (const entry of fifo) {
    const shared = sharedInterests(candidate.interests, entry.interests).length;
    if (shared > bestShared) {
      best = entry;
      bestShared = shared;
    }
  }
  return best;
}

/** When an entry's band next widens, or undefined once it is as wide as it gets. */
export function nextWidening(entry: QueueEntry, now: number, widening: MatchingConfig): number | undefined {
  const thresholds = [widening.widenAdjacentAfterMs, widening.widenTwoAfterMs].map((ms) => entry.enqueuedAt + ms);
  return thresholds.find((at) => at > now);
}
