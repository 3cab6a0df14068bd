import type { Redis } from "@upstash/redis/cloudflare";
import type { ReportReason } from "../db/schema/enums";
import { fromRedis } from "../lib/redis";
import { accessTokenTtlSeconds } from "./auth/tokens";

/** Why a user's access tokens stopped working before they expired. */
export type RevocationReason = "suspended" | "deleted" | "signed-out";

export interface Revocation {
  /** Tokens issued at or before this instant (epoch ms) are refused; for a suspension, when it began. */
  at: number;
  reason: RevocationReason;
  /**
   * A suspension's reason category, which the refused user is told (null: no report asked for it).
   * Absent from revocations written before it existed and from those of other reasons.
   */
  suspensionReason?: ReportReason | null;
}

const revocationKey = (userId: string) => `revoked:${userId}`;

/** Longer than any access token issued before the revocation can live, clock skew included. */
const revocationTtlSeconds = accessTokenTtlSeconds + 120;

/**
 * From now on every access token already issued to `userId` is refused: access tokens are not
 * looked up anywhere else, so this small key is what makes suspension, deletion and signing out
 * everywhere bite at once rather than when the token expires.
 */
export async function revokeAccess(
  redis: Redis,
  userId: string,
  reason: RevocationReason,
  now: Date,
  suspensionReason?: ReportReason | null,
): Promise<void> {
  const revocation: Revocation = {
    at: now.getTime(),
    reason,
    ...(reason === "suspended" ? { suspensionReason: suspensionReason ?? null } : {}),
  };
  await fromRedis(redis.set(revocationKey(userId), revocation, { ex: revocationTtlSeconds }));
}

/** Lets tokens issued before a revocation work again (a lifted suspension). */
export async function restoreAccess(redis: Redis, userId: string): Promise<void> {
  await fromRedis(redis.del(revocationKey(userId)));
}

export async function accessRevocation(redis: Redis, userId: string): Promise<Revocation | null> {
  return fromRedis(redis.get<Revocation>(revocationKey(userId)));
}
