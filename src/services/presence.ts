import type { Redis } from "@upstash/redis/cloudflare";
import { type Level, levels } from "../db/schema/enums";
import { fromRedis } from "../lib/redis";

export const presenceTtlSeconds = 60;
const onlineIndex = "presence:online";
const levelIndexKey = (level: Level) => `presence:level:${level}`;
const onlineKey = (userId: string) => `online:${userId}`;

/**
 * Marks the user online for 60 s and records the ping in the online index and in the index
 * of their level (removing them from the others), in one pipelined round trip.
 */
export async function recordPing(redis: Redis, userId: string, level: Level | null, now: number): Promise<void> {
  const pipeline = redis.pipeline();
  pipeline.set(onlineKey(userId), level ?? "", { ex: presenceTtlSeconds });
  pipeline.zadd(onlineIndex, { score: now, member: userId });
  for (const other of levels) {
    if (other === level) pipeline.zadd(levelIndexKey(other), { score: now, member: userId });
    else pipeline.zrem(levelIndexKey(other), userId);
  }
  await fromRedis(pipeline.exec());
}

export interface OnlineCounts {
  total: number;
  levels: Record<Level, number>;
}

/** Users who pinged within the last 60 s, in all and per level. */
export async function onlineCounts(redis: Redis, now: number): Promise<OnlineCounts> {
  const since = now - presenceTtlSeconds * 1000;
  const pipeline = redis.pipeline();
  pipeline.zcount(onlineIndex, since, "+inf");
  for (const level of levels) pipeline.zcount(levelIndexKey(level), since, "+inf");
  const [total, ...perLevel] = await fromRedis(pipeline.exec<number[]>());
  return {
    total: total ?? 0,
    levels: Object.fromEntries(levels.map((level, index) => [level, perLevel[index] ?? 0])) as Record<Level, number>,
  };
}

/** Which of `userIds` are online now. */
export async function whoIsOnline(redis: Redis, userIds: string[]): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const values = await fromRedis(redis.mget<(string | null)[]>(...userIds.map(onlineKey)));
  return new Set(userIds.filter((_, index) => values[index] !== null));
}

/** Drops index members whose last ping is older than 60 s; safe to run any number of times at once. */
export async function sweepPresence(redis: Redis, now: number): Promise<number> {
  const before = now - presenceTtlSeconds * 1000;
  const pipeline = redis.pipeline();
  pipeline.zremrangebyscore(onlineIndex, "-inf", `(${before}`);
  for (const level of levels) pipeline.zremrangebyscore(levelIndexKey(level), "-inf", `(${before}`);
  const removed = await fromRedis(pipeline.exec<number[]>());
  return removed[0] ?? 0;
}
